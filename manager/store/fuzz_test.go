package store

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// fuzzBase is the state every fuzzed command is applied to: a cluster, a
// manager and a worker, a replicated service with two tasks (one placed,
// one pending) and a global one with a task, as Save wrote it.
func fuzzBase(f *testing.F) []byte {
	f.Helper()
	a := &applier{t: f, st: New()}
	c := &swarm.Cluster{ID: "c1", Spec: swarm.DefaultClusterSpec(), JoinTokens: swarm.JoinTokens{Worker: "w", Manager: "m"}}
	svc := &swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Name: "web", Mode: swarm.ModeReplicated, Replicas: 2,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Command: []string{"sleep", "1d"}}}}}
	glob := &swarm.Service{ID: "s2", Spec: swarm.ServiceSpec{Name: "agent", Mode: swarm.ModeGlobal,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox"}}}}
	running := swarm.TaskStatus{State: swarm.TaskRunning, Timestamp: time.Unix(1700000000, 0).UTC()}
	for _, cmd := range []*Command{
		NewCreateCluster(c),
		NewCreateNode(&swarm.Node{ID: "n1", Spec: swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive},
			Description: swarm.NodeDescription{Hostname: "mgr"}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}),
		NewSetNodeManager("n1", &swarm.ManagerInfo{Addr: "10.0.0.1:2377"}),
		NewCreateNode(&swarm.Node{ID: "n2", Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
			Description: swarm.NodeDescription{Hostname: "wrk"}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}),
		NewCreateService(svc),
		NewCreateService(glob),
		NewCreateServiceTasks("s1", 5, []NewTask{{ID: "t1", Slot: 1}, {ID: "t2", Slot: 2}}),
		NewAssignTasks([]TaskChange{{ID: "t1", NodeID: "n2"}}),
		NewUpdateTaskStatus([]TaskChange{{ID: "t1", Status: &running}}),
		NewCreateServiceTasks("s2", 6, []NewTask{{ID: "t3", NodeID: "n1"}}),
	} {
		if err := a.apply(cmd); err != nil {
			f.Fatalf("base state: %s: %v", cmd.Op, err)
		}
	}
	var b bytes.Buffer
	if err := a.st.Save(&b); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}

// fuzzSeeds are commands as the managers write them, one of each op.
func fuzzSeeds() []*Command {
	failed := swarm.TaskStatus{State: swarm.TaskFailed, Err: "exit 1", Timestamp: time.Unix(1700000100, 0).UTC()}
	spec := swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityDrain, Labels: map[string]string{"zone": "a"}}
	c := &swarm.Cluster{ID: "c1", Spec: swarm.DefaultClusterSpec(), JoinTokens: swarm.JoinTokens{Worker: "w2", Manager: "m2"}}
	svc := &swarm.Service{ID: "s1", Meta: swarm.Meta{Version: 5}, Spec: swarm.ServiceSpec{Name: "web", Mode: swarm.ModeReplicated, Replicas: 3,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Env: []string{"A={{.Task.Slot}}"}}}}}
	return []*Command{
		NewCreateCluster(c),
		NewUpdateCluster(c, 1),
		NewCreateNode(&swarm.Node{ID: "n3", Spec: spec, Description: swarm.NodeDescription{Hostname: "h3"}}),
		NewUpdateNodeSpec("n2", spec, 4),
		NewUpdateNodeStatus("n2", swarm.NodeStatus{State: swarm.NodeStateDown, Addr: "10.0.0.2"}),
		NewUpdateNodeStatuses([]NodeChange{{ID: "n2", From: swarm.NodeStateReady, Status: swarm.NodeStatus{State: swarm.NodeStateUnknown}}}),
		NewUpdateNodeDescription("n2", swarm.NodeDescription{Hostname: "h2", OS: "linux", NanoCPUs: 2e9}),
		NewSetNodeManager("n2", &swarm.ManagerInfo{Addr: "10.0.0.2:2377"}),
		NewRemoveNode("n2"),
		NewCreateService(&swarm.Service{ID: "s3", Spec: svc.Spec}),
		NewUpdateService(svc, 5),
		NewRemoveService("s1"),
		NewCreateTasks([]*swarm.Task{{ID: "t9", ServiceID: "s1", Slot: 3, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskNew}}}),
		NewCreateServiceTasks("s1", 5, []NewTask{{ID: "t8", Slot: 3}}),
		NewAssignTasks([]TaskChange{{ID: "t2", NodeID: "n1"}, {ID: "t1", Status: &swarm.TaskStatus{Err: "no suitable node"}}}),
		NewSetTasksDesired([]TaskChange{{ID: "t1", Desired: swarm.TaskShutdown}}),
		NewUpdateTaskStatus([]TaskChange{{ID: "t1", Status: &failed}}),
		NewRefreshTasks([]TaskChange{{ID: "t1", SpecVersion: 9}}),
		NewDeleteTasks([]swarm.TaskID{"t1", "t3"}),
	}
}

// FuzzApply feeds Raft log entries to a store, as a follower's FSM does
// with whatever its leader sends: Decode, then Apply. Apply must not panic;
// a refused command leaves the state as it was; an accepted one leaves a
// state that a snapshot carries over whole (Save, Restore, Save gives the
// same bytes), and applying it is deterministic (two stores agree).
func FuzzApply(f *testing.F) {
	base := fuzzBase(f)
	for _, cmd := range fuzzSeeds() {
		b, err := cmd.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{formatJSON})
	f.Add([]byte("\x01{\"Op\":3,\"Node\":{}}"))
	f.Fuzz(func(t *testing.T, entry []byte) {
		cmd, err := Decode(entry)
		if err != nil {
			return
		}
		st, st2 := restored(t, base), restored(t, base)
		err = st.Apply(100, cmd)
		after := saved(t, st)
		if err != nil {
			if !bytes.Equal(withoutIndex(t, after), withoutIndex(t, base)) {
				t.Fatalf("refused command (%v) changed the state:\nbefore %s\nafter  %s", err, base, after)
			}
			return
		}
		if err2 := st2.Apply(100, cmd); err2 != nil {
			t.Fatalf("the same command was accepted once and refused once: %v", err2)
		}
		if again := saved(t, st2); !bytes.Equal(after, again) {
			t.Fatalf("applying the same command twice gave two states:\n%s\n%s", after, again)
		}
		if round := saved(t, restored(t, after)); !bytes.Equal(after, round) {
			t.Fatalf("the state does not survive a snapshot:\nsaved    %s\nrestored %s", after, round)
		}
	})
}

func restored(t testing.TB, snap []byte) *Store {
	t.Helper()
	st := New()
	if err := st.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return st
}

func saved(t testing.TB, st *Store) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := st.Save(&b); err != nil {
		t.Fatalf("save: %v", err)
	}
	return b.Bytes()
}

// withoutIndex is a snapshot without its Raft index: a refused command
// still advances the index it was applied at.
func withoutIndex(t testing.TB, snap []byte) []byte {
	t.Helper()
	var s snapshot
	if err := json.Unmarshal(snap, &s); err != nil {
		t.Fatal(err)
	}
	s.Index = 0
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzRestore installs a snapshot, as a follower does with whatever its
// leader sends (raft InstallSnapshot). Restore must not panic; a refused
// snapshot leaves the state as it was; an accepted one is the state that
// Save then writes, and survives another Save and Restore unchanged.
func FuzzRestore(f *testing.F) {
	base := fuzzBase(f)
	f.Add(base)
	f.Add([]byte(`{"Index":7,"Clusters":[{"ID":"c1"}],"Nodes":[{"ID":"n1"}],"Services":[{"ID":"s1","Spec":{"Name":"a"}}],"Tasks":[{"ID":"t1","ServiceID":"s1"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, snap []byte) {
		st := restored(t, base)
		if err := st.Restore(bytes.NewReader(snap)); err != nil {
			if after := saved(t, st); !bytes.Equal(after, base) {
				t.Fatalf("a refused snapshot (%v) changed the state", err)
			}
			return
		}
		after := saved(t, st)
		if round := saved(t, restored(t, after)); !bytes.Equal(after, round) {
			t.Fatalf("an installed snapshot does not survive another:\nsaved    %s\nrestored %s", after, round)
		}
	})
}

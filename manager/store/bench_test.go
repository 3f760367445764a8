package store

import (
	"fmt"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

// benchState is a store with nodes nodes and tasks tasks spread over them,
// all running.
func benchState(b *testing.B, nodes, tasks int) *applier {
	a := &applier{t: b, st: New()}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(a.apply(NewCreateCluster(&swarm.Cluster{ID: "c1", Spec: swarm.DefaultClusterSpec()})))
	must(a.apply(NewCreateService(&swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Name: "bench", Mode: swarm.ModeReplicated, Replicas: uint64(tasks)}})))
	for i := range nodes {
		must(a.apply(NewCreateNode(&swarm.Node{ID: swarm.NodeID(fmt.Sprintf("n%04d", i)), Spec: swarm.NodeSpec{Role: swarm.RoleWorker}})))
	}
	var ts []*swarm.Task
	var place []TaskChange
	for i := range tasks {
		id := swarm.TaskID(fmt.Sprintf("t%05d", i))
		ts = append(ts, &swarm.Task{ID: id, ServiceID: "s1", Slot: i + 1, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}})
		place = append(place, TaskChange{ID: id, NodeID: swarm.NodeID(fmt.Sprintf("n%04d", i%nodes))})
	}
	must(a.apply(NewCreateTasks(ts)))
	must(a.apply(NewAssignTasks(place)))
	return a
}

// BenchmarkApplyStatusBatch applies one command reporting 1,000 tasks'
// status (a batched write from the dispatcher) to a store of 10,000 tasks
// on 1,000 nodes.
func BenchmarkApplyStatusBatch(b *testing.B) {
	a := benchState(b, 1000, 10000)
	states := []swarm.TaskState{swarm.TaskPreparing, swarm.TaskStarting, swarm.TaskRunning}
	cmds := make([]*Command, len(states))
	for i, s := range states {
		var ch []TaskChange
		for j := range 1000 {
			st := swarm.TaskStatus{State: s, Message: s.String()}
			ch = append(ch, TaskChange{ID: swarm.TaskID(fmt.Sprintf("t%05d", j)), Status: &st})
		}
		cmds[i] = NewUpdateTaskStatus(ch)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := a.st.Apply(a.index+uint64(i)+1, cmds[i%len(cmds)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyOneStatus applies a one-task status report, the unit of
// work before reports were batched.
func BenchmarkApplyOneStatus(b *testing.B) {
	a := benchState(b, 1000, 10000)
	states := []swarm.TaskState{swarm.TaskStarting, swarm.TaskRunning}
	for i := 0; b.Loop(); i++ {
		st := swarm.TaskStatus{State: states[i%2]}
		cmd := NewUpdateTaskStatus([]TaskChange{{ID: "t00001", Status: &st}})
		if err := a.st.Apply(a.index+uint64(i)+1, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWatchNodeTasks reads one node's tasks and watch, as each
// assignments long poll does on every wake-up.
func BenchmarkWatchNodeTasks(b *testing.B) {
	a := benchState(b, 1000, 10000)
	for b.Loop() {
		if _, _, _, err := WatchNodeTasks(a.st.ReadTxn(), "n0500"); err != nil {
			b.Fatal(err)
		}
	}
}

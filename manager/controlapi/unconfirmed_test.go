package controlapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// The tasks of a node in doubt show it in Status.Err (the ERROR column),
// in the list and in inspect, without a write and without touching the
// stored task; a task known to have ended, or on a Ready node, does not;
// the words go away when the node is Ready again.
func TestUnconfirmedTasksShowTheirNode(t *testing.T) {
	f := newFixture(t, "m1")
	ctx := context.Background()
	addNode(t, f.p, "w1", "dev04", swarm.RoleWorker, swarm.NodeStateReady)
	running := func(id swarm.TaskID, node swarm.NodeID, st swarm.TaskState) *swarm.Task {
		return &swarm.Task{ID: id, ServiceID: "s1", ServiceName: "web", Slot: 1, NodeID: node,
			DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: st, Timestamp: time.Now()}}
	}
	if err := f.p.Propose(ctx, store.NewCreateTasks([]*swarm.Task{
		running("t1", "w1", swarm.TaskRunning), running("t2", "w1", swarm.TaskFailed), running("t3", "m1", swarm.TaskRunning),
	})); err != nil {
		t.Fatal(err)
	}
	lastSeen := time.Date(2025, 3, 4, 22, 1, 3, 0, time.Local)
	setNode := func(st swarm.NodeStatus) {
		t.Helper()
		if err := f.p.Propose(ctx, store.NewUpdateNodeStatus("w1", st)); err != nil {
			t.Fatal(err)
		}
	}
	errs := func() map[swarm.TaskID]string {
		t.Helper()
		list, err := f.srv.ListTasks(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[swarm.TaskID]string{}
		for _, task := range list {
			out[task.ID] = task.Status.Err
			one, err := f.srv.GetTask(ctx, string(task.ID))
			if err != nil {
				t.Fatal(err)
			}
			if one.Status.Err != task.Status.Err {
				t.Errorf("inspect %s: Err %q, list: %q", task.ID, one.Status.Err, task.Status.Err)
			}
		}
		return out
	}
	if got := errs(); got["t1"] != "" || got["t3"] != "" {
		t.Fatalf("tasks of Ready nodes show %v", got)
	}

	want := "unconfirmed: node dev04 unreachable since 2025-03-04 22:01:03 " + lastSeen.Format("MST") + ", last reported running"
	for _, state := range []swarm.NodeState{swarm.NodeStateUnknown, swarm.NodeStateDown} {
		calls := f.p.Calls
		setNode(swarm.NodeStatus{State: state, Message: "heartbeat failure", LastSeen: lastSeen})
		got := errs()
		if got["t1"] != want {
			t.Errorf("node %s: t1 Err %q, want %q", state, got["t1"], want)
		}
		if got["t2"] != "" || got["t3"] != "" {
			t.Errorf("node %s: an ended task or one of a Ready node shows %q, %q", state, got["t2"], got["t3"])
		}
		if f.p.Calls != calls+1 {
			t.Errorf("showing unconfirmed tasks wrote %d commands", f.p.Calls-calls-1)
		}
	}
	stored, err := store.GetTask(f.p.Store.ReadTxn(), "t1")
	if err != nil || stored.Status.Err != "" {
		t.Fatalf("the stored task changed: %+v, %v", stored, err)
	}
	setNode(swarm.NodeStatus{State: swarm.NodeStateReady})
	if got := errs(); got["t1"] != "" {
		t.Errorf("back to Ready: t1 still shows %q", got["t1"])
	}
}

func TestClockShowsTheDateOnlyWhenNotToday(t *testing.T) {
	now := time.Date(2025, 3, 4, 23, 0, 0, 0, time.Local)
	if got := clock(now.Add(-time.Hour), now); !strings.HasPrefix(got, "22:00:00 ") {
		t.Errorf("today: %q", got)
	}
	if got := clock(now.Add(-24*time.Hour), now); !strings.HasPrefix(got, "2025-03-03 23:00:00 ") {
		t.Errorf("yesterday: %q", got)
	}
}

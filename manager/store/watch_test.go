package store

import (
	"bytes"
	"context"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

func fired(w Watch) bool { return w.Fired() }

func TestWatchWaitEndsWithContext(t *testing.T) {
	a := seeded(t)
	_, _, w, err := WatchNodeTasks(a.st.ReadTxn(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait with an ended context and no change: %v", err)
	}
}

func twoNodesWithTasks(t *testing.T) *applier {
	a := withService(t)
	n2 := &swarm.Node{ID: "n2", Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive}}
	t2 := &swarm.Task{ID: "t2", ServiceID: "s1", Slot: 2, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}}
	for _, cmd := range []*Command{NewCreateNode(n2), NewCreateTasks([]*swarm.Task{t2}),
		NewAssignTasks([]TaskChange{{ID: "t1", NodeID: "n1"}, {ID: "t2", NodeID: "n2"}})} {
		if err := a.apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// A node's watch fires for its own tasks, not for another node's: at 1,000
// nodes, waking every node's long poll at each change was the leader's
// main cost.
func TestWatchNodeTasksFiresOnlyForTheNode(t *testing.T) {
	a := twoNodesWithTasks(t)
	n, tasks, w, err := WatchNodeTasks(a.st.ReadTxn(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "n1" || len(tasks) != 1 || tasks[0].ID != "t1" {
		t.Fatalf("node %v, tasks %v: want n1 with t1", n.ID, tasks)
	}
	running := swarm.TaskStatus{State: swarm.TaskRunning}
	if err := a.apply(NewUpdateTaskStatus([]TaskChange{{ID: "t2", Status: &running}})); err != nil {
		t.Fatal(err)
	}
	if fired(w) {
		t.Fatal("n1's watch fired for a task of n2")
	}
	if err := a.apply(NewUpdateTaskStatus([]TaskChange{{ID: "t1", Status: &running}})); err != nil {
		t.Fatal(err)
	}
	if fired(w) {
		t.Fatal("n1's watch fired for its own task's status report (the node made it itself)")
	}
	if err := a.apply(NewSetTasksDesired([]TaskChange{{ID: "t1", Desired: swarm.TaskShutdown}})); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("n1's watch did not fire when its task was asked to shut down")
	}

	// A task taken off the node.
	_, _, w, _ = WatchNodeTasks(a.st.ReadTxn(), "n1")
	if err := a.apply(NewDeleteTasks([]swarm.TaskID{"t1"})); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("n1's watch did not fire when its task was removed")
	}

	// A task placed on the node.
	_, _, w, _ = WatchNodeTasks(a.st.ReadTxn(), "n1")
	t3 := &swarm.Task{ID: "t3", ServiceID: "s1", Slot: 3, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}}
	if err := a.apply(NewCreateTasks([]*swarm.Task{t3})); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(NewAssignTasks([]TaskChange{{ID: "t3", NodeID: "n1"}})); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("n1's watch did not fire when a task was placed on it")
	}

	// The node itself.
	_, _, w, _ = WatchNodeTasks(a.st.ReadTxn(), "n1")
	if err := a.apply(NewUpdateNodeStatus("n1", swarm.NodeStatus{State: swarm.NodeStateDown})); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("n1's watch did not fire when the node changed")
	}
}

// A restore from a snapshot replaces the whole state: every watch fires.
func TestWatchFiresOnRestore(t *testing.T) {
	a := twoNodesWithTasks(t)
	var buf bytes.Buffer
	if err := a.st.Save(&buf); err != nil {
		t.Fatal(err)
	}
	_, _, w, err := WatchNodeTasks(a.st.ReadTxn(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.st.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if !fired(w) {
		t.Fatal("watch did not fire on restore")
	}
}

func TestWatchNodeTasksUnknownNode(t *testing.T) {
	a := seeded(t)
	if _, _, _, err := WatchNodeTasks(a.st.ReadTxn(), "nope"); err == nil {
		t.Fatal("no error for an unknown node")
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// WorkChanges stays quiet for reports of tasks on their way to running,
// and fires for anything a reconciler acts on: a task that ended, a task
// being stopped, a task of a service under update, and every other
// command.
func TestWorkChangesSkipRoutineReports(t *testing.T) {
	a := twoNodesWithTasks(t)
	report := func(id swarm.TaskID, state swarm.TaskState) *Command {
		return NewUpdateTaskStatus([]TaskChange{{ID: id, Status: &swarm.TaskStatus{State: state}}})
	}
	check := func(what string, cmd *Command, wantWork bool) {
		t.Helper()
		work, changed := a.st.WorkChanges(), a.st.Changes()
		if err := a.apply(cmd); err != nil {
			t.Fatal(err)
		}
		if !closed(changed) {
			t.Errorf("%s: Changes did not fire", what)
		}
		if got := closed(work); got != wantWork {
			t.Errorf("%s: WorkChanges fired %v, want %v", what, got, wantWork)
		}
	}
	check("t1 starting", report("t1", swarm.TaskStarting), false)
	check("t1 running", report("t1", swarm.TaskRunning), false)
	check("t2 failed", report("t2", swarm.TaskFailed), true)
	check("t1 told to stop", NewSetTasksDesired([]TaskChange{{ID: "t1", Desired: swarm.TaskShutdown}}), true)
	check("t1 (stopping) still running", report("t1", swarm.TaskRunning), true)

	svc, err := GetService(a.st.ReadTxn(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	upd := svc.Copy()
	upd.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateUpdating}
	check("service update", NewUpdateService(upd, svc.Version), true)
	t3 := &swarm.Task{ID: "t3", ServiceID: "s1", Slot: 3, NodeID: "n1", DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskAssigned}}
	check("t3 created", NewCreateTasks([]*swarm.Task{t3}), true)
	check("t3 running during the update", report("t3", swarm.TaskRunning), true)
}

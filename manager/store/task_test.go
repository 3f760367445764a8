package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

func withService(t *testing.T) *applier {
	a := seeded(t)
	svc := &swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Name: "ping", Mode: swarm.ModeReplicated, Replicas: 1}}
	if err := a.apply(NewCreateService(svc)); err != nil {
		t.Fatal(err)
	}
	task := &swarm.Task{ID: "t1", ServiceID: "s1", Slot: 1, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}}
	if err := a.apply(NewCreateTasks([]*swarm.Task{task})); err != nil {
		t.Fatal(err)
	}
	return a
}

func taskState(t *testing.T, a *applier) *swarm.Task {
	t.Helper()
	task, err := GetTask(a.st.ReadTxn(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestServiceNamesAreUnique(t *testing.T) {
	a := withService(t)
	dup := &swarm.Service{ID: "s2", Spec: swarm.ServiceSpec{Name: "PING"}}
	err := a.apply(NewCreateService(dup))
	if !errors.Is(err, swarm.ErrAlreadyExists) || err.Error() != "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service PING already exists" {
		t.Fatalf("duplicate name: %v", err)
	}
}

func TestSpecChangeMakesTasksOutOfDate(t *testing.T) {
	a := withService(t)
	s, _ := GetService(a.st.ReadTxn(), "s1")
	v0 := s.SpecVersion
	same := s.Copy()
	same.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateUpdating}
	if err := a.apply(NewUpdateService(same, s.Version)); err != nil {
		t.Fatal(err)
	}
	s, _ = GetService(a.st.ReadTxn(), "s1")
	if s.SpecVersion != v0 {
		t.Fatal("a status-only update changed the spec version")
	}
	scaled := s.Copy()
	scaled.Spec.Replicas = 3
	scaled.Spec.Labels = map[string]string{"tier": "web"}
	if err := a.apply(NewUpdateService(scaled, s.Version)); err != nil {
		t.Fatal(err)
	}
	s, _ = GetService(a.st.ReadTxn(), "s1")
	if s.SpecVersion != v0 {
		t.Fatal("scaling and labelling the service made its tasks out of date")
	}
	changed := s.Copy()
	changed.Spec.Task.Container.Env = []string{"A=1"}
	if err := a.apply(NewUpdateService(changed, s.Version)); err != nil {
		t.Fatal(err)
	}
	s, _ = GetService(a.st.ReadTxn(), "s1")
	if s.SpecVersion == v0 {
		t.Fatal("a task spec change kept the spec version")
	}
}

func TestTaskStatusFollowsTheStateMachine(t *testing.T) {
	a := withService(t)
	if err := a.apply(NewAssignTasks([]TaskChange{{ID: "t1", NodeID: "n1"}})); err != nil {
		t.Fatal(err)
	}
	if got := taskState(t, a); got.NodeID != "n1" || got.Status.State != swarm.TaskAssigned {
		t.Fatalf("after assign: %s on %s", got.Status.State, got.NodeID)
	}
	// A second assignment of a placed task is ignored.
	if err := a.apply(NewAssignTasks([]TaskChange{{ID: "t1", NodeID: "n2"}})); err != nil {
		t.Fatal(err)
	}
	if got := taskState(t, a); got.NodeID != "n1" {
		t.Fatal("a placed task was moved")
	}
	run := &swarm.TaskStatus{State: swarm.TaskRunning}
	failed := &swarm.TaskStatus{State: swarm.TaskFailed, Err: "task: non-zero exit (255)"}
	back := &swarm.TaskStatus{State: swarm.TaskStarting}
	for _, st := range []*swarm.TaskStatus{run, back, failed, run} {
		if err := a.apply(NewUpdateTaskStatus([]TaskChange{{ID: "t1", Status: st}, {ID: "gone", Status: st}})); err != nil {
			t.Fatal(err)
		}
	}
	got := taskState(t, a)
	if got.Status.State != swarm.TaskFailed || got.Status.Err != "task: non-zero exit (255)" {
		t.Fatalf("final status %+v", got.Status)
	}
	if err := a.apply(NewSetTasksDesired([]TaskChange{{ID: "t1", Desired: swarm.TaskShutdown}})); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(NewSetTasksDesired([]TaskChange{{ID: "t1", Desired: swarm.TaskRunning}})); err != nil {
		t.Fatal(err)
	}
	if got := taskState(t, a); got.DesiredState != swarm.TaskShutdown {
		t.Fatalf("desired state moved back to %s", got.DesiredState)
	}
	if err := a.apply(NewDeleteTasks([]swarm.TaskID{"t1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := GetTask(a.st.ReadTxn(), "t1"); !errors.Is(err, swarm.ErrNotFound) {
		t.Fatal("deleted task still there")
	}
}

func TestSnapshotKeepsServicesAndTasks(t *testing.T) {
	a := withService(t)
	snap := New()
	buf := new(bytes.Buffer)
	if err := a.st.Save(buf); err != nil {
		t.Fatal(err)
	}
	if err := snap.Restore(buf); err != nil {
		t.Fatal(err)
	}
	tx := snap.ReadTxn()
	if _, err := GetServiceByName(tx, "ping"); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := TasksOfService(tx, "s1"); len(tasks) != 1 {
		t.Fatalf("tasks after restore: %d", len(tasks))
	}
}

func TestServiceTasksAreMadeFromTheSpecTheyName(t *testing.T) {
	a := withService(t)
	svc, _ := GetService(a.st.ReadTxn(), "s1")
	changed := svc.Copy()
	changed.Spec.Task.Container.Image = "busybox:2"
	if err := a.apply(NewUpdateService(changed, svc.Version)); err != nil {
		t.Fatal(err)
	}
	// Planned from the old spec: refused whole, nothing made.
	stale := NewCreateServiceTasks("s1", svc.SpecVersion, []NewTask{{ID: "t2", Slot: 2}})
	if err := a.apply(stale); !errors.Is(err, swarm.ErrOutOfSequence) {
		t.Fatalf("tasks of an old spec version: %v", err)
	}
	if _, err := GetTask(a.st.ReadTxn(), "t2"); !errors.Is(err, swarm.ErrNotFound) {
		t.Fatalf("a refused create made task t2: %v", err)
	}
	svc, _ = GetService(a.st.ReadTxn(), "s1")
	cmd := NewCreateServiceTasks("s1", svc.SpecVersion, []NewTask{{ID: "t2", Slot: 2}, {ID: "t3", NodeID: "n1"}})
	if err := a.apply(cmd); err != nil {
		t.Fatal(err)
	}
	t2, err := GetTask(a.st.ReadTxn(), "t2")
	if err != nil {
		t.Fatal(err)
	}
	if t2.Spec.Container.Image != "busybox:2" || t2.SpecVersion != svc.SpecVersion || t2.ServiceName != "ping" || t2.Slot != 2 ||
		t2.DesiredState != swarm.TaskRunning || t2.Status.State != swarm.TaskPending || !t2.CreatedAt.Equal(cmd.Time) {
		t.Fatalf("t2 = %+v", t2)
	}
	var waiting []swarm.TaskID
	w, _ := WaitingTasks(a.st.ReadTxn())
	for _, task := range w {
		waiting = append(waiting, task.ID)
	}
	if !slices.Equal(waiting, []swarm.TaskID{"t1", "t2"}) {
		t.Fatalf("tasks waiting for a node: %v, want t1 t2 (not the global one)", waiting)
	}
	t3, _ := GetTask(a.st.ReadTxn(), "t3")
	if t3 == nil || t3.NodeID != "n1" || t3.Status.State != swarm.TaskAssigned {
		t.Fatalf("a global service's task: %+v", t3)
	}
	if err := a.apply(NewCreateServiceTasks("s1", svc.SpecVersion, []NewTask{{ID: "t2", Slot: 3}})); !errors.Is(err, swarm.ErrAlreadyExists) {
		t.Fatalf("a task ID used twice: %v", err)
	}
	if err := a.apply(NewCreateServiceTasks("gone", 1, []NewTask{{ID: "t9", Slot: 1}})); !errors.Is(err, swarm.ErrNotFound) {
		t.Fatalf("tasks of a missing service: %v", err)
	}
}

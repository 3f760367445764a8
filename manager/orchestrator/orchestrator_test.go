package orchestrator

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// world is a store with nodes, the orchestrator, and a fake scheduler and
// agents: pending tasks go to the first ready node round-robin, assigned
// tasks start, tasks asked to stop stop.
type world struct {
	t   *testing.T
	p   *storetest.Proposer
	ctx context.Context
	// observe, if set, sees every state the fake cluster acts on.
	observe func(tasks []*swarm.Task)
}

func newWorld(t *testing.T, nodes ...swarm.NodeID) *world {
	p := storetest.NewProposer()
	ctx := context.Background()
	w := &world{t: t, p: p, ctx: ctx}
	w.must(p.Propose(ctx, store.NewCreateCluster(&swarm.Cluster{ID: "c", Spec: swarm.DefaultClusterSpec()})))
	for _, id := range nodes {
		n := &swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady}}
		w.must(p.Propose(ctx, store.NewCreateNode(n)))
	}
	return w
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// run starts the orchestrator and the fake cluster inside the bubble.
func (w *world) run(ctx context.Context) {
	o := New(Config{Store: w.p.Store, Proposer: w.p})
	go o.Run(ctx)
	go w.fakeCluster(ctx)
}

func (w *world) fakeCluster(ctx context.Context) {
	for {
		ch := w.p.Store.Changes()
		w.step()
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

func (w *world) step() {
	tx := w.p.Store.ReadTxn()
	tasks, _ := store.ListTasks(tx)
	nodes, _ := store.ListNodes(tx)
	if w.observe != nil {
		w.observe(tasks)
	}
	var ready []swarm.NodeID
	for _, n := range nodes {
		if n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.AvailabilityActive {
			ready = append(ready, n.ID)
		}
	}
	var assign, status []store.TaskChange
	for i, t := range tasks {
		switch {
		case t.NodeID == "" && t.Status.State == swarm.TaskPending && len(ready) > 0:
			assign = append(assign, store.TaskChange{ID: t.ID, NodeID: ready[i%len(ready)]})
		case t.DesiredState == swarm.TaskRunning && t.Status.State == swarm.TaskAssigned && !w.down(t.NodeID):
			status = append(status, store.TaskChange{ID: t.ID, Status: &swarm.TaskStatus{State: swarm.TaskRunning, Timestamp: time.Now()}})
		case t.DesiredState > swarm.TaskRunning && !t.Status.State.Terminal() && t.NodeID != "" && !w.down(t.NodeID):
			status = append(status, store.TaskChange{ID: t.ID, Status: &swarm.TaskStatus{State: swarm.TaskShutdown, Timestamp: time.Now()}})
		}
	}
	if len(assign) > 0 {
		w.must(w.p.Propose(w.ctx, store.NewAssignTasks(assign)))
	}
	if len(status) > 0 {
		w.must(w.p.Propose(w.ctx, store.NewUpdateTaskStatus(status)))
	}
}

func (w *world) down(id swarm.NodeID) bool {
	n, err := store.GetNode(w.p.Store.ReadTxn(), id)
	return err != nil || n.Status.State == swarm.NodeStateDown
}

func (w *world) createService(name string, replicas uint64) swarm.ServiceID {
	id := swarm.ServiceID("svc-" + name)
	svc := &swarm.Service{ID: id, Spec: swarm.ServiceSpec{Name: name, Mode: swarm.ModeReplicated, Replicas: replicas,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Args: []string{"sleep", "1000"}}}}}
	w.must(w.p.Propose(w.ctx, store.NewCreateService(svc)))
	return id
}

func (w *world) tasks(id swarm.ServiceID) []*swarm.Task {
	ts, _ := store.TasksOfService(w.p.Store.ReadTxn(), id)
	return ts
}

// running counts, per slot, the tasks desired running and running.
func (w *world) running(id swarm.ServiceID) map[int]int {
	out := map[int]int{}
	for _, t := range w.tasks(id) {
		if t.DesiredState == swarm.TaskRunning && t.Status.State == swarm.TaskRunning {
			out[t.Slot]++
		}
	}
	return out
}

func (w *world) update(id swarm.ServiceID, change func(*swarm.ServiceSpec)) {
	svc, err := store.GetService(w.p.Store.ReadTxn(), id)
	w.must(err)
	c := svc.Copy()
	prev := c.Spec.Copy()
	change(&c.Spec)
	c.PreviousSpec, c.UpdateStatus = &prev, nil
	w.must(w.p.Propose(w.ctx, store.NewUpdateService(c, svc.Version)))
}

func settle() {
	time.Sleep(time.Second) // virtual time under synctest
	synctest.Wait()
}

func TestReplicasFillEverySlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1", "n2", "n3")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("ping", 3)
		settle()
		if got := w.running(id); len(got) != 3 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
			t.Fatalf("running per slot: %v", got)
		}
		w.update(id, func(s *swarm.ServiceSpec) { s.Replicas = 1 })
		settle()
		if got := w.running(id); len(got) != 1 || got[1] != 1 {
			t.Fatalf("after scale down: %v", got)
		}
		for _, task := range w.tasks(id) {
			if task.Slot == 1 && task.DesiredState != swarm.TaskRunning {
				t.Fatal("scaling down restarted slot 1")
			}
		}
	})
}

// A node that goes down has its tasks' slots refilled elsewhere at once,
// while the old task keeps its last state marked unconfirmed.
func TestNodeDownRefillsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1", "n2")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("ping", 2)
		settle()
		var lost *swarm.Task
		for _, task := range w.tasks(id) {
			if task.NodeID == "n1" {
				lost = task
			}
		}
		if lost == nil {
			t.Fatal("nothing on n1")
		}
		w.must(w.p.Propose(w.ctx, store.NewUpdateNodeStatus("n1", swarm.NodeStatus{State: swarm.NodeStateDown})))
		synctest.Wait()
		time.Sleep(100 * time.Millisecond) // well under the restart delay
		synctest.Wait()
		if got := w.running(id); got[lost.Slot] != 1 {
			t.Fatalf("slot %d not refilled at once: %v", lost.Slot, got)
		}
		old, _ := store.GetTask(w.p.Store.ReadTxn(), lost.ID)
		if old.DesiredState != swarm.TaskShutdown || old.Status.State != swarm.TaskRunning ||
			old.Status.Message != "unconfirmed: node is down; last reported running" {
			t.Fatalf("old task: desired %s, %s %q", old.DesiredState, old.Status.State, old.Status.Message)
		}
	})
}

// A task that fails is replaced after the restart delay, and a slot keeps
// at most the retention limit of tasks.
func TestRestartDelayAndHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("crash", 1)
		settle()
		for round := 0; round < 8; round++ {
			var cur *swarm.Task
			for _, task := range w.tasks(id) {
				if task.DesiredState == swarm.TaskRunning && task.Status.State == swarm.TaskRunning {
					cur = task
				}
			}
			if cur == nil {
				t.Fatalf("round %d: no running task", round)
			}
			failed := &swarm.TaskStatus{State: swarm.TaskFailed, Err: "task: non-zero exit (1)", Timestamp: time.Now()}
			w.must(w.p.Propose(w.ctx, store.NewUpdateTaskStatus([]store.TaskChange{{ID: cur.ID, Status: failed}})))
			time.Sleep(4 * time.Second)
			synctest.Wait()
			if got := w.running(id); got[1] != 0 {
				t.Fatalf("round %d: replaced before the 5s restart delay", round)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if got := w.running(id); got[1] != 1 {
				t.Fatalf("round %d: not replaced after the restart delay: %v", round, got)
			}
		}
		if n := len(w.tasks(id)); n > int(swarm.DefaultTaskHistoryRetention) {
			t.Fatalf("slot keeps %d tasks, retention is %d", n, swarm.DefaultTaskHistoryRetention)
		}
	})
}

// A rolling update replaces one slot at a time (stop-first), never runs a
// slot twice, and marks the service completed only after the monitor period.
func TestRollingUpdateOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1", "n2", "n3")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("web", 3)
		settle()
		svc, _ := store.GetService(w.p.Store.ReadTxn(), id)
		maxInFlight, maxCopies := 0, 0
		w.observe = func(tasks []*swarm.Task) {
			inFlight, copies := 0, map[int]int{}
			for _, task := range tasks {
				if task.DesiredState > swarm.TaskRunning && !task.Status.State.Terminal() {
					inFlight++ // an old task stopping
				}
				if task.SpecVersion > svc.SpecVersion && task.DesiredState == swarm.TaskRunning && task.Status.State < swarm.TaskRunning {
					inFlight++ // a new task starting
				}
				if !task.Status.State.Terminal() && task.Status.State >= swarm.TaskAssigned {
					copies[task.Slot]++
				}
			}
			maxInFlight = max(maxInFlight, inFlight)
			for _, n := range copies {
				maxCopies = max(maxCopies, n)
			}
		}
		w.update(id, func(s *swarm.ServiceSpec) { s.Task.ForceUpdate++ })
		var sawUpdating bool
		for i := 0; i < 100; i++ {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			cur, _ := store.GetService(w.p.Store.ReadTxn(), id)
			if cur.UpdateStatus != nil && cur.UpdateStatus.State == swarm.UpdateUpdating {
				sawUpdating = true
			}
		}
		if maxInFlight > 1 {
			t.Fatalf("%d slots in flight at once with parallelism 1", maxInFlight)
		}
		if maxCopies > 1 {
			t.Fatalf("a slot ran %d copies during a stop-first update", maxCopies)
		}
		cur, _ := store.GetService(w.p.Store.ReadTxn(), id)
		if !sawUpdating || cur.UpdateStatus == nil || cur.UpdateStatus.State != swarm.UpdateCompleted {
			t.Fatalf("update status %+v (saw updating: %v)", cur.UpdateStatus, sawUpdating)
		}
		up := 0
		for _, task := range w.tasks(id) {
			if task.SpecVersion == cur.SpecVersion && task.Status.State == swarm.TaskRunning {
				up++
			}
		}
		if up != 3 {
			t.Fatalf("%d tasks on the new spec, want 3", up)
		}
	})
}

// Scaling keeps the running tasks (their spec did not change).
func TestScaleUpDoesNotRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1", "n2")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("ping", 2)
		settle()
		before := fmt.Sprint(len(w.tasks(id)))
		w.update(id, func(s *swarm.ServiceSpec) { s.Replicas = 4 })
		settle()
		if got := w.running(id); len(got) != 4 {
			t.Fatalf("after scale up: %v", got)
		}
		if n := len(w.tasks(id)); n != 4 {
			t.Fatalf("tasks after scale up: %d (before: %s): running ones were replaced", n, before)
		}
		svc, _ := store.GetService(w.p.Store.ReadTxn(), id)
		for _, task := range w.tasks(id) {
			if task.SpecVersion != svc.SpecVersion {
				t.Fatalf("task %s left out of date", task.ID)
			}
		}
	})
}

// Removing a service stops its tasks, then deletes them.
func TestRemovedServiceTasksGoAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.run(ctx)
		id := w.createService("gone", 2)
		settle()
		w.must(w.p.Propose(w.ctx, store.NewRemoveService(id)))
		settle()
		if n := len(w.tasks(id)); n != 0 {
			t.Fatalf("%d tasks left after removal", n)
		}
	})
}

// New tasks are written compactly: one command per service spec version and
// at most createBatch tasks, each naming only its ID and slot or node.
func TestCreateCommandsGroupByServiceSpec(t *testing.T) {
	a := &swarm.Service{ID: "a", SpecVersion: 3, Spec: swarm.ServiceSpec{Name: "a"}}
	b := &swarm.Service{ID: "b", SpecVersion: 5, Spec: swarm.ServiceSpec{Name: "b"}}
	var tasks []*swarm.Task
	for i := range createBatch + 1 {
		tasks = append(tasks, a.NewTask(swarm.TaskID(fmt.Sprintf("a%d", i)), i+1, "", time.Time{}))
	}
	tasks = append(tasks, b.NewTask("b0", 0, "n1", time.Time{}))
	cmds := createCommands(tasks)
	if len(cmds) != 3 {
		t.Fatalf("%d commands, want 3 (a full batch of a, the rest of a, b)", len(cmds))
	}
	want := []struct {
		svc     swarm.ServiceID
		version uint64
		n       int
	}{{"a", 3, createBatch}, {"a", 3, 1}, {"b", 5, 1}}
	for i, c := range cmds {
		if c.Op != store.OpCreateServiceTasks || c.ServiceID != want[i].svc || c.SpecVersion != want[i].version || len(c.NewTasks) != want[i].n {
			t.Errorf("command %d: %s of %s at %d with %d tasks, want %+v", i, c.Op, c.ServiceID, c.SpecVersion, len(c.NewTasks), want[i])
		}
	}
	if last := cmds[1].NewTasks[0]; last.ID != swarm.TaskID(fmt.Sprintf("a%d", createBatch)) || last.Slot != createBatch+1 {
		t.Errorf("second command's task: %+v", last)
	}
	if g := cmds[2].NewTasks[0]; g.ID != "b0" || g.NodeID != "n1" || g.Slot != 0 {
		t.Errorf("global task: %+v", g)
	}
}

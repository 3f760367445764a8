package dispatcher

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

type pollResult struct {
	resp dispatchapi.AssignmentsResponse
	err  error
}

func poll(d *Dispatcher, id swarm.NodeID, fp string) <-chan pollResult {
	ch := make(chan pollResult, 1)
	go func() {
		resp, err := d.Assignments(context.Background(), id, dispatchapi.AssignmentsRequest{Fingerprint: fp})
		ch <- pollResult{resp, err}
	}()
	return ch
}

func placeTask(t *testing.T, p interface {
	Propose(context.Context, *store.Command) error
}, id swarm.TaskID, node swarm.NodeID) {
	t.Helper()
	ctx := context.Background()
	task := &swarm.Task{ID: id, ServiceID: "s1", DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}}
	must(t, p.Propose(ctx, store.NewCreateTasks([]*swarm.Task{task})))
	must(t, p.Propose(ctx, store.NewAssignTasks([]store.TaskChange{{ID: id, NodeID: node}})))
}

// A node's long poll answers when a task is placed on that node, and not
// when one is placed on another node; it ends with the leadership term.
func TestAssignmentsWaitForTheNodesOwnTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()

		first, err := d.Assignments(ctx, "w1", dispatchapi.AssignmentsRequest{})
		must(t, err)
		if len(first.Tasks) != 0 {
			t.Fatalf("w1 starts with %d tasks", len(first.Tasks))
		}
		w1 := poll(d, "w1", first.Fingerprint)
		placeTask(t, p, "t-other", "m1")
		synctest.Wait()
		select {
		case r := <-w1:
			t.Fatalf("w1's poll answered for a task placed on m1: %+v", r)
		default:
		}
		placeTask(t, p, "t-mine", "w1")
		synctest.Wait()
		select {
		case r := <-w1:
			must(t, r.err)
			if len(r.resp.Tasks) != 1 || r.resp.Tasks[0].ID != "t-mine" {
				t.Fatalf("w1 got %+v, want its task t-mine", r.resp.Tasks)
			}
			first = r.resp
		default:
			t.Fatal("w1's poll did not answer when a task was placed on it")
		}

		// Nothing changes: the poll answers after longPoll that the set is
		// unchanged, without sending it again.
		start := time.Now()
		w1 = poll(d, "w1", first.Fingerprint)
		r := <-w1
		must(t, r.err)
		if waited := time.Since(start); waited != longPoll || r.resp.Fingerprint != first.Fingerprint || !r.resp.Unchanged || len(r.resp.Tasks) != 0 {
			t.Fatalf("idle poll answered after %v with %q (unchanged %v, %d tasks), want %v, %q, unchanged and no tasks",
				waited, r.resp.Fingerprint, r.resp.Unchanged, len(r.resp.Tasks), longPoll, first.Fingerprint)
		}

		// The term ends: a waiting poll says there is no leader.
		w1 = poll(d, "w1", first.Fingerprint)
		synctest.Wait()
		cancel()
		<-done
		if r := <-w1; !errors.Is(r.err, swarm.ErrNoLeader) {
			t.Fatalf("poll at the end of the term: %v, want no leader", r.err)
		}
	})
}

func TestAssignmentsRefuseUnknownNode(t *testing.T) {
	_, d := setup(t)
	_, err := d.Assignments(context.Background(), "ghost", dispatchapi.AssignmentsRequest{})
	if !errors.Is(err, swarm.ErrPermissionDenied) {
		t.Fatalf("unknown node: %v, want permission denied", err)
	}
}

// gatedProposer holds task status writes until released, and counts them.
type gatedProposer struct {
	*storetest.Proposer
	gate   chan struct{}
	writes chan int // task changes per status write
}

func (g gatedProposer) Propose(ctx context.Context, cmd *store.Command) error {
	if cmd.Op == store.OpUpdateTaskStatus {
		g.writes <- len(cmd.Changes)
		<-g.gate
	}
	return g.Proposer.Propose(ctx, cmd)
}

// Reports that arrive while a status write is being committed are written
// together in the next one, and each caller returns once its own report is
// committed.
func TestStatusReportsAreWrittenTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		for _, id := range []swarm.TaskID{"a", "b", "c"} {
			placeTask(t, p, id, "w1")
		}
		g := gatedProposer{p, make(chan struct{}), make(chan int, 10)}
		d := New(Config{Store: p.Store, Proposer: g,
			Managers: func() []dispatchapi.Peer { return nil }})
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()

		report := func(id swarm.TaskID) <-chan error {
			ch := make(chan error, 1)
			go func() {
				ch <- d.UpdateTaskStatus(ctx, "w1", dispatchapi.TaskStatusRequest{Updates: []dispatchapi.TaskStatusUpdate{
					{TaskID: id, Status: swarm.TaskStatus{State: swarm.TaskRunning, Message: "started"}}}})
			}()
			return ch
		}
		first := report("a")
		if n := <-g.writes; n != 1 {
			t.Fatalf("first write has %d changes, want 1", n)
		}
		second, third := report("b"), report("c")
		synctest.Wait() // both queued behind the first write
		g.gate <- struct{}{}
		must(t, <-first)
		if n := <-g.writes; n != 2 {
			t.Fatalf("second write has %d changes, want both queued reports", n)
		}
		g.gate <- struct{}{}
		must(t, <-second)
		must(t, <-third)
		for _, id := range []swarm.TaskID{"a", "b", "c"} {
			task, err := store.GetTask(p.Store.ReadTxn(), id)
			must(t, err)
			if task.Status.State != swarm.TaskRunning {
				t.Errorf("task %s is %s, want running", id, task.Status.State)
			}
		}
		cancel()
		<-done
	})
}

package scheduler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// recorder applies proposals to a store and remembers the task changes of
// each assign-tasks command.
type recorder struct {
	*storetest.Proposer

	mu      sync.Mutex
	assigns [][]store.TaskChange
}

func newRecorder() *recorder { return &recorder{Proposer: storetest.NewProposer()} }

func (r *recorder) Propose(ctx context.Context, cmd *store.Command) error {
	if cmd.Op == store.OpAssignTasks {
		r.mu.Lock()
		r.assigns = append(r.assigns, cmd.Changes)
		r.mu.Unlock()
	}
	return r.Proposer.Propose(ctx, cmd)
}

// assignCommands returns the assign-tasks commands proposed so far.
func (r *recorder) assignCommands() [][]store.TaskChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]store.TaskChange(nil), r.assigns...)
}

func (r *recorder) must(t *testing.T, cmd *store.Command) {
	t.Helper()
	if err := r.Proposer.Propose(context.Background(), cmd); err != nil {
		t.Fatalf("%s: %v", cmd.Op, err)
	}
}

// run starts a scheduler and returns the function that stops it and checks
// that Run returned nil.
func run(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- New(cfg).Run(ctx) }()
	return func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// waitFor waits on store changes until cond holds, for at most a minute.
// Under synctest the minute is the bubble's: it passes at once when
// nothing else can happen, so a wrong expectation fails fast.
func waitFor(t *testing.T, st *store.Store, what string, cond func(tx store.ReadTxn) bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		changed := st.Changes()
		if cond(st.ReadTxn()) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func getTask(t *testing.T, tx store.ReadTxn, id swarm.TaskID) *swarm.Task {
	t.Helper()
	x, err := store.GetTask(tx, id)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func waitAssigned(t *testing.T, st *store.Store, id swarm.TaskID, want swarm.NodeID) {
	t.Helper()
	waitFor(t, st, string(id)+" assigned", func(tx store.ReadTxn) bool {
		return getTask(t, tx, id).Status.State == swarm.TaskAssigned
	})
	if got := getTask(t, st.ReadTxn(), id); want != "" && got.NodeID != want {
		t.Fatalf("%s assigned to %s, want %s", id, got.NodeID, want)
	}
}

func waitPending(t *testing.T, st *store.Store, id swarm.TaskID, reason string) {
	t.Helper()
	waitFor(t, st, string(id)+" pending: "+reason, func(tx store.ReadTxn) bool {
		x := getTask(t, tx, id)
		return x.Status.State == swarm.TaskPending && x.Status.Err == reason && x.NodeID == ""
	})
}

func newTask(id, svc string, opts ...func(*swarm.Task)) *swarm.Task {
	x := task(id, svc, opts...)
	x.Status.State = swarm.TaskNew
	return x
}

// The loop places waiting tasks, leaves the ones that fit nowhere pending
// with their reason (written once), and places them as soon as a change
// makes room: a new label, a node back to active, a new node, freed
// resources.
func TestRunPlacesTasksAndRetriesStuckOnesOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder()
		st := r.Store
		for _, n := range three() {
			r.must(t, store.NewCreateNode(n))
		}
		var ts []*swarm.Task
		for _, x := range tasks("web", 6) {
			ts = append(ts, newTask(string(x.ID), "web"))
		}
		r.must(t, store.NewCreateTasks(ts))
		defer run(t, Config{Store: st, Proposer: r})()

		waitFor(t, st, "six tasks assigned", func(tx store.ReadTxn) bool {
			for _, x := range ts {
				if getTask(t, tx, x.ID).Status.State != swarm.TaskAssigned {
					return false
				}
			}
			return true
		})
		for _, id := range []swarm.NodeID{"n1", "n2", "n3"} {
			on, _ := store.TasksOfNode(st.ReadTxn(), id)
			if len(on) != 2 {
				t.Errorf("%s has %d tasks, want 2", id, len(on))
			}
		}

		// A constraint no node satisfies: pending, with the reason once.
		r.must(t, store.NewCreateTasks([]*swarm.Task{newTask("zoned", "db", constraints("node.labels.zone==b"))}))
		waitPending(t, st, "zoned", "no suitable node (scheduling constraints not satisfied on 3 nodes)")
		before := len(r.assignCommands())
		r.must(t, store.NewUpdateNodeStatus("n1", swarm.NodeStatus{State: swarm.NodeStateReady, Message: "still here"}))
		time.Sleep(time.Second) // bubble time: lets the debounced pass run
		synctest.Wait()
		if after := len(r.assignCommands()); after != before {
			t.Fatalf("the same reason was proposed again: %d assign commands, then %d", before, after)
		}

		// The label arrives.
		r.must(t, store.NewUpdateNodeSpec("n2", swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive,
			Labels: map[string]string{"zone": "b"}}, 0))
		waitAssigned(t, st, "zoned", "n2")

		// A node comes back to active.
		r.must(t, store.NewUpdateNodeSpec("n1", swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityDrain}, 0))
		r.must(t, store.NewCreateTasks([]*swarm.Task{newTask("pinned", "db", constraints("node.id==n1"))}))
		waitPending(t, st, "pinned", "no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks)")
		r.must(t, store.NewUpdateNodeSpec("n1", swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive}, 0))
		waitAssigned(t, st, "pinned", "n1")

		// A node joins with room enough.
		r.must(t, store.NewCreateTasks([]*swarm.Task{newTask("big1", "batch", reserve(0, 16*gib))}))
		waitPending(t, st, "big1", "no suitable node (insufficient resources on 3 nodes)")
		r.must(t, store.NewCreateNode(node("n4", capacity(8, 20*gib))))
		waitAssigned(t, st, "big1", "n4")

		// Resources are freed when a task ends.
		r.must(t, store.NewCreateTasks([]*swarm.Task{newTask("big2", "batch", reserve(0, 16*gib))}))
		waitPending(t, st, "big2", "no suitable node (insufficient resources on 4 nodes)")
		r.must(t, store.NewUpdateTaskStatus([]store.TaskChange{{ID: "big1", Status: &swarm.TaskStatus{State: swarm.TaskFailed, Err: "oom"}}}))
		waitAssigned(t, st, "big2", "n4")
	})
}

// placeOnThree runs a scheduler with BatchSize 4 until n waiting tasks of
// one service are placed on three nodes, and returns the assign-tasks
// commands it proposed.
func placeOnThree(t *testing.T, n int) [][]store.TaskChange {
	r := newRecorder()
	for _, node := range three() {
		r.must(t, store.NewCreateNode(node))
	}
	var ts []*swarm.Task
	for _, x := range tasks("web", n) {
		ts = append(ts, newTask(string(x.ID), "web"))
	}
	r.must(t, store.NewCreateTasks(ts))
	stop := run(t, Config{Store: r.Store, Proposer: r, BatchSize: 4})
	waitFor(t, r.Store, "every task assigned", func(tx store.ReadTxn) bool {
		for _, x := range ts {
			if getTask(t, tx, x.ID).Status.State != swarm.TaskAssigned {
				return false
			}
		}
		return true
	})
	synctest.Wait()
	stop()
	return r.assignCommands()
}

// A pass proposes its changes in commands of at most BatchSize.
func TestRunBatchesProposals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sizes []int
		for _, c := range placeOnThree(t, 10) {
			sizes = append(sizes, len(c))
		}
		slices.Sort(sizes) // proposed concurrently: any order
		if !slices.Equal(sizes, []int{2, 4, 4}) {
			t.Fatalf("assign commands of sizes %v, want 4, 4 and 2 in any order", sizes)
		}
	})
}

// A pass groups its placements by node before cutting them into commands:
// spread placement alternates nodes, and a command touching every node
// would wake every node's assignment poll once per command.
func TestRunGroupsPlacementsByNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cmds := placeOnThree(t, 12)
		if len(cmds) != 3 {
			t.Fatalf("%d assign commands, want 3", len(cmds))
		}
		for _, c := range cmds {
			nodes := map[swarm.NodeID]bool{}
			for _, ch := range c {
				nodes[ch.NodeID] = true
			}
			if len(nodes) != 1 {
				t.Errorf("an assign command of %d tasks touches %d nodes, want 1 (4 tasks per node)", len(c), len(nodes))
			}
		}
	})
}

// failing refuses the first proposals, then applies.
type failing struct {
	*recorder
	mu    sync.Mutex
	fails int
}

func (f *failing) Propose(ctx context.Context, cmd *store.Command) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		return swarm.ErrNoLeader
	}
	return f.recorder.Propose(ctx, cmd)
}

// A failed proposal is retried after Retry even if nothing else changes.
func TestRunRetriesAFailedPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRecorder()
		r.must(t, store.NewCreateNode(node("n1")))
		r.must(t, store.NewCreateTasks([]*swarm.Task{newTask("t1", "a")}))
		start := time.Now()
		defer run(t, Config{Store: r.Store, Proposer: &failing{recorder: r, fails: 2}, Retry: 5 * time.Second})()
		waitAssigned(t, r.Store, "t1", "n1")
		if took := time.Since(start); took != 10*time.Second {
			t.Fatalf("assigned after %v, want two retries of 5s", took)
		}
	})
}

func TestRunRefusesAnIncompleteConfig(t *testing.T) {
	err := New(Config{}).Run(context.Background())
	if err == nil {
		t.Fatal("Run without a store and a proposer must fail")
	}
	err = New(Config{Store: store.New(), Proposer: storetest.NewProposer(), Debounce: -1}).Run(context.Background())
	if err == nil {
		t.Fatal("Run with a negative debounce must fail")
	}
	if errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatal("a bad config is a programming error, not a user's")
	}
}

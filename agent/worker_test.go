package agent

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestAgent(t *testing.T, ctlr *exectest.Controller) *Agent {
	root := catest.NewCA(t)
	return New(Config{
		Creds:    catest.NewNode(t, root, swarm.RoleWorker),
		Executor: &exectest.Executor{ControllerFn: func(*swarm.Task) (exec.Controller, error) { return ctlr, nil }},
	})
}

func assigned() *swarm.Task {
	return &swarm.Task{ID: "t1", ServiceID: "s1", ServiceName: "web", Slot: 1, NodeID: "n1", DesiredState: swarm.TaskRunning,
		Status: swarm.TaskStatus{State: swarm.TaskAssigned}}
}

func (a *Agent) reported(id swarm.TaskID) (swarm.TaskStatus, bool) {
	a.repMu.Lock()
	defer a.repMu.Unlock()
	u, ok := a.pending[id]
	return u.Status, ok
}

// A task runs to completion, is reported complete, and then its runner
// rests: it neither spins (the bubble would never become idle and
// synctest.Wait would not return) nor reports again.
func TestRunnerRestsWhenTheTaskIsDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctlr := &exectest.Controller{}
		a := newTestAgent(t, ctlr)
		ctx, cancel := context.WithCancel(context.Background())
		r := a.startRunner(ctx, assigned())
		synctest.Wait()
		st, ok := a.reported("t1")
		if !ok || st.State != swarm.TaskComplete {
			t.Fatalf("reported %+v (%v), want complete", st, ok)
		}
		a.takePending()
		synctest.Wait()
		if st, ok := a.reported("t1"); ok {
			t.Fatalf("reported again after completion: %+v", st)
		}
		if c := ctlr.Calls(); c.Start != 1 || c.Wait != 1 {
			t.Fatalf("controller calls %+v: want one start and one wait", c)
		}
		cancel()
		r.stop()
	})
}

// A task asked to stop while it runs is shut down, and reported so.
func TestRunnerStopsATaskAskedToStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopped := make(chan struct{})
		var once sync.Once
		ctlr := &exectest.Controller{
			WaitFn:     func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			ShutdownFn: func(context.Context) error { once.Do(func() { close(stopped) }); return nil },
		}
		a := newTestAgent(t, ctlr)
		ctx, cancel := context.WithCancel(context.Background())
		r := a.startRunner(ctx, assigned())
		synctest.Wait()
		if st, _ := a.reported("t1"); st.State != swarm.TaskRunning {
			t.Fatalf("reported %s, want running", st.State)
		}
		stop := assigned()
		stop.DesiredState = swarm.TaskShutdown
		stop.Status.State = swarm.TaskRunning
		r.update(stop)
		synctest.Wait()
		select {
		case <-stopped:
		default:
			t.Fatal("the controller was not asked to shut down")
		}
		if st, _ := a.reported("t1"); st.State != swarm.TaskShutdown {
			t.Fatalf("reported %s, want shutdown", st.State)
		}
		cancel()
		r.stop()
	})
}

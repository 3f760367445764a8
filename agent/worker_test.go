package agent

import (
	"context"
	"strings"
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

// A task whose template cannot be rendered within its budget is reported
// Rejected with the reason, and the worker goes on running other tasks (a
// {{range 400000000}} in an env value used to run the daemon out of memory
// at every restart).
func TestRunnerRejectsATaskWhoseTemplateFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []*swarm.Task
		root := catest.NewCA(t)
		a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Hostname: "worker-1",
			Executor: &exectest.Executor{ControllerFn: func(t *swarm.Task) (exec.Controller, error) {
				mu.Lock()
				got = append(got, t)
				mu.Unlock()
				return &exectest.Controller{}, nil
			}}})
		ctx, cancel := context.WithCancel(context.Background())
		bad := assigned()
		bad.Spec.Container.Env = []string{"OK=1", "X={{range 4000000}}x{{end}}"}
		good := assigned()
		good.ID, good.Slot = "t2", 2
		good.Spec.Container.Env = []string{"WHO={{.Node.Hostname}}.{{.Task.Slot}}"}
		r1, r2 := a.startRunner(ctx, bad), a.startRunner(ctx, good)
		synctest.Wait()
		st, _ := a.reported("t1")
		if st.State != swarm.TaskRejected || !strings.Contains(st.Err, `expanding env failed: expanding env "X={{range 4000000}}x{{end}}": template: expansion: range is allowed over a field`) {
			t.Fatalf("the bad template's task reported %s %q, want rejected with the reason", st.State, st.Err)
		}
		if st, _ := a.reported("t2"); st.State != swarm.TaskComplete {
			t.Fatalf("the good task reported %s, want complete", st.State)
		}
		mu.Lock()
		if len(got) != 1 || got[0].ID != "t2" || got[0].Spec.Container.Env[0] != "WHO=worker-1.2" {
			t.Fatalf("the runtime was given %d tasks: %+v", len(got), got)
		}
		mu.Unlock()
		cancel()
		r1.stop()
		r2.stop()
	})
}

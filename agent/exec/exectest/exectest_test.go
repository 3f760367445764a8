package exectest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scripted(id swarm.TaskID, env ...string) *swarm.Task {
	return &swarm.Task{ID: id, DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskAssigned},
		Spec: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Env: env}}}
}

// drive calls Do until it has nothing to do or the task is terminal.
func drive(t *testing.T, ctx context.Context, task *swarm.Task, ctl exec.Controller) {
	t.Helper()
	for range 20 {
		st, err := exec.Do(ctx, task, ctl)
		if errors.Is(err, exec.ErrTaskNoop) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		task.Status = *st
	}
	t.Fatal("Do did not settle")
}

func TestScriptedOutcomes(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		state swarm.TaskState
		err   string
		code  int
		after time.Duration // how long the task ran
	}{
		{"exit 0 at once", []string{"SHOAL_SCRIPT_EXIT=0"}, swarm.TaskComplete, "", 0, 0},
		{"exit 3 after 2s", []string{"SHOAL_SCRIPT_EXIT=3", "SHOAL_SCRIPT_RUN_FOR=2s"}, swarm.TaskFailed, "task: non-zero exit (3)", 3, 2 * time.Second},
		{"complete after 1m", []string{"SHOAL_SCRIPT_RUN_FOR=1m"}, swarm.TaskComplete, "", 0, time.Minute},
		{"start error", []string{"SHOAL_SCRIPT_START_ERROR=no luck"}, swarm.TaskFailed, "no luck", 0, 0},
		{"prepare error", []string{"SHOAL_SCRIPT_PREPARE_ERROR=no image"}, swarm.TaskRejected, "no image", 0, 0},
		{"bad script", []string{"SHOAL_SCRIPT_EXIT=three"}, swarm.TaskRejected, `invalid SHOAL_SCRIPT_EXIT "three": want an exit code 0-255`, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := exectest.NewScripted()
				task := scripted("t1", c.env...)
				ctl, err := e.Controller(task)
				if err != nil {
					t.Fatal(err)
				}
				begin := time.Now()
				drive(t, context.Background(), task, ctl)
				st := task.Status
				if st.State != c.state || st.Err != c.err || st.ExitCode != c.code || time.Since(begin) != c.after {
					t.Fatalf("%s %q exit %d after %v; want %s %q %d after %v", st.State, st.Err, st.ExitCode, time.Since(begin), c.state, c.err, c.code, c.after)
				}
			})
		})
	}
}

func TestScriptedRunsUntilStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := exectest.NewScripted()
		task := scripted("t1", "SHOAL_SCRIPT_LOG=hello")
		ctl, _ := e.Controller(task)
		for task.Status.State < swarm.TaskRunning {
			st, err := exec.Do(context.Background(), task, ctl)
			if err != nil {
				t.Fatal(err)
			}
			task.Status = *st
		}
		if got := e.Running(); !slices.Equal(got, []swarm.TaskID{"t1"}) || task.Status.PID == 0 {
			t.Fatalf("running %v, status %+v", got, task.Status)
		}
		var lines []string
		ctl.(exec.ControllerLogs).Logs(context.Background(), exec.LogOptions{}, exec.LogWriterFunc(func(_ context.Context, m exec.LogMessage) error {
			lines = append(lines, string(m.Line))
			return nil
		}))
		if !slices.Equal(lines, []string{"hello"}) {
			t.Fatalf("logs %q", lines)
		}
		task.DesiredState = swarm.TaskShutdown
		drive(t, context.Background(), task, ctl)
		if task.Status.State != swarm.TaskShutdown || len(e.Running()) != 0 {
			t.Fatalf("after shutdown: %+v, running %v", task.Status, e.Running())
		}
		wantStopped(t, ctl.Wait(context.Background()), exectest.ExitCodeStopped)
	})
}

func TestScriptedIgnoresStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := exectest.NewScripted()
		grace := 30 * time.Second
		task := scripted("t1", "SHOAL_SCRIPT_IGNORE_STOP=1")
		task.Spec.Container.StopGracePeriod = &grace
		ctl, _ := e.Controller(task)
		ctl.Prepare(context.Background())
		ctl.Start(context.Background())
		begin := time.Now()
		if err := ctl.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) != grace {
			t.Fatalf("shutdown took %v, want the grace period %v", time.Since(begin), grace)
		}
		wantStopped(t, ctl.Wait(context.Background()), exectest.ExitCodeKilled)
	})
}

// TestScriptedCrash: Exit makes a running task fail, waking its Wait.
func TestScriptedCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := exectest.NewScripted()
		task := scripted("t1")
		ctl, _ := e.Controller(task)
		ctl.Prepare(context.Background())
		ctl.Start(context.Background())
		done := make(chan error)
		go func() { done <- ctl.Wait(context.Background()) }()
		synctest.Wait()
		if !e.Exit("t1", 2) || e.Exit("t1", 2) || e.Exit("nope", 1) {
			t.Fatal("Exit")
		}
		var ec exec.ExitCoder
		if err := <-done; !errors.As(err, &ec) || ec.ExitCode() != 2 || errors.Is(err, exec.ErrTaskStopped) {
			t.Fatalf("wait: %v", err)
		}
		if err := ctl.Remove(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := e.Task("t1"); ok {
			t.Fatal("removed task still known")
		}
	})
}

func TestScriptedWaitCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := exectest.NewScripted()
		ctl, _ := e.Controller(scripted("t1"))
		if err := ctl.Wait(context.Background()); err == nil {
			t.Fatal("wait before start")
		}
		ctl.Prepare(context.Background())
		ctl.Start(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := ctl.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait: %v", err)
		}
		ctl.Terminate(context.Background())
	})
}

func TestStubCounts(t *testing.T) {
	boom := errors.New("boom")
	c := &exectest.Controller{StartFn: func(context.Context) error { return boom }}
	ctx := context.Background()
	if c.Prepare(ctx) != nil || c.Start(ctx) != boom || c.Start(ctx) != boom || c.Close() != nil {
		t.Fatal("results")
	}
	if got := c.Calls(); got != (exectest.Calls{Prepare: 1, Start: 2, Close: 1}) {
		t.Fatalf("calls %+v", got)
	}
	ex := &exectest.Executor{}
	if ctl, err := ex.Controller(scripted("t1")); err != nil || ctl == nil {
		t.Fatal("stub executor")
	}
}

func wantStopped(t *testing.T, err error, code int) {
	t.Helper()
	var ec exec.ExitCoder
	if !errors.Is(err, exec.ErrTaskStopped) || !errors.As(err, &ec) || ec.ExitCode() != code {
		t.Fatalf("wait: %v; want stopped with %d", err, code)
	}
}

func TestScriptedFollowBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := exectest.NewScripted()
		ctl, _ := e.Controller(scripted("t1", "SHOAL_SCRIPT_LOG=hi", "SHOAL_SCRIPT_RUN_FOR=5s"))
		got := make(chan string, 1)
		done := make(chan error)
		go func() {
			done <- ctl.(exec.ControllerLogs).Logs(context.Background(), exec.LogOptions{Follow: true},
				exec.LogWriterFunc(func(_ context.Context, m exec.LogMessage) error { got <- string(m.Line); return nil }))
		}()
		synctest.Wait()
		ctl.Prepare(context.Background())
		ctl.Start(context.Background())
		if l := <-got; l != "hi" {
			t.Fatalf("line %q", l)
		}
		if err := <-done; err != nil { // returns when the task exits, 5s later
			t.Fatal(err)
		}
	})
}

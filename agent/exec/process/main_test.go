//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

// helperEnv makes the test binary act as a daemon that starts one task and
// then waits to be killed (see TestDaemonKilled); helperCgroupEnv is its
// cgroup parent.
const (
	helperEnv       = "SHOAL_PROCESS_TEST_DAEMON"
	helperCgroupEnv = "SHOAL_PROCESS_TEST_CGROUP_PARENT"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		runDaemonHelper(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

// runDaemonHelper starts `sleep 100` as task "t-daemon", with a memory
// limit (so that it has cgroups where the machine has them), prints its pid
// and waits to be killed.
func runDaemonHelper(dir string) {
	e, err := New(Config{StateDir: dir, CgroupParent: os.Getenv(helperCgroupEnv)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	task := newTask("t-daemon", "sleep", "100")
	task.Spec.Resources.Limits.MemoryBytes = 256 << 20
	ctl, err := e.Controller(task)
	if err == nil {
		err = ctl.Prepare(context.Background())
	}
	if err == nil {
		err = ctl.Start(context.Background())
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(ctl.(*Controller).Status().PID)
	// Not a test: this process only waits for the test to SIGKILL it.
	time.Sleep(time.Hour)
	os.Exit(2)
}

func newTask(id swarm.TaskID, argv ...string) *swarm.Task {
	return &swarm.Task{ID: id, ServiceName: "web", DesiredState: swarm.TaskRunning,
		Status: swarm.TaskStatus{State: swarm.TaskAssigned},
		Spec:   swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine", Command: argv}}}
}

// newExecutor returns an executor closed at the end of the test. Unless
// cfg names one, its cgroup parent is the test's own (testCgroupParent),
// removed at the end of the test with whatever groups are left in it.
func newExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = testCgroupParent(t)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		removeTestParents(t, e.cgroups.parents)
	})
	return e
}

// testCgroupParent is the cgroup parent of the test's executors.
func testCgroupParent(t *testing.T) string {
	return "shoal-test-" + strconv.Itoa(os.Getpid()) + "-" + strings.ReplaceAll(t.Name(), "/", "_")
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// start prepares and starts a task.
func start(t *testing.T, e *Executor, task *swarm.Task) *Controller {
	t.Helper()
	c, err := e.Controller(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Prepare(testCtx(t)); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatalf("start: %v", err)
	}
	return c.(*Controller)
}

// run starts a task and waits for it to exit.
func run(t *testing.T, e *Executor, task *swarm.Task) (*Controller, error) {
	t.Helper()
	c := start(t, e, task)
	return c, c.Wait(testCtx(t))
}

func logs(t *testing.T, c *Controller, opts exec.LogOptions) *exectest.LogCollector {
	t.Helper()
	var col exectest.LogCollector
	if err := c.Logs(testCtx(t), opts, &col); err != nil {
		t.Fatalf("logs: %v", err)
	}
	return &col
}

// eventually waits for cond, checking it every 10ms, for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		<-tick.C
	}
}

// gone reports whether process pid no longer runs (absent or a zombie).
func gone(pid int) bool {
	_, zombie, err := procStart(pid)
	return err != nil || zombie
}

func wantExit(t *testing.T, err error, code int, stopped bool) {
	t.Helper()
	var ec exec.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != code || errors.Is(err, exec.ErrTaskStopped) != stopped {
		t.Fatalf("wait: %v; want exit code %d, stopped %v", err, code, stopped)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

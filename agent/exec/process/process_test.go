//go:build linux

package process

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

func TestExitZero(t *testing.T) {
	e := newExecutor(t, Config{})
	c, err := run(t, e, newTask("t1", "true"))
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	st := c.Status()
	if st.PID <= 0 || st.ContainerID != "t1" || st.ExitCode != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestExitCode(t *testing.T) {
	e := newExecutor(t, Config{})
	c, err := run(t, e, newTask("t1", "sh", "-c", "exit 3"))
	wantExit(t, err, 3, false)
	if err.Error() != "task: non-zero exit (3)" {
		t.Fatalf("message %q, want Docker's", err)
	}
	if c.Status().ExitCode != 3 {
		t.Fatalf("status %+v", c.Status())
	}
}

// TestArgsWithoutCommand: `service create alpine ping docker.com` has Args
// only; they are the argv.
func TestArgsWithoutCommand(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1")
	task.Spec.Container.Args = []string{"sh", "-c", "echo hi"}
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, "hi") {
		t.Fatalf("output %q", got)
	}
}

func TestCommandThenArgs(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c")
	task.Spec.Container.Args = []string{"echo $0 $1", "a", "b"}
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, "a b") {
		t.Fatalf("output %q", got)
	}
}

func TestPrepareRefuses(t *testing.T) {
	e := newExecutor(t, Config{})
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	cases := []struct {
		name  string
		edit  func(*swarm.ContainerSpec)
		class error
		text  string
	}{
		{"no command", func(c *swarm.ContainerSpec) { c.Command = nil }, swarm.ErrInvalidArgument,
			"invalid task spec: the process runtime needs a command; service web has none"},
		{"unknown executable", func(c *swarm.ContainerSpec) { c.Command = []string{"no-such-command-xyz"} }, swarm.ErrFailedPrecondition,
			`exec: "no-such-command-xyz": executable file not found in $PATH`},
		{"missing dir", func(c *swarm.ContainerSpec) { c.Dir = "/no/such/dir" }, swarm.ErrFailedPrecondition, "/no/such/dir"},
		{"dir is a file", func(c *swarm.ContainerSpec) { c.Dir = file }, swarm.ErrFailedPrecondition, "not a directory"},
		{"relative dir", func(c *swarm.ContainerSpec) { c.Dir = "tmp" }, swarm.ErrInvalidArgument, "absolute"},
		{"bad signal", func(c *swarm.ContainerSpec) { c.StopSignal = "SIGNOPE" }, swarm.ErrInvalidArgument, `invalid stop signal "SIGNOPE"`},
		{"unknown user", func(c *swarm.ContainerSpec) { c.User = "no-such-user-xyz" }, swarm.ErrFailedPrecondition,
			"unable to find user no-such-user-xyz: no matching entries in passwd file"},
		{"not executable", func(c *swarm.ContainerSpec) { c.Command = []string{file} }, swarm.ErrFailedPrecondition, "permission denied"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := newTask(swarm.TaskID("t"+string(rune('a'+i))), "true")
			c.edit(&task.Spec.Container)
			ctl, err := e.Controller(task)
			if err != nil {
				t.Fatal(err)
			}
			err = ctl.Prepare(testCtx(t))
			if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("prepare: %v; want %v containing %q", err, c.class, c.text)
			}
			if err := ctl.Start(testCtx(t)); err == nil {
				t.Fatal("an unprepared task started")
			}
		})
	}
}

func TestShutdownStopsTheGroup(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c", "sleep 100 & wait")
	grace := time.Minute // Shutdown must not need it
	task.Spec.Container.StopGracePeriod = &grace
	c := start(t, e, task)
	pid := c.Status().PID
	eventually(t, "the group's second process", func() bool { return groupSize(pid) == 2 })
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The group is killed before Shutdown returns; the kernel may take a
	// moment to finish the exit of a process it delivered SIGKILL to.
	eventually(t, "the process group to be gone", func() bool { return groupSize(pid) == 0 })
	wantExit(t, c.Wait(testCtx(t)), 128+int(syscall.SIGTERM), true)
}

func TestShutdownKillsAfterGrace(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c", `trap "" TERM; echo ready; sleep 100`)
	grace := 100 * time.Millisecond
	task.Spec.Container.StopGracePeriod = &grace
	c := start(t, e, task)
	waitLine(t, c, "ready") // the trap is set
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// 137, not 143: SIGTERM was ignored and SIGKILL ended it.
	wantExit(t, c.Wait(testCtx(t)), 128+int(syscall.SIGKILL), true)
	if n := groupSize(c.Status().PID); n != 0 {
		t.Fatalf("process group still has %d processes", n)
	}
}

func TestStopSignal(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c", `trap "echo got-usr1; exit 0" USR1; echo ready; while :; do sleep 0.05; done`)
	task.Spec.Container.StopSignal = "usr1"
	c := start(t, e, task)
	waitLine(t, c, "ready")
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantExit(t, c.Wait(testCtx(t)), 0, true)
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, "got-usr1") {
		t.Fatalf("output %q", got)
	}
}

func TestTerminate(t *testing.T) {
	e := newExecutor(t, Config{})
	c := start(t, e, newTask("t1", "sleep", "100"))
	if err := c.Terminate(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantExit(t, c.Wait(testCtx(t)), 137, true)
	if err := c.Terminate(testCtx(t)); err != nil {
		t.Fatalf("second terminate: %v", err)
	}
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("shutdown after exit: %v", err)
	}
}

// TestLeftoversDieWithTheTask: what the task's process leaves in its group
// is killed when it exits, as in a container.
func TestLeftoversDieWithTheTask(t *testing.T) {
	e := newExecutor(t, Config{})
	c, err := run(t, e, newTask("t1", "sh", "-c", "sleep 100 & echo $!"))
	if err != nil {
		t.Fatal(err)
	}
	out := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	if len(out) != 1 {
		t.Fatalf("output %q", out)
	}
	child, err := strconv.Atoi(out[0])
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the background sleep to die", func() bool { return gone(child) })
}

func TestEnvDirAndPath(t *testing.T) {
	e := newExecutor(t, Config{})
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	task := newTask("t1", "sh", "-c", `echo "foo=$FOO"; pwd; echo "path=$PATH"`)
	task.Spec.Container.Env = []string{"FOO=bar baz", "NOEQUALS"}
	task.Spec.Container.Dir = dir
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	want := []string{"foo=bar baz", dir, "path=" + os.Getenv("PATH")}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output %q, want %q", got, want)
	}
}

func TestDefaultDirIsScratch(t *testing.T) {
	e := newExecutor(t, Config{})
	c, err := run(t, e, newTask("t1", "sh", "-c", "pwd; touch made-here"))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(e.cfg.StateDir, "t1", "work")
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, work) || !fileExists(filepath.Join(work, "made-here")) {
		t.Fatalf("pwd %q, want %s", got, work)
	}
}

func TestSpecPathIsUsed(t *testing.T) {
	e := newExecutor(t, Config{})
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "hello-task"), []byte("#!/bin/sh\necho hello from $0\n"), 0o755)
	task := newTask("t1", "hello-task")
	task.Spec.Container.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, "hello from "+filepath.Join(bin, "hello-task")) {
		t.Fatalf("output %q", got)
	}
}

func TestUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	state := t.TempDir()
	// t.TempDir makes private directories; the task's user must reach its
	// work directory, as under a real state directory.
	os.Chmod(state, 0o711)
	os.Chmod(filepath.Dir(state), 0o711)
	e := newExecutor(t, Config{StateDir: state})
	task := newTask("t1", "sh", "-c", "id -u; id -g")
	task.Spec.Container.User = "65534:65534"
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); strings.Join(got, " ") != "65534 65534" {
		t.Fatalf("id %q", got)
	}
}

func TestRemove(t *testing.T) {
	e := newExecutor(t, Config{})
	c := start(t, e, newTask("t1", "sleep", "100"))
	dir := filepath.Join(e.cfg.StateDir, "t1")
	if !fileExists(filepath.Join(dir, stateFile)) {
		t.Fatal("no state file for a started task")
	}
	if err := c.Remove(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if fileExists(dir) || !gone(c.Status().PID) {
		t.Fatal("remove left the task's files or process")
	}
	wantExit(t, c.Wait(testCtx(t)), 137, true)
	// The executor forgot it: the same ID starts afresh.
	if _, err := run(t, e, newTask("t1", "true")); err != nil {
		t.Fatal(err)
	}
}

func TestControllerLifecycle(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "true")
	c1, _ := e.Controller(task)
	if err := c1.Wait(testCtx(t)); err == nil {
		t.Fatal("wait before start succeeded")
	}
	if err := c1.Start(testCtx(t)); err == nil {
		t.Fatal("start before prepare succeeded")
	}
	if err := c1.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c1.Prepare(testCtx(t)); !errors.Is(err, exec.ErrTaskPrepared) {
		t.Fatalf("second prepare: %v", err)
	}
	c1.Close()
	if err := c1.Start(testCtx(t)); !errors.Is(err, exec.ErrControllerClosed) {
		t.Fatalf("start after close: %v", err)
	}
	c2, _ := e.Controller(task) // the same task, prepared
	if err := c2.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(testCtx(t)); !errors.Is(err, exec.ErrTaskStarted) {
		t.Fatalf("second start: %v", err)
	}
	if err := c2.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Controller(&swarm.Task{ID: "../x"}); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("path-like id: %v", err)
	}
}

// TestDoDrivesATask runs a real task through exec.Do, as the agent will.
func TestDoDrivesATask(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c", "exit 0")
	ctl, err := e.Controller(task)
	if err != nil {
		t.Fatal(err)
	}
	states := drive(t, task, ctl)
	want := []swarm.TaskState{swarm.TaskAccepted, swarm.TaskPreparing, swarm.TaskReady, swarm.TaskStarting, swarm.TaskRunning, swarm.TaskComplete}
	if !equalStates(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	if task.Status.PID == 0 || task.Status.ContainerID != "t1" {
		t.Fatalf("status %+v", task.Status)
	}

	failing := newTask("t2", "sh", "-c", "exit 3")
	ctl, _ = e.Controller(failing)
	drive(t, failing, ctl)
	if st := failing.Status; st.State != swarm.TaskFailed || st.Err != "task: non-zero exit (3)" || st.ExitCode != 3 {
		t.Fatalf("failing task: %+v", st)
	}

	refused := newTask("t3")
	ctl, _ = e.Controller(refused)
	drive(t, refused, ctl)
	if st := refused.Status; st.State != swarm.TaskRejected || !strings.Contains(st.Err, "needs a command") {
		t.Fatalf("refused task: %+v", st)
	}
}

// TestDoShutsDownATask: running, then desired shutdown.
func TestDoShutsDownATask(t *testing.T) {
	e := newExecutor(t, Config{})
	task := newTask("t1", "sleep", "100")
	ctl, _ := e.Controller(task)
	for task.Status.State < swarm.TaskRunning {
		st, err := exec.Do(testCtx(t), task, ctl)
		if err != nil {
			t.Fatal(err)
		}
		task.Status = *st
	}
	task.DesiredState = swarm.TaskShutdown
	st, err := exec.Do(testCtx(t), task, ctl)
	if err != nil || st.State != swarm.TaskShutdown {
		t.Fatalf("do: %v %+v", err, st)
	}
	if !gone(st.PID) {
		t.Fatal("process still runs")
	}
}

func TestCloseKillsTasks(t *testing.T) {
	e, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, e, newTask("t1", "sleep", "100"))
	later, _ := e.Controller(newTask("t3", "true"))
	if err := later.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	e.Close()
	wantExit(t, c.Wait(testCtx(t)), 137, true)
	if err := later.Start(testCtx(t)); err == nil {
		t.Fatal("a task started after the executor closed")
	}
	if _, err := e.Controller(newTask("t2", "true")); err == nil {
		t.Fatal("a closed executor made a controller")
	}
}

// drive calls Do until it has nothing more to do, recording the states.
func drive(t *testing.T, task *swarm.Task, ctl exec.Controller) []swarm.TaskState {
	t.Helper()
	var states []swarm.TaskState
	for range 20 {
		st, err := exec.Do(testCtx(t), task, ctl)
		if errors.Is(err, exec.ErrTaskNoop) {
			return states
		}
		if err != nil {
			t.Fatal(err)
		}
		task.Status = *st
		states = append(states, st.State)
	}
	t.Fatalf("Do did not settle: %v", states)
	return nil
}

func equalStates(a, b []swarm.TaskState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// groupSize counts the live processes of a process group (zombies whose
// reaper does not reap are not counted).
func groupSize(pgid int) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, ent := range ents {
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			n++
		}
	}
	return n
}

// waitLine waits until line appears in the task's output.
func waitLine(t *testing.T, c *Controller, line string) {
	t.Helper()
	eventually(t, "output line "+line, func() bool {
		return contains(logs(t, c, exec.LogOptions{}).Lines(0), line)
	})
}

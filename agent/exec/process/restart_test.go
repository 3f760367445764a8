//go:build linux

package process

import (
	"bufio"
	"errors"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// TestDaemonKilled: a daemon killed with SIGKILL takes its tasks with it
// (Pdeathsig), and the next daemon reports the task lost.
func TestDaemonKilled(t *testing.T) {
	state := t.TempDir()
	// The helper makes the test's cgroup parent; remove it even if the test
	// fails before its own executor is made.
	t.Cleanup(func() { removeTestParents(t, newCgroups(testCgroupParent(t), false).parents) })
	daemon := osexec.Command(os.Args[0], "-test.run=^$")
	daemon.Env = append(os.Environ(), helperEnv+"="+state, helperCgroupEnv+"="+testCgroupParent(t))
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		daemon.Process.Kill()
		daemon.Wait()
		t.Fatalf("helper daemon: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || gone(pid) {
		daemon.Process.Kill()
		daemon.Wait()
		t.Fatalf("helper daemon said %q", line)
	}
	daemon.Process.Kill() // SIGKILL: no chance to clean up
	daemon.Wait()
	eventually(t, "the task process to die with its daemon", func() bool { return gone(pid) })

	e := newExecutor(t, Config{StateDir: state})
	ids, err := e.Adopt()
	if err != nil || len(ids) != 1 || ids[0] != "t-daemon" {
		t.Fatalf("adopt: %v %v", ids, err)
	}
	task := newTask("t-daemon", "sleep", "100")
	task.Status.State = swarm.TaskRunning
	ctl, err := e.Controller(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.Wait(testCtx(t)); !errors.Is(err, ErrProcessLost) {
		t.Fatalf("wait: %v", err)
	}
	st, err := exec.Do(testCtx(t), task, ctl)
	if err != nil || st.State != swarm.TaskFailed || st.Err != "task: process lost during daemon restart" {
		t.Fatalf("do: %v %+v", err, st)
	}
	if err := ctl.Remove(testCtx(t)); err != nil || fileExists(filepath.Join(state, "t-daemon")) {
		t.Fatalf("remove: %v", err)
	}
	if dirs := taskGroups(e, "t-daemon"); anyExists(dirs) {
		t.Fatalf("the dead daemon's task's cgroups %q are left after Remove", dirs)
	}
}

// TestThreadExitKeepsTask: Pdeathsig fires when the *thread* that forked
// the child exits. Starting a task from a goroutine whose thread then dies
// must not kill the task.
func TestThreadExitKeepsTask(t *testing.T) {
	e := newExecutor(t, Config{})
	gate := filepath.Join(t.TempDir(), "go")
	ctl, _ := e.Controller(newTask("t1", "sh", "-c", "while [ ! -e "+gate+" ]; do sleep 0.02; done"))
	if err := ctl.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	tid := make(chan int, 1)
	errc := make(chan error, 1)
	go onDyingThread(func() {
		tid <- syscall.Gettid()
		errc <- ctl.Start(testCtx(t))
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	thread := "/proc/self/task/" + strconv.Itoa(<-tid)
	eventually(t, "the starting thread to exit", func() bool { return !fileExists(thread) })
	os.WriteFile(gate, nil, 0o644)
	if err := ctl.Wait(testCtx(t)); err != nil {
		t.Fatalf("the task did not survive its starter's thread: %v", err)
	}
}

// onDyingThread runs fn on a thread that ends when fn returns. A goroutine
// that returns while locked to its thread ends the thread, except the main
// thread, which the runtime parks instead: then fn runs on another one.
func onDyingThread(fn func()) {
	runtime.LockOSThread() // never unlocked, except on the main thread
	if syscall.Gettid() != os.Getpid() {
		fn()
		return
	}
	done := make(chan struct{})
	go func() { // cannot run on the main thread: it is locked to us
		defer close(done)
		runtime.LockOSThread()
		fn()
	}()
	<-done
	runtime.UnlockOSThread()
}

func TestAdoptExited(t *testing.T) {
	state := t.TempDir()
	first := newExecutor(t, Config{StateDir: state})
	run(t, first, newTask("ok", "sh", "-c", "echo kept"))
	run(t, first, newTask("bad", "sh", "-c", "exit 3"))
	first.Close()

	second := newExecutor(t, Config{StateDir: state})
	ok, _ := second.Controller(newTask("ok", "true"))
	if err := ok.Wait(testCtx(t)); err != nil {
		t.Fatalf("adopted exit 0: %v", err)
	}
	if got := logs(t, ok.(*Controller), exec.LogOptions{}).Lines(0); !contains(got, "kept") {
		t.Fatalf("adopted logs %q", got)
	}
	if err := ok.Start(testCtx(t)); !errors.Is(err, exec.ErrTaskStarted) {
		t.Fatalf("an adopted task started again: %v", err)
	}
	bad, _ := second.Controller(newTask("bad", "true"))
	wantExit(t, bad.Wait(testCtx(t)), 3, false)
}

// TestAdoptRunning: a process a previous daemon left running is killed,
// and the task is lost; a recycled pid (other start time) is left alone.
func TestAdoptRunning(t *testing.T) {
	state := t.TempDir()
	left := leftProcess(t, state, "left", 0)
	recycled := leftProcess(t, state, "recycled", 1)

	e := newExecutor(t, Config{StateDir: state})
	ids, err := e.Adopt()
	if err != nil || len(ids) != 2 {
		t.Fatalf("adopt: %v %v", ids, err)
	}
	if err := left.Wait(); err == nil || left.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the left process was not killed: %v", err)
	}
	if gone(recycled.Process.Pid) {
		t.Fatal("a process with a recycled pid was killed")
	}
	recycled.Process.Kill()
	recycled.Wait()
	for _, id := range ids {
		ctl, _ := e.Controller(newTask(id, "true"))
		if err := ctl.Wait(testCtx(t)); !errors.Is(err, ErrProcessLost) {
			t.Fatalf("%s: %v", id, err)
		}
	}
	st, _, _ := readState(filepath.Join(state, "left"))
	if !st.Lost || !st.Exited {
		t.Fatalf("state file not updated: %+v", st)
	}
}

// leftProcess starts `sleep 100` as if a previous daemon had, writing its
// state file; skew is added to the recorded start time.
func leftProcess(t *testing.T, state string, id swarm.TaskID, skew uint64) *osexec.Cmd {
	t.Helper()
	cmd := osexec.Command("sleep", "100")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	ticks, _, err := procStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(state, string(id))
	os.MkdirAll(dir, 0o711)
	if err := writeState(dir, taskState{Instance: "previous", PID: cmd.Process.Pid, StartTicks: ticks + skew}); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestProcStart(t *testing.T) {
	ticks, zombie, err := procStart(os.Getpid())
	if err != nil || zombie || ticks == 0 {
		t.Fatalf("procStart(self): %d %v %v", ticks, zombie, err)
	}
	if !alive(os.Getpid(), ticks) || alive(os.Getpid(), ticks+1) {
		t.Fatal("alive")
	}
	if _, _, err := procStart(0x7ffffff0); err == nil {
		t.Fatal("a missing pid has a start time")
	}
}

//go:build linux

package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// drainTimeout bounds how long, after a task's process exited, its output
// is still read: a process that escaped the group may hold the pipes open.
const drainTimeout = 2 * time.Second

type phase int

const (
	phaseNew phase = iota
	phasePrepared
	phaseStarted
	phaseExited
)

// task is the executor's record of one task, shared by every controller
// of it, until Remove. Its process is owned by its supervisor goroutine.
type task struct {
	e    *Executor
	id   swarm.TaskID
	dir  string
	spec *swarm.Task
	logs *logStore

	mu       sync.Mutex
	phase    phase
	plan     *plan
	pid      int // also the process group id
	reaped   bool
	stopping bool // Shutdown or Terminate asked for the exit
	state    taskState
	result   error // how the task ended, once exited
	code     int
	cgroups  []string // the task's cgroup directories, if any
	warnings []string
	removed  bool
	done     chan struct{} // closed once exited
}

// adopt fills a record from a previous daemon's state file.
func (t *task) adopt(st taskState) {
	t.state, t.phase, t.pid, t.reaped, t.cgroups = st, phaseExited, st.PID, true, st.cgroupDirs()
	t.code, t.stopping = st.ExitCode, st.Stopped
	switch {
	case st.Lost:
		t.result = ErrProcessLost
	case st.ExitCode != 0 || st.Stopped || st.Cause != "":
		t.result = &exec.ExitError{Code: st.ExitCode, Cause: st.Cause, Stopped: st.Stopped}
	}
	close(t.done)
}

func (t *task) warn(msg string, err error) {
	t.warnings = append(t.warnings, fmt.Sprintf("%s: %v", msg, err))
	t.e.cfg.Logger.Warn("process runtime: "+msg, "task", t.id, "err", err)
}

func (t *task) prepare() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.removed:
		return errors.New("task: removed")
	case t.phase >= phaseStarted:
		return exec.ErrTaskStarted
	case t.phase == phasePrepared:
		return exec.ErrTaskPrepared
	}
	work := filepath.Join(t.dir, "work")
	p, err := makePlan(t.spec, work, t.e.root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("task: creating its directory: %w", err)
	}
	if err := os.Chmod(t.dir, 0o711); err != nil {
		return fmt.Errorf("task: creating its directory: %w", err)
	}
	if p.iso.SetUser {
		_ = os.Chown(work, int(p.iso.UID), int(p.iso.GID)) // best effort: the task may not need it
	}
	t.plan, t.phase = p, phasePrepared
	return nil
}

// start starts the process, in a cgroup of its own with the task's limits
// where the machine allows, else without (warning when it has limits).
func (t *task) start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.removed:
		return errors.New("task: removed")
	case t.phase >= phaseStarted:
		return exec.ErrTaskStarted
	case t.phase < phasePrepared:
		return errors.New("task: start before prepare")
	}
	if err := t.logs.open(); err != nil {
		return fmt.Errorf("task: opening its log: %w", err)
	}
	// On cgroup v2 every task gets a group where the machine allows: its
	// limits, and a sure way to kill all it started; on v1 only a task with
	// limits does. Only a task with limits warns when it cannot have one.
	lim := t.plan.limits
	isLimited := limited(lim)
	cg, err := t.e.cgroups.create(t.id, lim)
	if err != nil && isLimited {
		t.warn("running without resource limits", err)
	}
	pid, err := t.spawn(cg)
	var initErr *initError // the isolation failed: no use trying again without the cgroup
	if err != nil && cg != nil {
		if isLimited && !errors.As(err, &initErr) {
			t.warn("running without resource limits", fmt.Errorf("starting in cgroup: %w", err))
		}
		cg.started()
		cg.remove()
		cg = nil
		if initErr == nil {
			pid, err = t.spawn(nil)
		}
	}
	if err != nil {
		t.logs.finish()
		return fmt.Errorf("task: starting %s: %w", t.plan.argv[0], err)
	}
	t.pid, t.phase = pid, phaseStarted
	if cg != nil {
		if err := cg.join(pid); err != nil {
			t.warn("running without resource limits", err)
		}
		t.cgroups = cg.dirs
	}
	ticks, _, _ := procStart(pid)
	t.state = taskState{Instance: t.e.instance, PID: pid, StartTicks: ticks, StartedAt: time.Now().UTC(), Cgroups: t.cgroups}
	if err := writeState(t.dir, t.state); err != nil {
		t.warn("writing task state", err)
	}
	return nil
}

// spawn starts the process from a new supervisor goroutine and returns its
// pid once it runs; t.mu is held.
func (t *task) spawn(cg *taskCgroup) (int, error) {
	if err := t.e.addSupervisor(); err != nil {
		return 0, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.e.supervisors.Done()
		return 0, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		t.e.supervisors.Done()
		return 0, err
	}
	fd := -1
	if cg != nil {
		fd = cg.fd
	}
	p := t.plan
	cmd := &osexec.Cmd{Path: p.path, Args: p.argv, Env: p.env, Dir: p.dir, Stdout: outW, Stderr: errW,
		SysProcAttr: sysProcAttr(fd)}
	var init *initPipes
	if p.iso.needsInit() {
		if init, err = newInitPipes(); err != nil {
			outR.Close()
			outW.Close()
			errR.Close()
			errW.Close()
			t.e.supervisors.Done()
			return 0, err
		}
		// The init enters the directory itself, before it changes user.
		cmd.Path, cmd.Args, cmd.Env, cmd.Dir = "/proc/self/exe", []string{initArg0}, []string{}, "/"
		cmd.ExtraFiles = []*os.File{init.cfgR, init.statusW}
		if p.iso.NewNS {
			cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNS
		}
	}
	started := make(chan error, 1)
	go t.supervise(cmd, [2]*os.File{outR, errR}, cg, init, started)
	if err := <-started; err != nil {
		return 0, err
	}
	return cmd.Process.Pid, nil
}

// supervise starts the task's process and stays with it until it has
// exited and its output is stored.
//
// NOTE(process): the process is started with Pdeathsig, so the kernel kills
// it when its parent dies. On Linux the "parent" is the thread that forked
// it, not the daemon process: if that OS thread exits while the daemon
// lives, the task is killed for nothing. Go moves goroutines between
// threads and ends idle threads, so the fork is done from this goroutine
// locked to its thread (runtime.LockOSThread, never unlocked): no other
// goroutine runs on the thread, and the runtime does not end it while the
// goroutine lives. The goroutine lives until the process has exited and
// been reaped, so its thread outlives the process; when it returns, the
// locked thread is ended with it (the main thread is parked instead),
// which no longer matters. This costs one OS thread per running task,
// mostly asleep in waitid (Go allows 10,000 threads by default). When the
// daemon dies, every such thread dies with it and the kernel kills the
// tasks. TestThreadExitKeepsTask checks the scheme, TestDaemonKilled the
// kill.
//
// Pdeathsig covers the task's own process only. What that process starts
// stays in its process group (and cgroup), which is killed when the
// process exits, as everything in a container dies with its init. A setuid
// program clears Pdeathsig; Adopt kills what a dead daemon left behind.
//
// On cgroup v1 the thread joins the task's groups for the fork (see
// enterThread), which must not be done from the main thread: a supervisor
// that finds itself there hands over to a new one, and keeps the main
// thread locked until that one has locked its own thread, so that the new
// one cannot run there.
func (t *task) supervise(cmd *osexec.Cmd, readers [2]*os.File, cg *taskCgroup, init *initPipes, started chan<- error) {
	defer t.e.supervisors.Done()
	runtime.LockOSThread()
	if cg.movesThread() && syscall.Gettid() == os.Getpid() {
		t.e.supervisors.Add(1) // safe: our own count keeps Close waiting
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			t.supervise(cmd, readers, cg, init, started)
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	leave := cg.enterThread()
	err := cmd.Start()
	leave()
	cmd.Stdout.(*os.File).Close()
	cmd.Stderr.(*os.File).Close()
	if init != nil {
		if err == nil {
			err = t.initHandshake(cmd, init)
		}
		init.close()
	}
	if err != nil {
		readers[0].Close()
		readers[1].Close()
		started <- err
		return
	}
	cg.started()
	started <- nil

	var copiers sync.WaitGroup
	for i, stream := range []exec.LogStream{exec.Stdout, exec.Stderr} {
		copiers.Go(func() { t.logs.copyLines(readers[i], stream, t.logWriteFailed) })
	}
	pid := cmd.Process.Pid
	if err := waitExited(pid); err != nil {
		t.e.cfg.Logger.Warn("process runtime: waitid", "task", t.id, "err", err)
	}
	t.mu.Lock()
	// The process is a zombie: its group id cannot have been reused yet.
	_ = killGroup(pid, syscall.SIGKILL)
	if cg != nil {
		cg.kill()
	}
	_ = cmd.Wait() // reap
	t.reaped = true
	stopping := t.stopping
	t.mu.Unlock()

	result, code := t.outcome(cmd.ProcessState, cg, stopping)
	drain(&copiers, readers)
	t.logs.finish()
	t.exited(result, code)
}

// initHandshake waits for the task init to exec the task's command; if it
// could not, the init is killed if need be and reaped, and the error says
// why.
func (t *task) initHandshake(cmd *osexec.Cmd, init *initPipes) error {
	err := init.handshake(t.plan.iso)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	return err
}

// outcome is how the process ended, as Wait reports it.
func (t *task) outcome(ps *os.ProcessState, cg *taskCgroup, stopping bool) (error, int) {
	ws, _ := ps.Sys().(syscall.WaitStatus)
	code := exitCode(ws)
	if code == 0 && !stopping {
		return nil, 0
	}
	ee := &exec.ExitError{Code: code, Stopped: stopping}
	if cg != nil && cg.oomKilled(ws, stopping) {
		ee.Cause = fmt.Sprintf("OOM killed: the task went over its memory limit of %d bytes", t.plan.limits.MemoryBytes)
	}
	return ee, code
}

// drain waits for the output copiers to reach EOF, or closes their pipes
// after drainTimeout (something outside the group still holds them).
func drain(copiers *sync.WaitGroup, readers [2]*os.File) {
	done := make(chan struct{})
	go func() { copiers.Wait(); close(done) }()
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
	readers[0].Close() // unblocks a pending read
	readers[1].Close()
	<-done
}

func (t *task) logWriteFailed(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.warn("output is no longer kept", err)
}

// exited records how the task ended and wakes its waiters.
func (t *task) exited(result error, code int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.result, t.code, t.phase = result, code, phaseExited
	t.state.Exited, t.state.ExitCode, t.state.Stopped = true, code, t.stopping
	var ee *exec.ExitError
	if errors.As(result, &ee) {
		t.state.Cause = ee.Cause
	}
	if !t.removed {
		if err := writeState(t.dir, t.state); err != nil {
			t.warn("writing task state", err)
		}
	}
	close(t.done)
}

// signal sends sig to the task's process group while its process runs;
// stop marks the exit as asked for. It reports whether the process runs.
func (t *task) signal(sig syscall.Signal, stop bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase != phaseStarted || t.reaped {
		return false
	}
	if stop {
		t.stopping = true
	}
	if err := killGroup(t.pid, sig); err != nil {
		t.warn("signalling the task", err)
	}
	return true
}

// running reports whether the process was started and its exit is not
// fully recorded yet.
func (t *task) running() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phase == phaseStarted
}

func (t *task) wait(ctx context.Context) error {
	t.mu.Lock()
	ph := t.phase
	t.mu.Unlock()
	if ph < phaseStarted {
		return errors.New("task: wait before start")
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result
}

// waitDone waits for the exit to be recorded.
func (t *task) waitDone(ctx context.Context) error {
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *task) shutdown(ctx context.Context) error {
	t.mu.Lock()
	var sig syscall.Signal
	var grace time.Duration
	if t.plan != nil {
		sig, grace = t.plan.stopSignal, t.plan.grace
	}
	t.mu.Unlock()
	if !t.running() {
		return nil
	}
	t.signal(sig, true)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
		t.signal(syscall.SIGKILL, true) // do not leave it half stopped
		return ctx.Err()
	}
	t.signal(syscall.SIGKILL, true)
	return t.waitDone(ctx)
}

func (t *task) terminate(ctx context.Context) error {
	if !t.running() {
		return nil
	}
	t.signal(syscall.SIGKILL, true)
	return t.waitDone(ctx)
}

// remove terminates the task and deletes its files and cgroup.
func (t *task) remove(ctx context.Context) error {
	if err := t.terminate(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	t.removed = true
	cgs := t.cgroups
	t.mu.Unlock()
	var errs []error
	for _, dir := range cgs {
		errs = append(errs, removeCgroup(dir))
	}
	if err := os.RemoveAll(t.dir); err != nil {
		errs = append(errs, fmt.Errorf("task: removing its files: %w", err))
	}
	t.e.forget(t.id)
	return errors.Join(errs...)
}

func (t *task) status() swarm.TaskStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := swarm.TaskStatus{ContainerID: string(t.id), PID: t.pid}
	if t.phase == phaseExited {
		st.ExitCode = t.code
	}
	return st
}

//go:build linux

package process

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// ErrProcessLost is what Wait returns for a task whose process was started
// by a previous daemon and is gone (or had to be killed) without a record
// of how it ended. The agent reports such a task as failed.
var ErrProcessLost = errors.New("task: process lost during daemon restart")

// Executor runs tasks as child processes of the daemon. It is safe for
// concurrent use.
type Executor struct {
	cfg      Config
	instance string // this daemon's mark on the state files it writes
	cgroups  *cgroups
	root     bool // the daemon runs as root: tasks may have another user, mounts, capabilities

	mu          sync.Mutex
	tasks       map[swarm.TaskID]*task // until Remove
	closed      bool
	supervisors sync.WaitGroup // one per running process
}

var _ exec.Executor = (*Executor)(nil)

// New returns an executor keeping its tasks under cfg.StateDir. It picks
// the machine's cgroup layout (v2 with the memory and cpu controllers, else
// the v1 memory and cpu hierarchies); having neither is not an error:
// CgroupError says why limits are off.
func New(cfg Config) (*Executor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// 0711: a task running as another user must reach its work directory.
	if err := os.MkdirAll(cfg.StateDir, 0o711); err != nil {
		return nil, fmt.Errorf("process runtime: state directory: %w", err)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	e := &Executor{cfg: cfg, instance: hex.EncodeToString(id[:]), tasks: map[swarm.TaskID]*task{}, root: os.Geteuid() == 0}
	e.cgroups = newCgroups(cfg.CgroupParent, cfg.DisableCgroups)
	if e.cgroups.err != nil {
		cfg.Logger.Info("process runtime: tasks run without memory and cpu limits", "reason", e.cgroups.err)
	}
	return e, nil
}

// CgroupError is nil when tasks' memory and CPU limits are enforced with
// cgroups (v2 or v1, see CgroupVersion), and otherwise says why they are
// not (for `info`).
func (e *Executor) CgroupError() error { return e.cgroups.err }

// CgroupVersion is the cgroup version that enforces tasks' limits, 1 or 2;
// 0 when they are not enforced (see CgroupError).
func (e *Executor) CgroupVersion() int { return int(e.cgroups.version) }

// Controller returns a controller for t. The first call for a task whose
// state a previous daemon left in StateDir adopts it (see Adopt): its
// process, if any is still running, is killed, and Wait reports how the
// task ended or ErrProcessLost.
func (e *Executor) Controller(t *swarm.Task) (exec.Controller, error) {
	if t == nil || !validID(t.ID) {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "process runtime: invalid task id")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("process runtime: executor closed")
	}
	rec, ok := e.tasks[t.ID]
	if !ok {
		var err error
		if rec, err = e.load(t.Copy()); err != nil {
			return nil, err
		}
		e.tasks[t.ID] = rec
	}
	return &Controller{t: rec}, nil
}

// Adopt looks at the tasks a previous daemon left in StateDir. A task
// whose process was started is adopted as in Controller (a process still
// running is killed: with Pdeathsig it should not be, but a setuid program
// or a process that left its group escapes it). Adopt returns the IDs of
// every task directory found, adopted or never started, so the agent can
// report them and Remove those it no longer has. Call it once, at start.
func (e *Executor) Adopt() ([]swarm.TaskID, error) {
	entries, err := os.ReadDir(e.cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("process runtime: %w", err)
	}
	var ids []swarm.TaskID
	for _, ent := range entries {
		id := swarm.TaskID(ent.Name())
		if !ent.IsDir() || !validID(id) {
			continue
		}
		e.mu.Lock()
		_, known := e.tasks[id]
		if !known {
			if _, ok, _ := readState(e.taskDir(id)); ok {
				if rec, err := e.load(&swarm.Task{ID: id}); err == nil {
					e.tasks[id] = rec
				}
			}
		}
		e.mu.Unlock()
		if !known {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Close kills the processes still running and waits for their supervisors.
// Their state files record them as stopped. Controllers stop working.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	tasks := make([]*task, 0, len(e.tasks))
	for _, t := range e.tasks {
		tasks = append(tasks, t)
	}
	e.mu.Unlock()
	for _, t := range tasks {
		t.signal(syscall.SIGKILL, true)
	}
	e.supervisors.Wait()
	return nil
}

// addSupervisor counts a supervisor about to start, unless the executor is
// closed (Close waits for the supervisors counted).
func (e *Executor) addSupervisor() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("process runtime: executor closed")
	}
	e.supervisors.Add(1)
	return nil
}

func (e *Executor) taskDir(id swarm.TaskID) string { return filepath.Join(e.cfg.StateDir, string(id)) }

func (e *Executor) forget(id swarm.TaskID) {
	e.mu.Lock()
	delete(e.tasks, id)
	e.mu.Unlock()
}

// load makes the record of a task not seen by this executor: a fresh one,
// or one adopted from a previous daemon's state file. e.mu is held.
func (e *Executor) load(t *swarm.Task) (*task, error) {
	dir := e.taskDir(t.ID)
	rec := &task{e: e, id: t.ID, dir: dir, spec: t, done: make(chan struct{})}
	st, ok, err := readState(dir)
	if err != nil {
		e.cfg.Logger.Warn("process runtime: unreadable task state; the task is considered lost", "task", t.ID, "err", err)
		st, ok = taskState{Lost: true, Exited: true}, true
	}
	if !ok {
		rec.logs = newLogStore(dir, e.cfg.LogMaxBytes)
		return rec, nil
	}
	if !st.Exited && st.Instance != e.instance {
		st = e.reclaim(t.ID, st)
		if err := writeState(dir, st); err != nil {
			e.cfg.Logger.Warn("process runtime: writing task state", "task", t.ID, "err", err)
		}
	}
	rec.logs = openStatic(dir, e.cfg.LogMaxBytes)
	rec.adopt(st)
	return rec, nil
}

// reclaim deals with a process a previous daemon started and did not see
// exit: if it still runs (same pid and start time), it is killed with its
// group; either way the task is lost.
func (e *Executor) reclaim(id swarm.TaskID, st taskState) taskState {
	if st.PID > 0 && alive(st.PID, st.StartTicks) {
		e.cfg.Logger.Warn("process runtime: killing a task process left by a previous daemon", "task", id, "pid", st.PID)
		if err := killGroup(st.PID, syscall.SIGKILL); err != nil {
			e.cfg.Logger.Warn("process runtime: killing a left process", "task", id, "err", err)
		}
		for _, dir := range st.cgroupDirs() {
			killCgroup(dir)
		}
	}
	st.Exited, st.Lost = true, true
	return st
}

// validID accepts task IDs that are a plain file name.
func validID(id swarm.TaskID) bool {
	s := string(id)
	return s != "" && s != "." && s != ".." && len(s) < 256 && !strings.ContainsAny(s, "/\\\x00")
}

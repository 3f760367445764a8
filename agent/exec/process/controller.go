//go:build linux

package process

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// Controller controls one task of the process runtime. Besides
// exec.Controller it implements exec.ControllerLogs and
// exec.ControllerStatuser. Several controllers may exist for one task
// (one per Executor.Controller call); they share the task's record.
type Controller struct {
	t      *task
	closed atomic.Bool
}

var (
	_ exec.Controller         = (*Controller)(nil)
	_ exec.ControllerLogs     = (*Controller)(nil)
	_ exec.ControllerStatuser = (*Controller)(nil)
)

// Prepare resolves the spec on this node: the command (Command then Args;
// refused with InvalidArgument when there is none), found on the task's
// PATH; the working directory (the spec's, which must exist, or a scratch
// directory of the task's); the user; the stop signal and grace period.
func (c *Controller) Prepare(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.prepare()
}

// Start starts the task's process in its own process group, with the
// spec's environment (plus the daemon's PATH), directory and user, its
// output kept in the task's log, and in a cgroup with its limits when the
// machine allows (see Warnings otherwise).
func (c *Controller) Start(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.start()
}

// Wait waits for the process to exit and for its output to be stored. It
// returns nil for exit status 0, an *exec.ExitError otherwise (exit code,
// or 128 plus the signal that killed it; "OOM killed" when the kernel ran
// out of the task's memory limit; exec.ErrTaskStopped when Shutdown or
// Terminate stopped it), or ErrProcessLost for a task a previous daemon
// started and nobody saw end.
func (c *Controller) Wait(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.wait(ctx)
}

// Shutdown sends the stop signal to the task's process group, then SIGKILL
// after the grace period (or at once if ctx ends first), and returns once
// the process has exited.
func (c *Controller) Shutdown(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.shutdown(ctx)
}

// Terminate sends SIGKILL to the task's process group and returns once the
// process has exited.
func (c *Controller) Terminate(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.terminate(ctx)
}

// Remove terminates the task if it runs and deletes its directory (state,
// output, scratch directory) and cgroup. The executor forgets the task.
func (c *Controller) Remove(ctx context.Context) error {
	if c.closed.Load() {
		return exec.ErrControllerClosed
	}
	return c.t.remove(ctx)
}

// Close releases this controller; the task is not affected.
func (c *Controller) Close() error {
	c.closed.Store(true)
	return nil
}

// Status returns the process's PID, the ContainerID (the task ID: the
// process runtime has no other name for it) and, once exited, the exit
// code.
func (c *Controller) Status() swarm.TaskStatus { return c.t.status() }

// Logs writes the task's kept output (see exec.ControllerLogs). It works
// after the task exited, and for a task adopted after a restart.
func (c *Controller) Logs(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error {
	return c.t.logs.logs(ctx, opts, w)
}

// Warnings returns what did not go as the spec asked without failing the
// task, e.g. limits not enforced for lack of usable cgroups.
func (c *Controller) Warnings() []string {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	return slices.Clone(c.t.warnings)
}

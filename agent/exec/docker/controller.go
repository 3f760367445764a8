package docker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// killTimeout bounds the kill sent after a Shutdown cut short by its ctx.
const killTimeout = 10 * time.Second

// Controller controls one task of the docker runtime: one container. Besides
// exec.Controller it implements exec.ControllerLogs and
// exec.ControllerStatuser.
type Controller struct {
	e      *Executor
	rec    *record
	task   *swarm.Task // a copy, never modified
	name   string      // the container's name
	closed atomic.Bool
}

var (
	_ exec.Controller         = (*Controller)(nil)
	_ exec.ControllerLogs     = (*Controller)(nil)
	_ exec.ControllerStatuser = (*Controller)(nil)
)

func (c *Controller) usable() error {
	if c.closed.Load() || c.e.isClosed() {
		return exec.ErrControllerClosed
	}
	return nil
}

// Prepare checks the image is in the engine and creates the task's
// container (see the package documentation for what it gets). A missing
// image rejects the task: "No such image: NAME". A container already
// there (made by an earlier controller) makes it return
// exec.ErrTaskPrepared, or exec.ErrTaskStarted once started.
func (c *Controller) Prepare(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.existing(ctx); err != nil {
		return err
	}
	if err := c.checkImage(ctx); err != nil {
		return err
	}
	cfg, host := containerConfig(c.task, c.e.cfg.NodeID)
	res, err := c.e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: c.name})
	if cerrdefs.IsConflict(err) {
		// Created meanwhile by another controller of the task, or a
		// container of another owner holds the name.
		if err := c.existing(ctx); err != nil {
			return err
		}
	}
	if err != nil {
		return engineError(ctx, "create container failed", err)
	}
	c.rec.setContainer(res.ID)
	for _, w := range res.Warnings {
		c.e.cfg.Logger.Warn("docker runtime: engine warning", "task", c.task.ID, "container", shortID(res.ID), "warning", w)
	}
	return nil
}

// existing returns ErrTaskPrepared or ErrTaskStarted when the task's
// container exists, nil when it does not.
func (c *Controller) existing(ctx context.Context) error {
	ctr, ok, err := c.find(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		return nil
	case started(ctr):
		return exec.ErrTaskStarted
	}
	return exec.ErrTaskPrepared
}

// checkImage rejects the task when its image is not in the engine: this
// runtime never pulls.
func (c *Controller) checkImage(ctx context.Context) error {
	image := c.task.Spec.Container.Image
	_, err := c.e.cli.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return swarm.Errorf(swarm.ErrFailedPrecondition, "No such image: %s (the docker runtime does not pull images: the image must be present in this node's Docker engine)", image)
	}
	if err != nil {
		return engineError(ctx, fmt.Sprintf("inspecting image %s", image), err)
	}
	return nil
}

// Start starts the container and records its PID. A task whose container
// is gone (ErrContainerLost) cannot start: its controller was made after a
// daemon restart removed the container.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	ctr, err := c.mustFind(ctx)
	if err != nil {
		return err
	}
	if started(ctr) {
		return exec.ErrTaskStarted
	}
	if _, err := c.e.cli.ContainerStart(ctx, ctr.ID, client.ContainerStartOptions{}); err != nil {
		return engineError(ctx, "starting container failed", err)
	}
	if ctr, ok, err := c.find(ctx); err == nil && ok && ctr.State != nil {
		c.rec.mu.Lock()
		c.rec.pid = ctr.State.Pid
		c.rec.mu.Unlock()
	}
	return nil
}

// Wait waits for the container to stop and reports how it ended: nil for
// exit 0, an *exec.ExitError otherwise ("task: non-zero exit (N)", with
// the OOM killer named when it struck; matching exec.ErrTaskStopped when
// Shutdown, Terminate or Remove stopped it), an error wrapping
// ErrContainerLost when the container is gone.
func (c *Controller) Wait(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	ctr, err := c.mustFind(ctx)
	if err != nil {
		return err
	}
	if !started(ctr) {
		return errors.New("task: wait before start")
	}
	code, err := c.waitStopped(ctx, ctr.ID)
	if err != nil {
		return err
	}
	// The inspection after the exit tells why (the OOM killer) and the
	// stop request's mark is final by now.
	var state container.State
	if after, ok, err := c.find(ctx); err == nil && ok && after.State != nil {
		state = *after.State
		code = int64(state.ExitCode)
	}
	return c.outcome(int(code), state)
}

// waitStopped blocks until container id is not running and returns its
// exit code.
func (c *Controller) waitStopped(ctx context.Context, id string) (int64, error) {
	res := c.e.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	// ctx also ends the request, so one of the channels always delivers:
	// reading them rather than ctx.Done leaves no goroutine of the client
	// blocked on a send.
	select {
	case r := <-res.Result:
		if r.Error != nil && r.Error.Message != "" {
			return 0, fmt.Errorf("waiting for container: %s", r.Error.Message)
		}
		return r.StatusCode, nil
	case err := <-res.Error:
		switch {
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case cerrdefs.IsNotFound(err):
			return 0, fmt.Errorf("%w: container %s was removed", ErrContainerLost, c.name)
		}
		// The stream broke, e.g. the engine restarted: try again later.
		return 0, exec.MakeTemporary(fmt.Errorf("waiting for container: %w", err))
	}
}

// outcome is how the container ended, as Wait reports it; it records the
// exit code for Status.
func (c *Controller) outcome(code int, st container.State) error {
	c.rec.mu.Lock()
	c.rec.exitCode = code
	stopping := c.rec.stopping
	c.rec.mu.Unlock()
	if code == 0 && !stopping {
		return nil
	}
	ee := &exec.ExitError{Code: code, Stopped: stopping}
	switch {
	case st.OOMKilled:
		ee.Cause = fmt.Sprintf("OOM killed: the task went over its memory limit of %d bytes", c.task.Spec.Resources.Limits.MemoryBytes)
	case st.Error != "":
		ee.Cause = st.Error
	}
	return ee
}

// Shutdown stops the container the engine's way: its stop signal, then
// SIGKILL after the spec's grace period. It returns once the container has
// stopped; when ctx ends first, the container is killed at once. It is a
// no-op for a task that never started or already stopped.
func (c *Controller) Shutdown(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	ctr, ok, err := c.find(ctx)
	if err != nil || !ok || !running(ctr) {
		return err
	}
	c.rec.markStopping()
	timeout := graceSeconds(stopGrace(c.task.Spec.Container))
	_, err = c.e.cli.ContainerStop(ctx, ctr.ID, client.ContainerStopOptions{Timeout: &timeout})
	if ctx.Err() != nil {
		c.killDetached(ctr.ID) // do not leave it half stopped
		return ctx.Err()
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return engineError(ctx, "stopping container failed", err)
	}
	return nil
}

// killDetached kills a container after the caller's ctx ended.
func (c *Controller) killDetached(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), killTimeout)
	defer cancel()
	if _, err := c.e.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		c.e.cfg.Logger.Warn("docker runtime: killing a container", "task", c.task.ID, "container", shortID(id), "err", err)
	}
}

// Terminate kills the container (SIGKILL) and returns once it has stopped.
func (c *Controller) Terminate(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	ctr, ok, err := c.find(ctx)
	if err != nil || !ok || !running(ctr) {
		return err
	}
	c.rec.markStopping()
	_, err = c.e.cli.ContainerKill(ctx, ctr.ID, client.ContainerKillOptions{Signal: "SIGKILL"})
	// Conflict: it stopped meanwhile ("is not running").
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return engineError(ctx, "killing container failed", err)
	}
	if _, err := c.waitStopped(ctx, ctr.ID); err != nil && !errors.Is(err, ErrContainerLost) {
		return err
	}
	return nil
}

// Remove removes the container, killing it if it runs, and its anonymous
// volumes. The executor forgets the task.
func (c *Controller) Remove(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	ctr, ok, err := c.find(ctx)
	if err != nil {
		return err
	}
	if ok {
		c.rec.markStopping()
		_, err = c.e.cli.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return engineError(ctx, "removing container failed", err)
	}
	c.e.forget(c.task.ID)
	return nil
}

// Close releases this controller; the container is not affected.
func (c *Controller) Close() error {
	c.closed.Store(true)
	return nil
}

// Status returns what is known of the container without asking the engine:
// its ID once created or found, its PID once started, its exit code once
// Wait saw it exit.
func (c *Controller) Status() swarm.TaskStatus {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	return swarm.TaskStatus{ContainerID: c.rec.containerID, PID: c.rec.pid, ExitCode: c.rec.exitCode}
}

// ref is how the engine is asked for the container: its ID once known,
// else its name.
func (c *Controller) ref() string {
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	if c.rec.containerID != "" {
		return c.rec.containerID
	}
	return c.name
}

// find inspects the task's container; ok is false when there is none. A
// container of that name that is not this task's is an error.
func (c *Controller) find(ctx context.Context) (container.InspectResponse, bool, error) {
	res, err := c.e.cli.ContainerInspect(ctx, c.ref(), client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return container.InspectResponse{}, false, nil
	}
	if err != nil {
		return container.InspectResponse{}, false, engineError(ctx, "inspecting container", err)
	}
	ctr := res.Container
	if ctr.Config == nil || ctr.Config.Labels[LabelTaskID] != string(c.task.ID) {
		return container.InspectResponse{}, false, swarm.Errorf(swarm.ErrAlreadyExists,
			"Conflict. The container name %q is already in use by container %q, which is not this task's", "/"+c.name, ctr.ID)
	}
	c.rec.setContainer(ctr.ID)
	return ctr, true, nil
}

// mustFind is find for methods that need the container.
func (c *Controller) mustFind(ctx context.Context) (container.InspectResponse, error) {
	ctr, ok, err := c.find(ctx)
	if err == nil && !ok {
		err = fmt.Errorf("%w: container %s no longer exists (a restarted daemon removes the containers of its previous run)", ErrContainerLost, c.name)
	}
	return ctr, err
}

// started reports whether the container was ever started.
func started(ctr container.InspectResponse) bool {
	return ctr.State != nil && ctr.State.Status != container.StateCreated
}

// running reports whether the container's process may still run.
func running(ctr container.InspectResponse) bool {
	if ctr.State == nil {
		return false
	}
	return ctr.State.Running || ctr.State.Paused || ctr.State.Restarting
}

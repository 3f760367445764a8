package exec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// Status messages Do writes, as Docker shows them in `service ps` and
// `inspect`.
const (
	MsgAccepted  = "accepted"
	MsgPreparing = "preparing"
	MsgPrepared  = "prepared"
	MsgStarting  = "starting"
	MsgStarted   = "started"
	MsgFinished  = "finished"
	MsgShutdown  = "shutdown"
	MsgResolve   = "resolving controller failed"
)

// Resolve asks the executor for t's controller and returns the status to
// report. On success a task not yet accepted becomes accepted. When the
// executor refuses, the task is rejected if it never started, failed if it
// did, and the error is returned with a status that must still be reported.
func Resolve(ctx context.Context, t *swarm.Task, e Executor) (Controller, *swarm.TaskStatus, error) {
	status := t.Status
	ctlr, err := e.Controller(t)
	switch {
	case err != nil && t.Status.State.Terminal():
		// nothing to report: the task is over
	case err != nil:
		status.Message, status.Err = MsgResolve, err.Error()
		status.State = swarm.TaskFailed
		if t.Status.State < swarm.TaskStarting {
			status.State = swarm.TaskRejected
		}
	case t.Status.State < swarm.TaskAccepted:
		status.State, status.Message, status.Err = swarm.TaskAccepted, MsgAccepted, ""
	}
	stamp(&status, &t.Status)
	return ctlr, &status, err
}

// Do moves task t one step towards its desired state, calling ctlr at most
// once, and returns the status to report. It never loops: the caller
// reports the status, puts it on the task and calls Do again (see the table
// in the package documentation).
//
// Errors of the controller are written on the returned status, not
// returned. Do returns ErrTaskNoop when there is nothing to do until the
// task changes, and ErrTaskRetry when the step should be tried again (the
// status must still be reported). ctx bounds the controller call; Wait
// blocks until the task exits or ctx ends.
//
// Do panics if it would move the task's state backwards: that is a bug.
func Do(ctx context.Context, t *swarm.Task, ctlr Controller) (*swarm.TaskStatus, error) {
	s := &step{ctx: ctx, task: t, ctlr: ctlr, status: t.Status}
	st, err := s.run()
	s.finish()
	return st, err
}

// step is one call of Do: the task as given and the status being built.
type step struct {
	ctx    context.Context
	task   *swarm.Task
	ctlr   Controller
	status swarm.TaskStatus
	called bool // a controller method was called
}

// call calls one controller method.
func (s *step) call(method func(context.Context) error) error {
	s.called = true
	return method(s.ctx)
}

func (s *step) run() (*swarm.TaskStatus, error) {
	state, desired := s.status.State, s.task.DesiredState
	if state.Terminal() {
		return s.noop()
	}

	// A task that should stop: one never started stops without the
	// controller; a started one is shut down.
	if desired > swarm.TaskRunning {
		if state < swarm.TaskStarting {
			return s.advance(swarm.TaskShutdown, MsgShutdown)
		}
		if err := s.call(s.ctlr.Shutdown); err != nil {
			return s.fatal(err)
		}
		return s.advance(swarm.TaskShutdown, MsgShutdown)
	}
	if state > desired {
		return s.noop() // got ahead of what is wanted: wait
	}

	// These steps may reach one state past the desired one (e.g. desired
	// ready: preparing → ready).
	switch state {
	case swarm.TaskPreparing:
		if err := s.call(s.ctlr.Prepare); err != nil && !errors.Is(err, ErrTaskPrepared) && !errors.Is(err, ErrTaskStarted) {
			return s.fatal(err)
		}
		return s.advance(swarm.TaskReady, MsgPrepared)
	case swarm.TaskStarting:
		if err := s.call(s.ctlr.Start); err != nil && !errors.Is(err, ErrTaskStarted) {
			return s.fatal(err)
		}
		return s.advance(swarm.TaskRunning, MsgStarted)
	case swarm.TaskRunning:
		if err := s.call(s.ctlr.Wait); err != nil {
			return s.fatal(err)
		}
		return s.advance(swarm.TaskComplete, MsgFinished)
	}

	// The others only move while the desired state is ahead.
	if state >= desired {
		return s.noop()
	}
	switch state {
	case swarm.TaskNew, swarm.TaskAllocated, swarm.TaskPending, swarm.TaskAssigned:
		return s.advance(swarm.TaskAccepted, MsgAccepted)
	case swarm.TaskAccepted:
		return s.advance(swarm.TaskPreparing, MsgPreparing)
	case swarm.TaskReady:
		return s.advance(swarm.TaskStarting, MsgStarting)
	}
	return s.noop()
}

func (s *step) noop() (*swarm.TaskStatus, error) { return &s.status, ErrTaskNoop }

// advance moves the status to next, panicking on a backward move.
func (s *step) advance(next swarm.TaskState, msg string) (*swarm.TaskStatus, error) {
	if !swarm.CanTransition(s.status.State, next) {
		panic(fmt.Sprintf("exec: task %s cannot move from %s to %s", s.task.ID, s.status.State, next))
	}
	s.status.State, s.status.Message, s.status.Err = next, msg, ""
	return &s.status, nil
}

// fatal records a controller error: ctx's end and temporary errors are
// retried; a task stopped on request is shut down; any other error rejects
// a task that has not started and fails one that has.
func (s *step) fatal(err error) (*swarm.TaskStatus, error) {
	var ec ExitCoder
	if errors.As(err, &ec) {
		s.status.ExitCode = ec.ExitCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &s.status, ErrTaskRetry
	}
	if errors.Is(err, ErrTaskStopped) && s.status.State >= swarm.TaskStarting {
		return s.advance(swarm.TaskShutdown, MsgShutdown)
	}
	s.status.Err = err.Error()
	if IsTemporary(err) {
		return &s.status, ErrTaskRetry
	}
	next := swarm.TaskFailed
	if s.status.State < swarm.TaskStarting {
		next = swarm.TaskRejected
	}
	if !swarm.CanTransition(s.status.State, next) {
		panic(fmt.Sprintf("exec: task %s cannot move from %s to %s", s.task.ID, s.status.State, next))
	}
	s.status.State = next
	return &s.status, nil
}

// finish copies the runtime's details onto the status after a controller
// call that left the task running or beyond (not rejected), and stamps the time of a
// change.
func (s *step) finish() {
	if st, ok := s.ctlr.(ControllerStatuser); ok && s.called && s.status.State >= swarm.TaskRunning && s.status.State != swarm.TaskRejected {
		rt := st.Status()
		if rt.PID != 0 {
			s.status.PID = rt.PID
		}
		if rt.ContainerID != "" {
			s.status.ContainerID = rt.ContainerID
		}
		if rt.ExitCode != 0 && s.status.ExitCode == 0 {
			s.status.ExitCode = rt.ExitCode
		}
	}
	stamp(&s.status, &s.task.Status)
}

// stamp sets the status's time when it differs from the old one.
func stamp(next, old *swarm.TaskStatus) {
	a, b := *next, *old
	a.Timestamp, b.Timestamp = time.Time{}, time.Time{}
	if a != b {
		next.Timestamp = time.Now()
	}
}

package exec

import (
	"errors"
	"fmt"
)

var (
	// ErrTaskNoop is returned by Do when calling it again with the same task
	// would change nothing: wait for the task (its desired state) to change.
	ErrTaskNoop = errors.New("exec: nothing to do for the task")

	// ErrTaskRetry is returned by Do when the step failed for a reason that
	// may pass (a temporary error, or ctx ended). The returned status must
	// still be reported; call Do again later.
	ErrTaskRetry = errors.New("exec: retry the task step")

	// ErrTaskPrepared may be returned by Prepare for a task already prepared.
	ErrTaskPrepared = errors.New("exec: task already prepared")

	// ErrTaskStarted may be returned by Prepare or Start for a task already
	// started; Do treats it as success.
	ErrTaskStarted = errors.New("exec: task already started")

	// ErrTaskStopped is matched (errors.Is) by the error Wait returns when
	// the task exited because Shutdown or Terminate stopped it. Do reports
	// such a task as shut down, not failed.
	ErrTaskStopped = errors.New("task: stopped on request")

	// ErrControllerClosed is returned by a controller's methods after Close.
	ErrControllerClosed = errors.New("exec: controller closed")
)

// ExitCoder is implemented by errors that carry a task's exit code.
type ExitCoder interface {
	ExitCode() int
}

// ExitError reports how a task's process ended when it did not exit 0 or
// was stopped. Its message is Docker's: "task: non-zero exit (N)".
type ExitError struct {
	// Code is the exit status, or 128 plus the signal number for a process
	// killed by a signal (as a shell and Docker report it).
	Code int
	// Cause explains an unusual end, e.g. the kernel's OOM killer.
	Cause string
	// Stopped is set when the task ended because it was asked to stop.
	Stopped bool
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("task: non-zero exit (%d)", e.Code)
	if e.Stopped {
		msg = fmt.Sprintf("%v (exit %d)", ErrTaskStopped, e.Code)
	}
	if e.Cause != "" {
		msg += ": " + e.Cause
	}
	return msg
}

// ExitCode returns the exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Is makes errors.Is(err, ErrTaskStopped) hold for a stopped task.
func (e *ExitError) Is(target error) bool { return e.Stopped && target == ErrTaskStopped }

// Temporary is implemented by errors that say whether retrying may succeed.
// Do retries a step whose error is temporary instead of failing the task.
type Temporary interface {
	Temporary() bool
}

// MakeTemporary marks err as temporary.
func MakeTemporary(err error) error {
	if err == nil || IsTemporary(err) {
		return err
	}
	return temporary{err}
}

type temporary struct{ error }

func (t temporary) Unwrap() error   { return t.error }
func (t temporary) Temporary() bool { return true }

// IsTemporary reports whether err, or an error it wraps, is temporary.
func IsTemporary(err error) bool {
	var t Temporary
	return errors.As(err, &t) && t.Temporary()
}

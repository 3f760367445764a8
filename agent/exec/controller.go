package exec

import (
	"context"
	"strconv"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// Executor makes controllers for tasks. A node has one, chosen by its
// --runtime flag. Controller may be called from any goroutine.
type Executor interface {
	// Controller returns the controller of t. An error means the node
	// cannot run the task at all (Resolve reports it as rejected). The
	// executor reads t only during the call; the caller keeps ownership.
	Controller(t *swarm.Task) (Controller, error)
}

// Controller runs one task on a node.
//
// Its methods are called by one goroutine, the task's manager in the agent,
// one at a time, except Wait: Wait blocks until the task exits and may run
// on another goroutine concurrently with Shutdown, Terminate and Status.
// Every method honours ctx; a method cut short by ctx returns ctx's error
// and may be called again.
type Controller interface {
	// Prepare checks the task can run on this node and creates what Start
	// needs, so Start is quick. An error here means the task is rejected.
	// A second call returns nil or ErrTaskPrepared; a call for a task
	// already started returns ErrTaskStarted.
	Prepare(ctx context.Context) error

	// Start starts the task and returns once it runs. A second call returns
	// ErrTaskStarted.
	Start(ctx context.Context) error

	// Wait blocks until the task exits. It returns nil when the task exited
	// with status 0 and otherwise an error that implements ExitCoder when
	// an exit code is known (*ExitError, "task: non-zero exit (N)"). A task
	// that exited because Shutdown or Terminate stopped it returns an error
	// for which errors.Is(err, ErrTaskStopped) holds.
	Wait(ctx context.Context) error

	// Shutdown stops the task gracefully: the spec's stop signal (SIGTERM
	// by default), then a kill after the spec's grace period (10s by
	// default). It returns once the task has exited; it is a no-op for a
	// task that never started or already exited.
	Shutdown(ctx context.Context) error

	// Terminate kills the task at once and returns once it has exited.
	Terminate(ctx context.Context) error

	// Remove forgets the task: its files, logs and any node resource it
	// held. A running task is terminated first.
	Remove(ctx context.Context) error

	// Close releases this controller. It does not stop the task; a new
	// controller for the same task may be asked for later.
	Close() error
}

// ControllerStatuser is implemented by controllers that know runtime details
// of their task. Do copies them onto the status it returns once the task has
// reached starting.
type ControllerStatuser interface {
	// Status returns the runtime fields of the task's status: PID,
	// ContainerID and, once exited, ExitCode. Other fields are left zero.
	// It is safe to call from any goroutine.
	Status() swarm.TaskStatus
}

// ControllerLogs is implemented by controllers that keep their task's
// output, for `service logs`.
type ControllerLogs interface {
	// Logs writes the task's log messages to w, oldest first, and returns
	// when they are written (or, with Follow, once the task has exited and
	// every line was written, or ctx ends). It may be called from any
	// goroutine, concurrently with the controller's other methods, and
	// after the task exited.
	Logs(ctx context.Context, opts LogOptions, w LogWriter) error
}

// LogStream says which output of a task a line came from.
type LogStream int

// Log streams.
const (
	Stdout LogStream = iota + 1
	Stderr
)

func (s LogStream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "stream(" + strconv.Itoa(int(s)) + ")"
}

// ParseLogStream reads a stream's name ("stdout" or "stderr").
func ParseLogStream(name string) (LogStream, error) {
	switch name {
	case "stdout":
		return Stdout, nil
	case "stderr":
		return Stderr, nil
	}
	return 0, swarm.Errorf(swarm.ErrInvalidArgument, "invalid log stream %q", name)
}

// NoTail is a LogOptions.Tail that asks for no past lines at all (with
// Follow: only the lines written from now on).
const NoTail = -1

// LogOptions select the messages a Logs call writes.
type LogOptions struct {
	// Follow keeps writing new lines until the task exits or ctx ends.
	Follow bool
	// Tail limits the past lines written: 0 means all of them, n > 0 the
	// last n (after the Since and stream filters), NoTail none.
	Tail int
	// Since, when set, skips lines written before it.
	Since time.Time
	// Stdout and Stderr select streams; when both are false both are sent.
	Stdout, Stderr bool
}

// Wants reports whether a line of the given stream and time passes the
// stream and Since filters.
func (o LogOptions) Wants(s LogStream, t time.Time) bool {
	if o.Stdout || o.Stderr {
		if (s == Stdout && !o.Stdout) || (s == Stderr && !o.Stderr) {
			return false
		}
	}
	return o.Since.IsZero() || !t.Before(o.Since)
}

// LogMessage is one line of a task's output.
type LogMessage struct {
	Stream LogStream
	// Time is when the runtime read the line.
	Time time.Time
	// Line is the line without its trailing newline. Very long lines are
	// split into several messages. The writer may keep it.
	Line []byte
}

// LogWriter receives log messages. WriteLog is called from the goroutine
// that called Logs, one message at a time; an error stops the Logs call.
type LogWriter interface {
	WriteLog(ctx context.Context, m LogMessage) error
}

// LogWriterFunc adapts a function to LogWriter.
type LogWriterFunc func(ctx context.Context, m LogMessage) error

// WriteLog calls f.
func (f LogWriterFunc) WriteLog(ctx context.Context, m LogMessage) error { return f(ctx, m) }

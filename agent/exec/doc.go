// Package exec is the seam between the agent and a runtime: the Executor and
// Controller interfaces a runtime implements (agent/exec/process runs plain
// processes, agent/exec/docker containers), the optional abilities found by
// type assertion (ControllerLogs, ControllerStatuser), the error behaviours
// the agent acts on (ExitCoder, Temporary, ErrTaskStopped), and Do, the
// single-step reconciler that drives a task through its states.
//
// # Do, one step at a time
//
// Do looks at a task's observed state and desired state, performs at most
// one step (at most one controller call) and returns the next status. It
// never loops and never moves a state backwards (it panics if it would).
// In the table, S is the observed state, D the desired state; "stop wanted"
// means D > running (shutdown or remove).
//
//	S                        D / condition       call       next S      error / note
//	-----------------------  ------------------  ---------  ----------  ---------------------------------
//	complete..orphaned       any                 -          S           ErrTaskNoop (terminal)
//	new..ready               stop wanted         -          shutdown    never started: no call
//	starting, running        stop wanted         Shutdown   shutdown    failed if Shutdown fails
//	any                      D < S               -          S           ErrTaskNoop (ahead of desired)
//	preparing                D >= preparing      Prepare    ready       rejected (Err) on error
//	starting                 D >= starting       Start      running     failed (Err) on error
//	running                  D == running        Wait       complete    exit 0
//	running                  D == running        Wait       failed      Err "task: non-zero exit (N)", ExitCode
//	running                  D == running        Wait       shutdown    Wait's error is ErrTaskStopped
//	new..assigned            D > S               -          accepted
//	accepted                 D > S               -          preparing
//	ready                    D > S               -          starting
//	new..ready               D == S              -          S           ErrTaskNoop
//
// Whatever the step, a controller error is handled alike: an error caused by
// ctx ending, or one that is Temporary, leaves the state as it was and
// returns ErrTaskRetry (a Temporary error's text is put in Err); an
// ExitCoder's code is copied to ExitCode. After a controller call that left
// the task running or beyond, the PID and ContainerID of a
// ControllerStatuser are copied on.
// The Timestamp is set whenever the status changed.
//
// Resolve is the step before Do: it gets the controller from the executor
// and accepts the task, or rejects it (fails it if it had started) when the
// executor refuses.
//
// # Usage
//
// The agent keeps one goroutine per task (its task manager) that:
//
//  1. calls Resolve once and reports the status it returns;
//  2. loops: calls Do with the task as last reported; reports the status
//     when it changed; on ErrTaskNoop waits for the task to change (a new
//     desired state from the managers); on ErrTaskRetry waits a back-off;
//  3. cancels the ctx of a Do in progress (Wait can block for the task's
//     whole life) when the task's desired state changes, then calls Do
//     again, which shuts the task down;
//  4. calls Remove, then Close, when the managers no longer assign the task.
//
// Runtimes differ in what they can do beyond the Controller interface;
// abilities such as logs are separate interfaces checked with a type
// assertion, never added to Controller.
package exec

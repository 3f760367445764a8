// Package process is shoal's default runtime: a task's command runs on the
// host as a supervised child process of the daemon. It needs nothing but
// the OS (Linux). The image name is recorded but never pulled.
//
// What a task gets:
//
//   - argv: ContainerSpec.Command followed by Args; with no Command, Args
//     alone (so `service create alpine ping docker.com` runs `ping
//     docker.com`). A spec with neither is refused by Prepare with
//     InvalidArgument; the executable is looked up on the task's PATH.
//   - environment: ContainerSpec.Env plus the daemon's PATH (unless Env
//     sets one); working directory: ContainerSpec.Dir, which must exist, or
//     a scratch directory of the task's; user: "uid[:gid]" or names.
//   - its own process group, so the stop signal (StopSignal, default
//     SIGTERM), then SIGKILL after the grace period (StopGracePeriod,
//     default 10s), reach all it started; when its process exits the rest of
//     its group is killed, as a container's processes die with its init.
//   - death with the daemon: Pdeathsig SIGKILL, tied to a thread that lives
//     as long as the process (see task.supervise for the Go gotcha).
//   - stdout and stderr kept under StateDir/<task id>/ (output.log, rotated
//     once to output.log.1 to stay near Config.LogMaxBytes), one record per
//     line with its time and stream, served by Controller.Logs.
//   - a cgroup v2 group of its own under Config.CgroupParent, where the
//     machine has a writable cgroup v2 with the memory and cpu controllers:
//     it carries the memory and CPU limits (memory.max, no swap, cpu.max),
//     and everything in it is killed when the task's process exits.
//     Elsewhere the task runs without, and one with limits gets a warning
//     (Controller.Warnings, the log; Executor.CgroupError says why). A
//     task killed by the OOM killer fails with "OOM killed" in its error.
//
// # Daemon restarts
//
// Each task's directory holds a small state file: the pid, the process's
// start time from /proc (a pid alone may have been recycled) and, once it
// exited, how. A new daemon's executor adopts what it finds (Adopt, or the
// first Controller call for the task): a task that exited is reported as it
// ended; one whose process is gone is lost (Wait returns ErrProcessLost:
// "task: process lost during daemon restart", and the agent reports it
// failed); one whose process still runs, which Pdeathsig should prevent but
// a setuid program escapes, is killed, then lost. Adopted tasks never run
// again: the managers replace them.
package process

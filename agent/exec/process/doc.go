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
//     a scratch directory of the task's; user: "uid[:gid]" or names, with
//     the user's supplementary groups from /etc/group and the spec's Groups.
//   - the isolation its spec asks for, through Linux mechanisms (see
//     taskinit_linux.go: the daemon's binary re-executed as a small init
//     that sets it up, then execs the command): Ulimits (setrlimit);
//     CapabilityDrop and CapabilityAdd as Docker computes them from the
//     daemon's own capabilities (a root task starts with all of them, not
//     Docker's default list): the others leave the bounding set, and a
//     user other than root gets those added as ambient capabilities;
//     NoNewPrivileges (PR_SET_NO_NEW_PRIVS); ReadOnly and Mounts in a mount
//     namespace of the task's own: every mount read-only (mount_setattr,
//     Linux 5.12) but /dev and /proc (/proc/sys read-only), then bind and
//     tmpfs mounts, read-only where asked, onto targets that must exist
//     (nothing is created on the host). Sysctls are refused: tasks share
//     the host's network and IPC namespaces. A daemon that is not root
//     refuses another user, groups, --cap-add, --read-only, mounts and a
//     hard ulimit above its own, and honours --cap-drop with
//     no_new_privs. Whatever cannot be given rejects the task (Prepare, or
//     Start when the init fails), naming the field; nothing is dropped.
//   - its own process group, so the stop signal (StopSignal, default
//     SIGTERM), then SIGKILL after the grace period (StopGracePeriod,
//     default 10s), reach all it started; when its process exits the rest of
//     its group is killed, as a container's processes die with its init.
//   - death with the daemon: Pdeathsig SIGKILL, tied to a thread that lives
//     as long as the process (see task.supervise for the Go gotcha).
//   - stdout and stderr kept under StateDir/<task id>/ (output.log, rotated
//     once to output.log.1 to stay near Config.LogMaxBytes), one record per
//     line with its time and stream, served by Controller.Logs.
//   - cgroups under Config.CgroupParent ("shoal"), on the layout New finds
//     in /proc/self/mountinfo (Executor.CgroupVersion):
//     cgroup v2 with the memory and cpu controllers: a group of its own,
//     which it is born in, with its memory and CPU limits (memory.max, no
//     swap, cpu.max);
//     else the cgroup v1 memory and cpu hierarchies, mounted and writable
//     (hosts with v1, or "hybrid" with a controller-less v2 beside them):
//     a task with limits gets a group in each (memory.limit_in_bytes,
//     memory.memsw.limit_in_bytes to the same value, cpu.cfs_quota_us per
//     cpu.cfs_period_us), born in them too (see enterThread); a task
//     without limits gets none.
//     Everything in a task's groups is killed when its process exits, and
//     again when it is removed, with its groups. Where neither layout is
//     usable the task runs without, and one with limits gets a warning
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

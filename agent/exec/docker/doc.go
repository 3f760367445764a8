// Package docker is shoal's docker runtime: each task runs as a container
// in the node's local Docker Engine, driven through the Engine API. It is
// the only package of shoal that imports a Docker client (a root test,
// deps_test.go, enforces it).
//
// What a task gets:
//
//   - a container named like Swarm's, "<service>.<slot>.<task id>" (a
//     global service's task: "<service>.<node id>.<task id>"), created by
//     Prepare and started by Start. Images are never pulled: the image must
//     already be in the engine, or Prepare rejects the task with "No such
//     image: NAME" and a hint.
//   - ContainerSpec.Command as the entrypoint when set (else the image's),
//     Args as its arguments (else the image's), Env, Dir, User, Hostname,
//     TTY, StopSignal and StopGracePeriod (default 10s, rounded up to whole
//     seconds, the engine's unit), the memory and CPU limits and the memory
//     reservation; and the isolation asked for, as the engine gives it:
//     Groups (GroupAdd), ReadOnly (ReadonlyRootfs), CapabilityAdd and
//     CapabilityDrop, Ulimits, Sysctls, bind and tmpfs Mounts (read-only
//     where asked) and NoNewPrivileges (security option
//     "no-new-privileges"). The engine refuses what it cannot do, and
//     Prepare rejects the task with its error.
//   - the spec's labels plus swarmkit's: com.docker.swarm.task,
//     com.docker.swarm.task.id, .task.name, .service.id, .service.name and
//     .node.id, and com.shoal.runtime=docker, which marks the containers
//     this runtime manages (Adopt touches no other).
//   - no restart policy: shoal replaces a task that ended with a new task
//     (and a new container); the engine never restarts one by itself.
//
// Wait reports how the container ended in Docker's words: nil for exit 0,
// "task: non-zero exit (N)" otherwise (with "OOM killed" when the kernel
// killed it over its memory limit), and an error matching
// exec.ErrTaskStopped when Shutdown, Terminate or Remove stopped it.
// Shutdown is the engine's stop (the stop signal, then SIGKILL after the
// grace period); Terminate a kill; Remove a forced remove. Logs reads the
// container's logs (the engine's log driver must be readable: json-file,
// local or journald) and splits them into lines with the engine's
// timestamps.
//
// The engine keeps the state: a controller finds its container by name, so
// several controllers of one task, or a new one after Close, agree. The
// executor only remembers, until Remove, which tasks it was asked about and
// which of them Shutdown, Terminate or Remove stopped.
//
// An engine that cannot be reached makes the step fail with a temporary
// error (exec.Do retries it); the engine's other errors are final.
//
// # Daemon restarts
//
// Containers outlive the shoal daemon that started them. Adopt, called once
// at start before the agent asks for any controller, settles what a
// previous daemon left: it kills and removes every container labelled with
// this node's ID (and the runtime's mark) whose task this executor was not
// asked about. That is every container of the previous run, so no task's
// container keeps running unseen: when the agent then asks for a task the
// previous daemon had started, its controller finds no container and Wait
// returns ErrContainerLost, so the task is reported failed and the managers
// put a new task in its slot. A slot therefore never has two containers
// running on this node, and a restarted daemon never resumes an old one
// next to its replacement. The price is that a daemon restart restarts
// every task of the node; adopting a running container instead would need
// the managers' word that its task is still wanted, which the agent only
// learns after Adopt.
package docker

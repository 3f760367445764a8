package docker

import (
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/shoal-project/shoal/swarm"
)

// Labels on every container of this runtime: swarmkit's names, so tools
// that know Swarm's containers recognise them, and shoal's mark.
const (
	LabelTask        = "com.docker.swarm.task" // empty value: a marker, as in swarmkit
	LabelTaskID      = "com.docker.swarm.task.id"
	LabelTaskName    = "com.docker.swarm.task.name"
	LabelServiceID   = "com.docker.swarm.service.id"
	LabelServiceName = "com.docker.swarm.service.name"
	LabelNodeID      = "com.docker.swarm.node.id"
	// LabelRuntime marks the containers this runtime manages; its value is
	// RuntimeName.
	LabelRuntime = "com.shoal.runtime"
	RuntimeName  = "docker"
)

// defaultGrace is the stop grace period of a spec without one, as in Docker.
const defaultGrace = 10 * time.Second

// ContainerName is the name of t's container, as Swarm names it:
// "<service>.<slot>.<task id>", or "<service>.<node id>.<task id>" for a
// global service's task (slot 0). It is also the task.name label.
func ContainerName(t *swarm.Task) string {
	svc := t.ServiceName
	if svc == "" {
		svc = "task"
	}
	if t.Slot > 0 {
		return fmt.Sprintf("%s.%d.%s", svc, t.Slot, t.ID)
	}
	return fmt.Sprintf("%s.%s.%s", svc, t.NodeID, t.ID)
}

// stopGrace is the spec's stop grace period, or the default.
func stopGrace(c swarm.ContainerSpec) time.Duration {
	if c.StopGracePeriod == nil {
		return defaultGrace
	}
	return max(*c.StopGracePeriod, 0)
}

// graceSeconds is a grace period in the engine's unit, whole seconds,
// rounded up so a task gets at least what its spec asks.
func graceSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// containerLabels are the spec's labels with the runtime's on top (a spec
// cannot fake them).
func containerLabels(t *swarm.Task, node swarm.NodeID) map[string]string {
	l := maps.Clone(t.Spec.Container.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelTask] = ""
	l[LabelTaskID] = string(t.ID)
	l[LabelTaskName] = ContainerName(t)
	l[LabelServiceID] = string(t.ServiceID)
	l[LabelServiceName] = t.ServiceName
	l[LabelNodeID] = string(node)
	l[LabelRuntime] = RuntimeName
	return l
}

// containerConfig is what ContainerCreate gets for t on node.
func containerConfig(t *swarm.Task, node swarm.NodeID) (*container.Config, *container.HostConfig) {
	c := t.Spec.Container
	timeout := graceSeconds(stopGrace(c))
	cfg := &container.Config{
		Image:       c.Image,
		Env:         slices.Clone(c.Env),
		WorkingDir:  c.Dir,
		User:        c.User,
		Hostname:    c.Hostname,
		Tty:         c.TTY,
		Labels:      containerLabels(t, node),
		StopSignal:  c.StopSignal,
		StopTimeout: &timeout,
	}
	if len(c.Command) > 0 {
		cfg.Entrypoint = slices.Clone(c.Command)
	}
	if len(c.Args) > 0 {
		cfg.Cmd = slices.Clone(c.Args)
	}
	r := t.Spec.Resources
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			Memory:            r.Limits.MemoryBytes,
			NanoCPUs:          r.Limits.NanoCPUs,
			MemoryReservation: r.Reservations.MemoryBytes,
			Ulimits:           ulimits(c.Ulimits),
		},
		GroupAdd:       slices.Clone(c.Groups),
		ReadonlyRootfs: c.ReadOnly,
		CapAdd:         slices.Clone(c.CapabilityAdd),
		CapDrop:        slices.Clone(c.CapabilityDrop),
		Sysctls:        maps.Clone(c.Sysctls),
		Mounts:         mounts(c.Mounts),
	}
	if c.NoNewPrivileges {
		host.SecurityOpt = []string{"no-new-privileges"}
	}
	return cfg, host
}

func ulimits(us []swarm.Ulimit) []*container.Ulimit {
	var out []*container.Ulimit
	for _, u := range us {
		out = append(out, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	return out
}

// mounts are the spec's bind and tmpfs mounts as the engine takes them.
func mounts(ms []swarm.Mount) []mount.Mount {
	var out []mount.Mount
	for _, m := range ms {
		w := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if m.Type == swarm.MountTmpfs && (m.TmpfsSize != 0 || m.TmpfsMode != 0) {
			w.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSize, Mode: os.FileMode(m.TmpfsMode)}
		}
		out = append(out, w)
	}
	return out
}

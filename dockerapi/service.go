package dockerapi

import (
	"maps"
	"slices"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// ServiceStatus counts a service's tasks for GET /services?status=true. It
// mirrors the control API's count so that this package need not import it.
type ServiceStatus struct {
	RunningTasks   uint64
	DesiredTasks   uint64
	CompletedTasks uint64
}

// vipEndpoint is the endpoint spec every service shows. shoal has no service
// networking; "vip" is Docker's default and what the CLI itself sends.
func vipEndpoint() *wire.EndpointSpec {
	return &wire.EndpointSpec{Mode: wire.ResolutionModeVIP}
}

// ServiceFromDomain is a service as GET /services shows it. status is the
// task count, given only for GET /services?status=true (nil leaves
// ServiceStatus out, as moby does for GET /services/{id}). UpdateStatus is
// absent until an update has rolled tasks: the CLI's progress display reads
// a stale one as "done".
func ServiceFromDomain(s *swarm.Service, status *ServiceStatus) wire.Service {
	out := wire.Service{
		ID:           string(s.ID),
		Meta:         MetaFromDomain(s.Meta),
		Spec:         ServiceSpecToWire(s.Spec),
		Endpoint:     wire.Endpoint{Spec: *vipEndpoint()},
		UpdateStatus: updateStatusToWire(s.UpdateStatus),
	}
	if s.PreviousSpec != nil {
		prev := ServiceSpecToWire(*s.PreviousSpec)
		out.PreviousSpec = &prev
	}
	if status != nil {
		out.ServiceStatus = &wire.ServiceStatus{
			RunningTasks:   status.RunningTasks,
			DesiredTasks:   status.DesiredTasks,
			CompletedTasks: status.CompletedTasks,
		}
	}
	return out
}

func updateStatusToWire(u *swarm.UpdateStatus) *wire.UpdateStatus {
	if u == nil {
		return nil
	}
	return &wire.UpdateStatus{
		State:       wire.UpdateState(u.State),
		StartedAt:   timeToWire(u.StartedAt),
		CompletedAt: timeToWire(u.CompletedAt),
		Message:     u.Message,
	}
}

// timeToWire is a time in UTC, or nil for the zero time, for the optional
// time fields.
func timeToWire(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ServiceSpecToWire gives a service spec in wire form: Labels as a map
// (Docker shows {} rather than null), a non-nil ContainerSpec, the replica
// count always explicit, and a "vip" EndpointSpec. Optional parts that are
// unset (resources, restart policy, placement, update and rollback configs)
// are left out. ServiceSpecFromWire reads it back to an equal spec.
func ServiceSpecToWire(s swarm.ServiceSpec) wire.ServiceSpec {
	task := TaskSpecToWire(s.Task)
	task.Runtime = wire.RuntimeContainer // Docker reports it on services (not on tasks)
	return wire.ServiceSpec{
		Annotations:    wire.Annotations{Name: s.Name, Labels: labelsToWire(s.Labels)},
		TaskTemplate:   task,
		Mode:           modeToWire(s.Mode, s.Replicas),
		UpdateConfig:   updateConfigToWire(s.Update),
		RollbackConfig: updateConfigToWire(s.Rollback),
		EndpointSpec:   vipEndpoint(),
	}
}

func modeToWire(m swarm.ServiceMode, replicas uint64) wire.ServiceMode {
	if m == swarm.ModeGlobal {
		return wire.ServiceMode{Global: &wire.GlobalService{}}
	}
	return wire.ServiceMode{Replicated: &wire.ReplicatedService{Replicas: &replicas}}
}

func updateConfigToWire(u *swarm.UpdateConfig) *wire.UpdateConfig {
	if u == nil {
		return nil
	}
	return &wire.UpdateConfig{
		Parallelism:     u.Parallelism,
		Delay:           u.Delay,
		FailureAction:   wire.FailureAction(u.FailureAction),
		Monitor:         u.Monitor,
		MaxFailureRatio: u.MaxFailureRatio,
		Order:           wire.UpdateOrder(u.Order),
	}
}

// TaskSpecToWire gives a task template in wire form. ContainerSpec is never
// nil: `docker service ps` dereferences it.
func TaskSpecToWire(t swarm.TaskSpec) wire.TaskSpec {
	out := wire.TaskSpec{
		ContainerSpec: containerSpecToWire(t.Container),
		ForceUpdate:   t.ForceUpdate,
	}
	if t.Resources != (swarm.ResourceRequirements{}) {
		out.Resources = resourcesToWire(t.Resources)
	}
	if rp := t.RestartPolicy; rp != (swarm.RestartPolicy{}) {
		out.RestartPolicy = &wire.RestartPolicy{
			Condition:   wire.RestartPolicyCondition(rp.Condition),
			Delay:       clonePtr(rp.Delay),
			MaxAttempts: clonePtr(rp.MaxAttempts),
			Window:      clonePtr(rp.Window),
		}
	}
	if p := t.Placement; len(p.Constraints) > 0 || p.MaxReplicas != 0 {
		out.Placement = &wire.Placement{Constraints: slices.Clone(p.Constraints), MaxReplicas: p.MaxReplicas}
	}
	return out
}

func containerSpecToWire(c swarm.ContainerSpec) *wire.ContainerSpec {
	return &wire.ContainerSpec{
		Isolation:       "default", // as Docker fills it in; meaningful on Windows only
		Image:           c.Image,
		Labels:          maps.Clone(c.Labels),
		Command:         slices.Clone(c.Command),
		Args:            slices.Clone(c.Args),
		Env:             slices.Clone(c.Env),
		Dir:             c.Dir,
		User:            c.User,
		Hostname:        c.Hostname,
		TTY:             c.TTY,
		StopSignal:      c.StopSignal,
		StopGracePeriod: clonePtr(c.StopGracePeriod),
		Groups:          slices.Clone(c.Groups),
		ReadOnly:        c.ReadOnly,
		Mounts:          mountsToWire(c.Mounts),
		CapabilityAdd:   slices.Clone(c.CapabilityAdd),
		CapabilityDrop:  slices.Clone(c.CapabilityDrop),
		Ulimits:         ulimitsToWire(c.Ulimits),
		Sysctls:         maps.Clone(c.Sysctls),
		Privileges:      privilegesToWire(c.NoNewPrivileges),
	}
}

func resourcesToWire(r swarm.ResourceRequirements) *wire.ResourceRequirements {
	out := &wire.ResourceRequirements{}
	if l := r.Limits; l != (swarm.Resources{}) {
		out.Limits = &wire.Limit{NanoCPUs: l.NanoCPUs, MemoryBytes: l.MemoryBytes}
	}
	if v := r.Reservations; v != (swarm.Resources{}) {
		out.Reservations = &wire.Resources{NanoCPUs: v.NanoCPUs, MemoryBytes: v.MemoryBytes}
	}
	return out
}

// ServiceSpecFromWire reads the body of POST /services/create and
// /services/{id}/update. Beyond conversion it does only what Docker's daemon
// does before swarmkit sees a spec: a replicated mode without a count (or no
// mode at all) means one replica. It refuses what shoal's model cannot hold:
// job modes, and a template without a container spec.
//
// Empty maps and slices become nil, so that a spec the docker CLI reads and
// echoes back unchanged compares equal to the stored one. The isolation
// fields (user and groups, read-only root, mounts, capabilities, ulimits,
// sysctls, privileges) are kept or refused, never dropped; other wire
// fields shoal does not support (secrets, networks, published ports,
// platforms, health checks...) are ignored.
func ServiceSpecFromWire(w wire.ServiceSpec) (swarm.ServiceSpec, error) {
	mode, replicas, err := modeFromWire(w.Mode)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	task, err := TaskSpecFromWire(w.TaskTemplate)
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	return swarm.ServiceSpec{
		Name:     w.Name,
		Labels:   nilIfEmptyMap(w.Labels),
		Task:     task,
		Mode:     mode,
		Replicas: replicas,
		Update:   updateConfigFromWire(w.UpdateConfig),
		Rollback: updateConfigFromWire(w.RollbackConfig),
	}, nil
}

// modeFromWire follows moby's order: jobs, then global, then replicated
// (the default, with one replica unless told).
func modeFromWire(m wire.ServiceMode) (swarm.ServiceMode, uint64, error) {
	switch {
	case m.ReplicatedJob != nil || m.GlobalJob != nil:
		return "", 0, swarm.Errorf(swarm.ErrInvalidArgument, "job services are not supported")
	case m.Global != nil:
		return swarm.ModeGlobal, 0, nil
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		return swarm.ModeReplicated, *m.Replicated.Replicas, nil
	}
	return swarm.ModeReplicated, 1, nil
}

func updateConfigFromWire(u *wire.UpdateConfig) *swarm.UpdateConfig {
	if u == nil {
		return nil
	}
	return &swarm.UpdateConfig{
		Parallelism:     u.Parallelism,
		Delay:           u.Delay,
		FailureAction:   swarm.FailureAction(u.FailureAction),
		Monitor:         u.Monitor,
		MaxFailureRatio: u.MaxFailureRatio,
		Order:           swarm.UpdateOrder(u.Order),
	}
}

// TaskSpecFromWire reads a task template. It fails if the template has no
// container spec, or asks for a runtime other than containers (plugins,
// network attachments).
func TaskSpecFromWire(w wire.TaskSpec) (swarm.TaskSpec, error) {
	if w.Runtime != "" && w.Runtime != wire.RuntimeContainer {
		return swarm.TaskSpec{}, swarm.Errorf(swarm.ErrInvalidArgument, "TaskSpec: runtime %q is not supported", w.Runtime)
	}
	if w.ContainerSpec == nil {
		return swarm.TaskSpec{}, swarm.Errorf(swarm.ErrInvalidArgument, "ContainerSpec: container spec must be provided")
	}
	c, err := containerSpecFromWire(*w.ContainerSpec)
	if err != nil {
		return swarm.TaskSpec{}, err
	}
	out := swarm.TaskSpec{Container: c, ForceUpdate: w.ForceUpdate}
	if r := w.Resources; r != nil {
		out.Resources = resourcesFromWire(*r)
	}
	if rp := w.RestartPolicy; rp != nil {
		out.RestartPolicy = swarm.RestartPolicy{
			Condition:   swarm.RestartCondition(rp.Condition),
			Delay:       clonePtr(rp.Delay),
			MaxAttempts: clonePtr(rp.MaxAttempts),
			Window:      clonePtr(rp.Window),
		}
	}
	if p := w.Placement; p != nil {
		out.Placement = swarm.Placement{Constraints: nilIfEmpty(p.Constraints), MaxReplicas: p.MaxReplicas}
	}
	return out, nil
}

// containerSpecFromWire reads a container spec. The isolation fields are
// kept, or refused when shoal cannot give them (see isolation.go): never
// dropped.
func containerSpecFromWire(c wire.ContainerSpec) (swarm.ContainerSpec, error) {
	out := swarm.ContainerSpec{
		Image:           c.Image,
		Labels:          nilIfEmptyMap(c.Labels),
		Command:         nilIfEmpty(c.Command),
		Args:            nilIfEmpty(c.Args),
		Env:             nilIfEmpty(c.Env),
		Dir:             c.Dir,
		User:            c.User,
		Hostname:        c.Hostname,
		TTY:             c.TTY,
		StopSignal:      c.StopSignal,
		StopGracePeriod: clonePtr(c.StopGracePeriod),
	}
	if err := isolationFromWire(c, &out); err != nil {
		return swarm.ContainerSpec{}, err
	}
	return out, nil
}

func resourcesFromWire(r wire.ResourceRequirements) swarm.ResourceRequirements {
	var out swarm.ResourceRequirements
	if l := r.Limits; l != nil {
		out.Limits = swarm.Resources{NanoCPUs: l.NanoCPUs, MemoryBytes: l.MemoryBytes}
	}
	if v := r.Reservations; v != nil {
		out.Reservations = swarm.Resources{NanoCPUs: v.NanoCPUs, MemoryBytes: v.MemoryBytes}
	}
	return out
}

// nilIfEmpty copies s, or returns nil if it is empty.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// nilIfEmptyMap copies m, or returns nil if it is empty.
func nilIfEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// clonePtr returns a pointer to a copy of *p, or nil, so that wire and
// domain values never share memory.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

package swarm

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// ServiceID identifies a service.
type ServiceID string

// ContainerSpec is what a task runs.
type ContainerSpec struct {
	Image   string            `json:",omitzero"`
	Labels  map[string]string `json:",omitzero"`
	Command []string          `json:",omitzero"`
	Args    []string          `json:",omitzero"`
	Env     []string          `json:",omitzero"`
	Dir     string            `json:",omitzero"`
	User    string            `json:",omitzero"`
	// Hostname may hold templates like {{.Node.Hostname}}.
	Hostname        string         `json:",omitzero"`
	TTY             bool           `json:",omitzero"`
	StopSignal      string         `json:",omitzero"`
	StopGracePeriod *time.Duration `json:",omitzero"`
	// The isolation a user asks for (see security.go); a runtime that
	// cannot give a part of it rejects the task rather than run it without.
	Groups          []string          `json:",omitzero"` // supplementary groups besides the user's
	ReadOnly        bool              `json:",omitzero"` // the root filesystem read-only
	Mounts          []Mount           `json:",omitzero"`
	CapabilityAdd   []string          `json:",omitzero"`
	CapabilityDrop  []string          `json:",omitzero"`
	Ulimits         []Ulimit          `json:",omitzero"`
	Sysctls         map[string]string `json:",omitzero"`
	NoNewPrivileges bool              `json:",omitzero"`
}

// Resources are CPU (in billionths of a CPU) and memory (bytes).
type Resources struct {
	NanoCPUs    int64 `json:",omitzero"`
	MemoryBytes int64 `json:",omitzero"`
}

// ResourceRequirements bounds what a task may use and reserves what it needs.
type ResourceRequirements struct {
	Limits       Resources `json:",omitzero"`
	Reservations Resources `json:",omitzero"`
}

// RestartCondition says when a finished task is replaced.
type RestartCondition string

// Restart conditions, as in Docker.
const (
	RestartNone      RestartCondition = "none"
	RestartOnFailure RestartCondition = "on-failure"
	RestartAny       RestartCondition = "any"
)

// RestartPolicy is how a slot's task is replaced after it ends.
type RestartPolicy struct {
	Condition   RestartCondition `json:",omitzero"`
	Delay       *time.Duration   `json:",omitzero"`
	MaxAttempts *uint64          `json:",omitzero"`
	Window      *time.Duration   `json:",omitzero"`
}

// Placement constrains where tasks may run.
type Placement struct {
	Constraints []string `json:",omitzero"`
	// MaxReplicas caps tasks of the service per node (0: no cap).
	MaxReplicas uint64 `json:",omitzero"`
}

// TaskSpec is the template of a service's tasks.
type TaskSpec struct {
	Container     ContainerSpec        `json:",omitzero"`
	Resources     ResourceRequirements `json:",omitzero"`
	RestartPolicy RestartPolicy        `json:",omitzero"`
	Placement     Placement            `json:",omitzero"`
	// ForceUpdate changes to make a rolling update without another change.
	ForceUpdate uint64 `json:",omitzero"`
}

// Copy returns a deep copy.
func (t TaskSpec) Copy() TaskSpec {
	c := t
	c.Container.Labels = maps.Clone(t.Container.Labels)
	c.Container.Command = slices.Clone(t.Container.Command)
	c.Container.Args = slices.Clone(t.Container.Args)
	c.Container.Env = slices.Clone(t.Container.Env)
	c.Container.Groups = slices.Clone(t.Container.Groups)
	c.Container.Mounts = slices.Clone(t.Container.Mounts)
	c.Container.CapabilityAdd = slices.Clone(t.Container.CapabilityAdd)
	c.Container.CapabilityDrop = slices.Clone(t.Container.CapabilityDrop)
	c.Container.Ulimits = slices.Clone(t.Container.Ulimits)
	c.Container.Sysctls = maps.Clone(t.Container.Sysctls)
	c.Placement.Constraints = slices.Clone(t.Placement.Constraints)
	return c
}

// ServiceMode says how many tasks a service has.
type ServiceMode string

// Service modes.
const (
	ModeReplicated ServiceMode = "replicated"
	ModeGlobal     ServiceMode = "global"
)

// FailureAction is what a rolling update does when a task fails.
type FailureAction string

// Failure actions, as in Docker.
const (
	FailurePause    FailureAction = "pause"
	FailureContinue FailureAction = "continue"
	FailureRollback FailureAction = "rollback"
)

// UpdateOrder says whether a slot's new task starts before or after its old
// one stops.
type UpdateOrder string

// Update orders.
const (
	StopFirst  UpdateOrder = "stop-first"
	StartFirst UpdateOrder = "start-first"
)

// UpdateConfig is how a rolling update (or rollback) proceeds.
type UpdateConfig struct {
	Parallelism     uint64        `json:",omitzero"`
	Delay           time.Duration `json:",omitzero"`
	FailureAction   FailureAction `json:",omitzero"`
	Monitor         time.Duration `json:",omitzero"`
	MaxFailureRatio float32       `json:",omitzero"`
	Order           UpdateOrder   `json:",omitzero"`
}

// ServiceSpec is what a user asks for.
type ServiceSpec struct {
	Name     string            `json:",omitzero"`
	Labels   map[string]string `json:",omitzero"`
	Task     TaskSpec          `json:",omitzero"`
	Mode     ServiceMode       `json:",omitzero"`
	Replicas uint64            `json:",omitzero"` // replicated mode only
	Update   *UpdateConfig     `json:",omitzero"`
	Rollback *UpdateConfig     `json:",omitzero"`
}

// Copy returns a deep copy.
func (s ServiceSpec) Copy() ServiceSpec {
	c := s
	c.Labels = maps.Clone(s.Labels)
	c.Task = s.Task.Copy()
	if s.Update != nil {
		u := *s.Update
		c.Update = &u
	}
	if s.Rollback != nil {
		r := *s.Rollback
		c.Rollback = &r
	}
	return c
}

// Validate checks a service spec sent by a user, in Docker's words where
// Docker has them.
func (s ServiceSpec) Validate() error {
	if s.Name == "" {
		return Errorf(ErrInvalidArgument, "name must be specified")
	}
	if !validName(s.Name) {
		return Errorf(ErrInvalidArgument, "name must be valid as a DNS name component")
	}
	if s.Task.Container.Image == "" {
		return Errorf(ErrInvalidArgument, "ContainerSpec: image reference must be provided")
	}
	switch s.Mode {
	case ModeReplicated, ModeGlobal:
	default:
		return Errorf(ErrInvalidArgument, "unknown service mode %q", s.Mode)
	}
	if s.Mode == ModeGlobal && s.Replicas != 0 {
		return Errorf(ErrInvalidArgument, "replicas can only be used with replicated mode")
	}
	switch s.Task.RestartPolicy.Condition {
	case "", RestartNone, RestartOnFailure, RestartAny:
	default:
		return Errorf(ErrInvalidArgument, "invalid restart condition %q", s.Task.RestartPolicy.Condition)
	}
	if err := s.checkLimits(); err != nil {
		return err
	}
	if err := s.Task.checkTemplates(s.Labels); err != nil {
		return err
	}
	for _, u := range []*UpdateConfig{s.Update, s.Rollback} {
		if err := u.validate(); err != nil {
			return err
		}
	}
	r := s.Task.Resources
	if r.Limits.NanoCPUs < 0 || r.Limits.MemoryBytes < 0 || r.Reservations.NanoCPUs < 0 || r.Reservations.MemoryBytes < 0 {
		return Errorf(ErrInvalidArgument, "resources must not be negative")
	}
	return nil
}

func (u *UpdateConfig) validate() error {
	if u == nil {
		return nil
	}
	switch u.FailureAction {
	case "", FailurePause, FailureContinue, FailureRollback:
	default:
		return Errorf(ErrInvalidArgument, "invalid update failure action %q", u.FailureAction)
	}
	switch u.Order {
	case "", StopFirst, StartFirst:
	default:
		return Errorf(ErrInvalidArgument, "invalid update order %q", u.Order)
	}
	if u.Delay < 0 || u.Monitor < 0 || u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1 {
		return Errorf(ErrInvalidArgument, "invalid update config: delay and monitor must be non-negative, max failure ratio between 0 and 1")
	}
	return nil
}

// validName is Docker's rule for service names: a DNS label of letters,
// digits and dashes, not starting or ending with a dash.
func validName(n string) bool {
	if len(n) > 63 || strings.HasPrefix(n, "-") || strings.HasSuffix(n, "-") {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// UpdateState is the progress of a rolling update.
type UpdateState string

// Update states, as in Docker.
const (
	UpdateUpdating          UpdateState = "updating"
	UpdatePaused            UpdateState = "paused"
	UpdateCompleted         UpdateState = "completed"
	UpdateRollbackStarted   UpdateState = "rollback_started"
	UpdateRollbackPaused    UpdateState = "rollback_paused"
	UpdateRollbackCompleted UpdateState = "rollback_completed"
)

// UpdateStatus reports a rolling update; nil when none ran since the last
// change of spec.
type UpdateStatus struct {
	State       UpdateState `json:",omitzero"`
	StartedAt   time.Time   `json:",omitzero"`
	CompletedAt time.Time   `json:",omitzero"`
	Message     string      `json:",omitzero"`
}

// Service is a replicated or global workload.
type Service struct {
	ID ServiceID `json:",omitzero"`
	Meta
	Spec         ServiceSpec  `json:",omitzero"`
	PreviousSpec *ServiceSpec `json:",omitzero"`
	// SpecVersion is the version at which Spec.Task (what tasks run) last
	// changed; tasks made from it are up to date.
	SpecVersion  uint64        `json:",omitzero"`
	UpdateStatus *UpdateStatus `json:",omitzero"`
}

// Copy returns a deep copy that may be modified.
func (s *Service) Copy() *Service {
	c := *s
	c.Spec = s.Spec.Copy()
	if s.PreviousSpec != nil {
		p := s.PreviousSpec.Copy()
		c.PreviousSpec = &p
	}
	if s.UpdateStatus != nil {
		u := *s.UpdateStatus
		c.UpdateStatus = &u
	}
	return &c
}

package swarm

import (
	"fmt"
	"time"
)

// TaskID identifies a task: one run of one slot of a service.
type TaskID string

// TaskState is where a task is in its life. States are ordered: a task only
// ever moves forward (CanTransition), so comparing states answers "has it
// got that far yet".
type TaskState int

// Task states, in order, with Docker's names.
const (
	TaskNew TaskState = iota
	TaskAllocated
	TaskPending   // waiting for the scheduler to find a node
	TaskAssigned  // placed on a node, not yet seen by its agent
	TaskAccepted  // the agent took it
	TaskPreparing // the runtime prepares (e.g. checks the image)
	TaskReady
	TaskStarting
	TaskRunning
	TaskComplete // exited 0 (terminal)
	TaskShutdown // stopped because it was asked to (terminal)
	TaskFailed   // exited non-zero or could not start (terminal)
	TaskRejected // the node could not run it at all (terminal)
	TaskRemove   // desired only: remove the task once shut down
	TaskOrphaned // its node was lost for too long (terminal)
)

var taskStateNames = [...]string{
	"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready",
	"starting", "running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned",
}

func (s TaskState) String() string {
	if s >= 0 && int(s) < len(taskStateNames) {
		return taskStateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// ParseTaskState reads a state's name.
func ParseTaskState(name string) (TaskState, error) {
	for i, n := range taskStateNames {
		if n == name {
			return TaskState(i), nil
		}
	}
	return 0, Errorf(ErrInvalidArgument, "invalid task state %q", name)
}

// MarshalText writes the state's name (JSON and the store use it).
func (s TaskState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *TaskState) UnmarshalText(b []byte) error {
	v, err := ParseTaskState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Terminal reports whether a task in this state will never run again.
func (s TaskState) Terminal() bool { return s >= TaskComplete }

// CanTransition is the task state machine, in one place: a task's observed
// state only moves forward, and never out of a terminal state.
func CanTransition(from, to TaskState) bool {
	switch {
	case from.Terminal():
		return false
	case to == TaskRemove:
		return false // a desired state, never an observed one
	}
	return to > from
}

// TaskStatus is what is known of a task's progress.
type TaskStatus struct {
	Timestamp time.Time `json:",omitzero"`
	State     TaskState `json:",omitzero"`
	Message   string    `json:",omitzero"`
	// Err is why the task failed or was rejected.
	Err string `json:",omitzero"`
	// ExitCode and PID come from the runtime.
	ExitCode int `json:",omitzero"`
	PID      int `json:",omitzero"`
	// ContainerID identifies the task's process or container on its node.
	ContainerID string `json:",omitzero"`
}

// Task is one run of a service's slot (replicated) or of a service on a
// node (global).
type Task struct {
	ID TaskID `json:",omitzero"`
	Meta
	ServiceID ServiceID `json:",omitzero"`
	// Slot is the replica number (1..N) of a replicated service; 0 for
	// global services, whose tasks are identified by NodeID.
	Slot   int      `json:",omitzero"`
	NodeID NodeID   `json:",omitzero"`
	Spec   TaskSpec `json:",omitzero"`
	// SpecVersion is the version of the service spec the task was made
	// from; tasks of an older version are out of date.
	SpecVersion uint64 `json:",omitzero"`
	// ServiceName is kept so a task can be named without its service.
	ServiceName  string     `json:",omitzero"`
	DesiredState TaskState  `json:",omitzero"`
	Status       TaskStatus `json:",omitzero"`
}

// NewTask is a new task of service s from its current spec: for a slot
// (replicated; node empty), pending until the scheduler places it, or for
// a node (global; slot 0), assigned to that node at once.
func (s *Service) NewTask(id TaskID, slot int, node NodeID, now time.Time) *Task {
	t := &Task{
		ID: id, ServiceID: s.ID, ServiceName: s.Spec.Name,
		Slot: slot, Spec: s.Spec.Task.Copy(), SpecVersion: s.SpecVersion,
		DesiredState: TaskRunning,
		Status:       TaskStatus{State: TaskPending, Timestamp: now, Message: "pending task scheduling"},
	}
	if node != "" {
		t.NodeID = node
		t.Status = TaskStatus{State: TaskAssigned, Timestamp: now, Message: "scheduler assigned task to node"}
	}
	return t
}

// Copy returns a deep copy that may be modified.
func (t *Task) Copy() *Task {
	c := *t
	c.Spec = t.Spec.Copy()
	return &c
}

// WaitsForNode reports whether the scheduler should place t: it is still
// wanted (desired running or before) and not yet assigned (new, allocated
// or pending). A task that already names a node (a global service's) is
// only checked against that node.
func (t *Task) WaitsForNode() bool {
	return t.DesiredState <= TaskRunning && t.Status.State < TaskAssigned
}

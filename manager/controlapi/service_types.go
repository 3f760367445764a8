package controlapi

import (
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// ServiceView is a service as the API shows it, with its task counts when
// asked for (GET /services?status=true).
type ServiceView struct {
	*swarm.Service
	Status *ServiceStatus
}

// ServiceStatus counts a service's tasks, as Docker's ServiceStatus does.
type ServiceStatus struct {
	RunningTasks   uint64
	DesiredTasks   uint64
	CompletedTasks uint64
}

// UpdateServiceOptions are the query parameters of a service update.
type UpdateServiceOptions struct {
	// Rollback asks to go back to the previous spec (rollback=previous).
	Rollback bool
}

// LogOptions select the log lines of a service or a task.
type LogOptions struct {
	Follow     bool
	Tail       int // < 0: all
	Since      time.Time
	Timestamps bool
	Stdout     bool
	Stderr     bool
	Details    bool
}

// LogMessage is one log line of one task.
type LogMessage struct {
	Stream    int // 1 stdout, 2 stderr
	Timestamp time.Time
	NodeID    swarm.NodeID
	ServiceID swarm.ServiceID
	TaskID    swarm.TaskID
	Line      []byte // with its trailing newline
}

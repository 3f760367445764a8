package dockerapi

import (
	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// TaskFromDomain is a task as GET /tasks shows it. States are Docker's
// lower-case names; NodeID is absent until the task is assigned; Slot is 0
// (absent) for a global service's task. Spec.ContainerSpec is always an
// object: `docker service ps` reads its image without checking for null.
// ContainerStatus appears once the runtime has reported something of it.
func TaskFromDomain(t *swarm.Task) wire.Task {
	return wire.Task{
		ID:           string(t.ID),
		Meta:         MetaFromDomain(t.Meta),
		Annotations:  wire.Annotations{Labels: map[string]string{}},
		Spec:         TaskSpecToWire(t.Spec),
		ServiceID:    string(t.ServiceID),
		Slot:         t.Slot,
		NodeID:       string(t.NodeID),
		Status:       taskStatusToWire(t.Status),
		DesiredState: wire.TaskState(t.DesiredState.String()),
	}
}

func taskStatusToWire(s swarm.TaskStatus) wire.TaskStatus {
	out := wire.TaskStatus{
		Timestamp: s.Timestamp.UTC(),
		State:     wire.TaskState(s.State.String()),
		Message:   s.Message,
		Err:       s.Err,
	}
	if s.ContainerID != "" || s.PID != 0 || s.ExitCode != 0 {
		out.ContainerStatus = &wire.ContainerStatus{
			ContainerID: s.ContainerID,
			PID:         s.PID,
			ExitCode:    s.ExitCode,
		}
	}
	return out
}

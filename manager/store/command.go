package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// Op names what a command does. Values are written into the Raft log: never
// renumber them, only add.
type Op uint8

// Commands.
const (
	OpCreateCluster Op = iota + 1
	OpUpdateCluster
	OpCreateNode
	OpUpdateNodeSpec
	OpUpdateNodeStatus
	OpSetNodeManager
	OpRemoveNode
	OpUpdateNodeDescription
	OpCreateService
	OpUpdateService
	OpRemoveService
	OpCreateTasks
	OpAssignTasks
	OpSetTasksDesired
	OpUpdateTaskStatus
	OpDeleteTasks
	OpRefreshTasks
	OpUpdateNodeStatuses
	OpCreateServiceTasks
	OpSetNodeCertFloor
)

var opNames = map[Op]string{
	OpCreateCluster:         "create-cluster",
	OpUpdateCluster:         "update-cluster",
	OpCreateNode:            "create-node",
	OpUpdateNodeSpec:        "update-node-spec",
	OpUpdateNodeStatus:      "update-node-status",
	OpSetNodeManager:        "set-node-manager",
	OpRemoveNode:            "remove-node",
	OpUpdateNodeDescription: "update-node-description",
	OpCreateService:         "create-service",
	OpUpdateService:         "update-service",
	OpRemoveService:         "remove-service",
	OpCreateTasks:           "create-tasks",
	OpAssignTasks:           "assign-tasks",
	OpSetTasksDesired:       "set-tasks-desired",
	OpUpdateTaskStatus:      "update-task-status",
	OpDeleteTasks:           "delete-tasks",
	OpRefreshTasks:          "refresh-tasks",
	OpUpdateNodeStatuses:    "update-node-statuses",
	OpCreateServiceTasks:    "create-service-tasks",
	OpSetNodeCertFloor:      "set-node-cert-floor",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", o)
}

// Command is one change of state, as written in the Raft log.
type Command struct {
	Op Op
	// Time is when the proposer made the command; Apply stamps objects with
	// it instead of reading the clock.
	Time time.Time
	// ExpectVersion, when non-zero, must equal the object's current version
	// or the command fails with swarm.ErrOutOfSequence.
	ExpectVersion uint64

	Cluster     *swarm.Cluster         `json:",omitempty"`
	Node        *swarm.Node            `json:",omitempty"`
	NodeID      swarm.NodeID           `json:",omitempty"`
	NodeSpec    *swarm.NodeSpec        `json:",omitempty"`
	NodeStatus  *swarm.NodeStatus      `json:",omitempty"`
	Description *swarm.NodeDescription `json:",omitempty"`
	Manager     *swarm.ManagerInfo     `json:",omitempty"`
	NodeChanges []NodeChange           `json:",omitempty"`
	// CertFloor (set-node-cert-floor): see swarm.Node.CertFloor.
	CertFloor time.Time `json:",omitzero"`

	Service   *swarm.Service  `json:",omitempty"`
	ServiceID swarm.ServiceID `json:",omitempty"`
	Tasks     []*swarm.Task   `json:",omitempty"`
	TaskIDs   []swarm.TaskID  `json:",omitempty"`
	Changes   []TaskChange    `json:",omitempty"`
	// SpecVersion (create-service-tasks) is the version of the service
	// spec the new tasks are made from.
	SpecVersion uint64    `json:",omitempty"`
	NewTasks    []NewTask `json:",omitempty"`
}

// NewTask is one task of a create-service-tasks command: what tells it
// from its siblings. The rest comes from its service's spec.
type NewTask struct {
	ID     swarm.TaskID
	Slot   int          `json:",omitempty"`
	NodeID swarm.NodeID `json:",omitempty"` // a global service's task
}

// NodeChange is one node's part of a batched status command: its new
// status, applied only if its state is still From (the state the proposer
// saw), so that a stale verdict never overwrites a fresher one.
type NodeChange struct {
	ID     swarm.NodeID
	From   swarm.NodeState
	Status swarm.NodeStatus
}

// TaskChange is one task's part of a batched task command: its placement
// (assign), its desired state (set-desired) or its observed status.
type TaskChange struct {
	ID      swarm.TaskID
	NodeID  swarm.NodeID      `json:",omitempty"`
	Desired swarm.TaskState   `json:",omitempty"`
	Status  *swarm.TaskStatus `json:",omitempty"`
	// SpecVersion (refresh) marks a task whose spec equals its service's
	// new spec as up to date without restarting it.
	SpecVersion uint64 `json:",omitempty"`
}

// NewCreateCluster stores the cluster object of a new swarm.
func NewCreateCluster(c *swarm.Cluster) *Command {
	return &Command{Op: OpCreateCluster, Time: now(), Cluster: c}
}

// NewUpdateCluster replaces the cluster object if its version is still version.
func NewUpdateCluster(c *swarm.Cluster, version uint64) *Command {
	return &Command{Op: OpUpdateCluster, Time: now(), Cluster: c, ExpectVersion: version}
}

// NewCreateNode adds a node; it fails if the ID exists or was removed.
func NewCreateNode(n *swarm.Node) *Command {
	return &Command{Op: OpCreateNode, Time: now(), Node: n}
}

// NewUpdateNodeSpec replaces a node's spec if its version is still version
// (0: no check).
func NewUpdateNodeSpec(id swarm.NodeID, spec swarm.NodeSpec, version uint64) *Command {
	return &Command{Op: OpUpdateNodeSpec, Time: now(), NodeID: id, NodeSpec: &spec, ExpectVersion: version}
}

// NewUpdateNodeStatus records what the dispatcher knows of a node's liveness.
func NewUpdateNodeStatus(id swarm.NodeID, st swarm.NodeStatus) *Command {
	return &Command{Op: OpUpdateNodeStatus, Time: now(), NodeID: id, NodeStatus: &st}
}

// NewUpdateNodeStatuses changes several nodes' statuses at once (liveness
// verdicts). A node that is gone, or no longer in its From state, is
// skipped.
func NewUpdateNodeStatuses(changes []NodeChange) *Command {
	return &Command{Op: OpUpdateNodeStatuses, Time: now(), NodeChanges: changes}
}

// NewUpdateNodeDescription records what a node says about itself.
func NewUpdateNodeDescription(id swarm.NodeID, d swarm.NodeDescription) *Command {
	return &Command{Op: OpUpdateNodeDescription, Time: now(), NodeID: id, Description: &d}
}

// NewSetNodeManager marks a node as a Raft member at addr, or (m == nil) as
// no longer one.
func NewSetNodeManager(id swarm.NodeID, m *swarm.ManagerInfo) *Command {
	return &Command{Op: OpSetNodeManager, Time: now(), NodeID: id, Manager: m}
}

// NewSetNodeCertFloor refuses, from now on, the node's certificates issued
// before floor (it was seen presenting a newer one). The floor only rises.
func NewSetNodeCertFloor(id swarm.NodeID, floor time.Time) *Command {
	return &Command{Op: OpSetNodeCertFloor, Time: now(), NodeID: id, CertFloor: floor.UTC()}
}

// NewRemoveNode deletes a node and revokes its certificate.
func NewRemoveNode(id swarm.NodeID) *Command {
	return &Command{Op: OpRemoveNode, Time: now(), NodeID: id}
}

// NewCreateService stores a new service.
func NewCreateService(svc *swarm.Service) *Command {
	return &Command{Op: OpCreateService, Time: now(), Service: svc}
}

// NewUpdateService replaces a service if its version is still version (0:
// no check). A changed spec makes the service's tasks out of date.
func NewUpdateService(svc *swarm.Service, version uint64) *Command {
	return &Command{Op: OpUpdateService, Time: now(), Service: svc, ExpectVersion: version}
}

// NewRemoveService deletes a service; the orchestrator then stops its tasks.
func NewRemoveService(id swarm.ServiceID) *Command {
	return &Command{Op: OpRemoveService, Time: now(), ServiceID: id}
}

// NewCreateTasks stores new tasks.
func NewCreateTasks(tasks []*swarm.Task) *Command {
	return &Command{Op: OpCreateTasks, Time: now(), Tasks: tasks}
}

// NewCreateServiceTasks stores new tasks of one service, made when applied
// from its spec, which must still be at specVersion: a command is about a
// tenth of the size of the same tasks written out whole (NewCreateTasks).
func NewCreateServiceTasks(id swarm.ServiceID, specVersion uint64, tasks []NewTask) *Command {
	return &Command{Op: OpCreateServiceTasks, Time: now(), ServiceID: id, SpecVersion: specVersion, NewTasks: tasks}
}

// NewAssignTasks places pending tasks on nodes (NodeID set) or records why
// they stay pending (Status.Err, no NodeID).
func NewAssignTasks(changes []TaskChange) *Command {
	return &Command{Op: OpAssignTasks, Time: now(), Changes: changes}
}

// NewSetTasksDesired moves tasks' desired states forward (e.g. to shutdown).
func NewSetTasksDesired(changes []TaskChange) *Command {
	return &Command{Op: OpSetTasksDesired, Time: now(), Changes: changes}
}

// NewUpdateTaskStatus records observed task states; a change the task state
// machine forbids is skipped, the others apply.
func NewUpdateTaskStatus(changes []TaskChange) *Command {
	return &Command{Op: OpUpdateTaskStatus, Time: now(), Changes: changes}
}

// NewRefreshTasks moves unchanged tasks to their service's new spec version.
func NewRefreshTasks(changes []TaskChange) *Command {
	return &Command{Op: OpRefreshTasks, Time: now(), Changes: changes}
}

// NewDeleteTasks removes tasks from the store (history trimming).
func NewDeleteTasks(ids []swarm.TaskID) *Command {
	return &Command{Op: OpDeleteTasks, Time: now(), TaskIDs: ids}
}

func now() time.Time { return time.Now().UTC() }

// Encode returns the bytes written to the Raft log: a format byte, then JSON.
// A command larger than swarm.MaxCommandBytes is refused (swarm.ErrTooLarge,
// in swarmkit's words), so that it is never proposed; a batch that meets it
// is cut in smaller commands by its writer.
func (c *Command) Encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s: %w", c.Op, err)
	}
	if len(b)+1 > swarm.MaxCommandBytes {
		return nil, swarm.Errorf(swarm.ErrTooLarge, "raft: raft message is too large and can't be sent (%s: %d bytes, at most %d)",
			c.Op, len(b)+1, swarm.MaxCommandBytes)
	}
	return append([]byte{formatJSON}, b...), nil
}

// formatJSON is the only encoding so far; the byte leaves room for others.
const formatJSON byte = 1

// Decode parses bytes written by Encode.
func Decode(b []byte) (*Command, error) {
	if len(b) == 0 || b[0] != formatJSON {
		return nil, fmt.Errorf("store: unknown command format")
	}
	var c Command
	if err := json.Unmarshal(b[1:], &c); err != nil {
		return nil, fmt.Errorf("store: decode command: %w", err)
	}
	return &c, nil
}

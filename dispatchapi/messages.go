package dispatchapi

import (
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// RPC paths on the cluster port.
const (
	PathJoin      = "/rpc/join"
	PathRenew     = "/rpc/renew"
	PathRaftJoin  = "/rpc/raft/join"
	PathRaftLeave = "/rpc/raft/leave"
	// PathDocker prefixes Docker API requests that a follower forwards to
	// the leader: /docker/v1.50/nodes ...
	PathDocker = "/docker"
)

// HeaderForwardedNode carries the node ID of the original caller when a
// manager forwards an RPC to the leader. The leader trusts it only from a
// peer holding a manager certificate.
const HeaderForwardedNode = "Shoal-Forwarded-Node"

// HeaderForwardedNotBefore carries, with HeaderForwardedNode, the NotBefore
// of the certificate the original caller presented (RFC 3339): the leader
// refuses a certificate older than its node's floor, and raises the floor
// to a newer one, as it does for the nodes that reach it directly.
const HeaderForwardedNotBefore = "Shoal-Forwarded-Not-Before"

// Peer is a manager's node ID and cluster address.
type Peer struct {
	NodeID swarm.NodeID
	Addr   string
}

// JoinRequest asks the leader to admit a node.
type JoinRequest struct {
	Token        string
	CSR          []byte // PEM
	Description  swarm.NodeDescription
	Availability swarm.Availability
	// Addr is the joining node's advertised cluster address.
	Addr string
}

// JoinResponse admits a node: its identity and certificate.
type JoinResponse struct {
	NodeID    swarm.NodeID
	ClusterID swarm.ClusterID
	Role      swarm.NodeRole
	CertPEM   []byte
	RootPEM   []byte
	Managers  []Peer
}

// HeartbeatRequest is a node's periodic report, sent on its session.
type HeartbeatRequest struct {
	// Addr is the node's advertised address.
	Addr string
	// Sent is when the node sent it, by its own clock (zero from older
	// nodes): the leader tells from it how late heartbeats arrive.
	Sent time.Time `json:",omitzero"`
}

// HeartbeatResponse tells a node how to go on.
type HeartbeatResponse struct {
	// Period is when to send the next heartbeat.
	Period time.Duration
	// Managers is the current list of managers.
	Managers []Peer
	// Role is the role the cluster wants this node in; when it differs
	// from the role in the node's certificate, the node renews it.
	Role swarm.NodeRole
}

// RenewRequest asks for a new certificate, e.g. after a role change.
type RenewRequest struct {
	CSR []byte
}

// RenewResponse carries the new certificate; Role is the role inside it.
type RenewResponse struct {
	CertPEM []byte
	Role    swarm.NodeRole
}

// RaftJoinRequest asks the leader to add the caller (a node with a manager
// certificate) as a Raft voter at Addr.
type RaftJoinRequest struct {
	Addr string
}

// RaftLeaveRequest asks the leader to remove the caller from the Raft
// membership (swarm leave on a manager).
type RaftLeaveRequest struct{}

// Error is the body of every failed RPC.
type Error struct {
	// Class is the swarm error class name, so the caller can rebuild it.
	Class   string
	Message string
}

// Task RPCs.
const (
	// PathAssignments is a long poll: it answers when the node's set of
	// tasks differs from the one the caller last saw, or after a while.
	PathAssignments = "/rpc/assignments"
	// PathTaskStatus reports observed task states.
	PathTaskStatus = "/rpc/tasks/status"
	// PathLogs is served by every node's agent: a manager reads a task's
	// log lines from it (a stream of JSON LogLine objects).
	PathLogs = "/rpc/logs"
)

// AssignmentsRequest asks for the node's tasks.
type AssignmentsRequest struct {
	// Fingerprint is the one of the last answer ("" at first): the call
	// waits until the tasks differ from it.
	Fingerprint string
}

// AssignmentsResponse is the complete set of tasks placed on the node that
// it must run or stop, or, when Unchanged, word that the set is still the
// one the caller has (a long poll that ran out): the node keeps it.
type AssignmentsResponse struct {
	Fingerprint string
	Tasks       []*swarm.Task `json:",omitempty"`
	Unchanged   bool          `json:",omitempty"`
}

// TaskStatusUpdate is one task's observed status.
type TaskStatusUpdate struct {
	TaskID swarm.TaskID
	Status swarm.TaskStatus
}

// TaskStatusRequest reports a batch of task states.
type TaskStatusRequest struct {
	Updates []TaskStatusUpdate
}

// LogsRequest selects a task's log lines.
type LogsRequest struct {
	TaskID swarm.TaskID
	Follow bool
	Tail   int // < 0: all
	Since  time.Time
	Stdout bool
	Stderr bool
}

// LogLine is one line of a task's output.
type LogLine struct {
	Stream    int // 1 stdout, 2 stderr
	Timestamp time.Time
	Line      []byte
}

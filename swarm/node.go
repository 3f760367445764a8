package swarm

import (
	"maps"
	"strings"
	"time"
)

// NodeRole is the role a node is asked to play.
type NodeRole string

// Node roles.
const (
	RoleWorker  NodeRole = "worker"
	RoleManager NodeRole = "manager"
)

// Valid reports whether r is a known role.
func (r NodeRole) Valid() bool { return r == RoleWorker || r == RoleManager }

// Availability says whether the scheduler may place tasks on a node.
type Availability string

// Node availabilities, as in Docker.
const (
	AvailabilityActive Availability = "active"
	AvailabilityPause  Availability = "pause"
	AvailabilityDrain  Availability = "drain"
)

// Valid reports whether a is a known availability.
func (a Availability) Valid() bool {
	return a == AvailabilityActive || a == AvailabilityPause || a == AvailabilityDrain
}

// NodeState is what the managers know of a node's liveness.
type NodeState string

// Node states, as in Docker. Unknown means heartbeats stopped recently and the
// node is not yet declared down.
const (
	NodeStateUnknown      NodeState = "unknown"
	NodeStateDown         NodeState = "down"
	NodeStateReady        NodeState = "ready"
	NodeStateDisconnected NodeState = "disconnected"
)

// Reachability is a manager's health as seen by the Raft leader.
type Reachability string

// Reachabilities, as in Docker.
const (
	ReachabilityUnknown     Reachability = "unknown"
	ReachabilityUnreachable Reachability = "unreachable"
	ReachabilityReachable   Reachability = "reachable"
)

// NodeSpec is the part of a node users change.
type NodeSpec struct {
	Name         string
	Labels       map[string]string
	Role         NodeRole
	Availability Availability
}

// Validate checks a spec sent by a user.
func (s NodeSpec) Validate() error {
	if !s.Role.Valid() {
		return Errorf(ErrInvalidArgument, "invalid role %q, only worker and manager are supported", s.Role)
	}
	if !s.Availability.Valid() {
		return Errorf(ErrInvalidArgument, "invalid availability %q, only active, pause and drain are supported", s.Availability)
	}
	for k := range s.Labels {
		if strings.TrimSpace(k) == "" {
			return Errorf(ErrInvalidArgument, "label key cannot be empty")
		}
	}
	if err := checkName("node", s.Name); err != nil {
		return err
	}
	return checkLabels("node", s.Labels)
}

// NodeDescription is what a node reports about itself when it joins.
type NodeDescription struct {
	Hostname      string
	OS            string
	Architecture  string
	NanoCPUs      int64
	MemoryBytes   int64
	EngineVersion string
	// Runtime is the node's task runtime: "process" or "docker".
	Runtime string
}

// NodeStatus is the managers' view of a node's liveness.
type NodeStatus struct {
	State   NodeState
	Message string
	// Addr is the node's IP address, as Docker shows it.
	Addr string
	// ClusterAddr is the node's advertised cluster address (host:port),
	// where managers reach its agent (e.g. for task logs).
	ClusterAddr string
	// LastSeen is when the leader last heard from the node, set while it
	// is Unknown or Down (zero when Ready): since when its tasks are
	// unconfirmed.
	LastSeen time.Time `json:",omitzero"`
}

// ManagerInfo is the replicated part of a manager's status: its cluster
// (Raft) address. Leadership and reachability are not replicated; they are
// read from Raft when the node is shown.
type ManagerInfo struct {
	Addr string
}

// Node is a machine of the swarm.
type Node struct {
	ID NodeID
	Meta
	Spec        NodeSpec
	Description NodeDescription
	Status      NodeStatus
	// Manager is set while the node is a Raft member.
	Manager *ManagerInfo
	// CertFloor: the node's certificates issued (NotBefore) before this
	// time are refused on every port. It rises when the node is first seen
	// presenting a newer certificate (after a renewal or a role change), so
	// a copy of a replaced certificate (a demoted manager's, a stolen disk)
	// is worth nothing once the node moved on.
	CertFloor time.Time `json:",omitzero"`
}

// Name is what a user calls the node: its spec name, else its hostname.
func (n *Node) Name() string {
	if n.Spec.Name != "" {
		return n.Spec.Name
	}
	return n.Description.Hostname
}

// Copy returns a deep copy that may be modified.
func (n *Node) Copy() *Node {
	c := *n
	c.Spec.Labels = maps.Clone(n.Spec.Labels)
	if n.Manager != nil {
		m := *n.Manager
		c.Manager = &m
	}
	return &c
}

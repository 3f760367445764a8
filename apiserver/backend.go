package apiserver

import (
	"context"
	"net/http"

	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// Backend is what the API server needs from the node it runs in. The node
// package implements it. Methods may be called concurrently from many
// requests; they must not keep the arguments.
type Backend interface {
	// Info describes this node and, on a manager, the cluster. It never
	// needs the leader and never fails because there is none.
	Info(ctx context.Context) Info
	// Init makes this node the first manager of a new swarm and returns its
	// node ID. Fails with swarm.ErrUnavailable (MsgAlreadyInSwarm) if the
	// node is already in a swarm.
	Init(ctx context.Context, req InitRequest) (swarm.NodeID, error)
	// Join joins an existing swarm; it returns once the node is a member.
	Join(ctx context.Context, req JoinRequest) error
	// Leave leaves the swarm. Without force, a manager whose departure
	// would lose quorum (or the last manager) is refused.
	Leave(ctx context.Context, force bool) error
	// Control returns how to serve a request that needs the cluster state:
	//   - ctl != nil: this node is the leader; call ctl.
	//   - forward != nil: this node is a follower; forward.ServeHTTP sends
	//     the request unchanged to the leader and writes its answer.
	//   - err: swarm.ErrNotManager, swarm.ErrNotInSwarm or swarm.ErrNoLeader.
	Control(ctx context.Context) (ctl Control, forward http.Handler, err error)
}

// Control is the cluster API served by the leader. controlapi.Server
// implements it. Every error wraps a swarm error class.
type Control interface {
	GetCluster(ctx context.Context) (*swarm.Cluster, error)
	// RootCACert returns the cluster's root CA certificate (PEM) from this
	// leader's store, without a check with the quorum: it is written when
	// the swarm is created and never changes. A node list or inspect, which
	// checks already, shows it as every node's TLS info.
	RootCACert(ctx context.Context) ([]byte, error)
	// UpdateCluster replaces the cluster spec if version is current and
	// rotates the join tokens asked for.
	UpdateCluster(ctx context.Context, version uint64, spec swarm.ClusterSpec, rot controlapi.Rotation) error
	// ListNodes returns the nodes that pass the Docker-style filters
	// (keys: id, label, membership, name, node.label, role).
	ListNodes(ctx context.Context, filters map[string][]string) ([]controlapi.NodeView, error)
	// GetNode resolves ref (full ID, then name or hostname, then a unique ID
	// prefix) and returns the node.
	GetNode(ctx context.Context, ref string) (controlapi.NodeView, error)
	UpdateNode(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error
	RemoveNode(ctx context.Context, ref string, force bool) error

	// CreateService validates spec and stores a new service; it returns
	// the new ID. Name conflicts: swarm.ErrAlreadyExists.
	CreateService(ctx context.Context, spec swarm.ServiceSpec) (swarm.ServiceID, error)
	// GetService resolves ref (full ID, then name, then unique ID prefix).
	GetService(ctx context.Context, ref string) (controlapi.ServiceView, error)
	// ListServices returns the services passing the Docker-style filters
	// (keys: id, label, mode, name); with status, their task counts.
	ListServices(ctx context.Context, filters map[string][]string, status bool) ([]controlapi.ServiceView, error)
	// UpdateService replaces a service's spec if version is current.
	UpdateService(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts controlapi.UpdateServiceOptions) error
	RemoveService(ctx context.Context, ref string) error
	// ListTasks returns the tasks passing the filters (keys: id, name,
	// service, node, desired-state, label, and "_up-to-date" which keeps
	// only tasks made from their service's current spec).
	ListTasks(ctx context.Context, filters map[string][]string) ([]*swarm.Task, error)
	GetTask(ctx context.Context, ref string) (*swarm.Task, error)
	// ServiceLogs and TaskLogs stream log lines to out until there are no
	// more (or, with Follow, until ctx ends). out is called from one
	// goroutine at a time.
	ServiceLogs(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error
	TaskLogs(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error
}

// LocalNodeState is this node's membership as Docker reports it.
type LocalNodeState string

// Local node states.
const (
	StateInactive LocalNodeState = "inactive"
	StatePending  LocalNodeState = "pending"
	StateActive   LocalNodeState = "active"
	StateError    LocalNodeState = "error"
	StateLocked   LocalNodeState = "locked"
)

// Info is the node's description for GET /info.
type Info struct {
	// Name is the node name (the daemon's --node-name).
	Name          string
	NCPU          int
	MemTotal      int64
	OSType        string // runtime.GOOS
	Architecture  string // uname machine, e.g. x86_64
	KernelVersion string
	OS            string // operating system description
	ServerVersion string
	Swarm         SwarmInfo
}

// Peer is a manager as every node knows it.
type Peer struct {
	NodeID swarm.NodeID
	Addr   string
}

// SwarmInfo is the Swarm section of GET /info.
type SwarmInfo struct {
	NodeID           swarm.NodeID
	NodeAddr         string
	State            LocalNodeState
	ControlAvailable bool
	Error            string
	RemoteManagers   []Peer
	// The fields below are set on managers only.
	Nodes    int
	Managers int
	Cluster  *swarm.Cluster
}

// InitRequest is a decoded POST /swarm/init.
type InitRequest struct {
	ListenAddr    string // host:port; default 0.0.0.0:2377
	AdvertiseAddr string // host:port, host, or an interface name
	// Spec has server defaults filled in where the request left zeros.
	Spec            swarm.ClusterSpec
	Availability    swarm.Availability // default active
	ForceNewCluster bool
}

// JoinRequest is a decoded POST /swarm/join.
type JoinRequest struct {
	ListenAddr    string
	AdvertiseAddr string
	RemoteAddrs   []string // as typed; a missing port means 2377
	JoinToken     string
	Availability  swarm.Availability
}

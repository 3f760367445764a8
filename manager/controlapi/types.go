package controlapi

import "github.com/shoal-project/shoal/swarm"

// Rotation says which join tokens an UpdateCluster call replaces.
type Rotation struct {
	WorkerToken  bool
	ManagerToken bool
}

// ManagerStatus is a manager's status as the leader sees it right now.
type ManagerStatus struct {
	Leader       bool
	Reachability swarm.Reachability
	Addr         string
}

// NodeView is a node as the API shows it: the stored node plus the live
// manager status (nil for workers).
type NodeView struct {
	*swarm.Node
	ManagerStatus *ManagerStatus
}

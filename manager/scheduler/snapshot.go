package scheduler

import (
	"maps"
	"slices"
	"strings"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// nodeInfo is a node with the load of the tasks placed on it.
type nodeInfo struct {
	node *swarm.Node
	// available is the node's CPU and memory minus the reservations of
	// its tasks that have not ended. It may be negative (overcommitted).
	available swarm.Resources
	// tasks and services count the tasks meant to run there (desired
	// state running or before), all and per service: spread and the
	// replica cap look at these.
	tasks    int
	services map[swarm.ServiceID]int
}

func newNodeInfo(n *swarm.Node) nodeInfo {
	return nodeInfo{
		node:      n,
		available: swarm.Resources{NanoCPUs: n.Description.NanoCPUs, MemoryBytes: n.Description.MemoryBytes},
		services:  map[swarm.ServiceID]int{},
	}
}

// reserve takes r from what is left on the node.
func (n *nodeInfo) reserve(r swarm.Resources) {
	n.available.NanoCPUs -= r.NanoCPUs
	n.available.MemoryBytes -= r.MemoryBytes
}

// count records one more task of a service meant to run on the node.
func (n *nodeInfo) count(s swarm.ServiceID) {
	n.tasks++
	n.services[s]++
}

// place records a task newly placed on the node.
func (n *nodeInfo) place(t *swarm.Task) {
	n.reserve(t.Spec.Resources.Reservations)
	n.count(t.ServiceID)
}

// Snapshot is what the scheduler knows of the cluster at one instant: every
// node, ordered by ID, with the load of the tasks already placed on it. It
// is immutable; Schedule works on a copy.
type Snapshot struct {
	nodes []nodeInfo
}

// NewSnapshot builds a snapshot from all the nodes and all the tasks. A
// task loads its node once it is placed (assigned or later): until it ends
// it holds its reservations there, and while its desired state is running
// or before it counts for spread and the replica cap. Tasks still waiting
// for a node, and tasks on unknown nodes, load nothing.
func NewSnapshot(nodes []*swarm.Node, tasks []*swarm.Task) *Snapshot {
	s := &Snapshot{nodes: make([]nodeInfo, 0, len(nodes))}
	for _, n := range nodes {
		s.nodes = append(s.nodes, newNodeInfo(n))
	}
	slices.SortFunc(s.nodes, func(a, b nodeInfo) int { return strings.Compare(string(a.node.ID), string(b.node.ID)) })
	byID := make(map[swarm.NodeID]*nodeInfo, len(s.nodes))
	for i := range s.nodes {
		byID[s.nodes[i].node.ID] = &s.nodes[i]
	}
	for _, t := range tasks {
		n := byID[t.NodeID]
		if n == nil || t.Status.State < swarm.TaskAssigned || t.Status.State.Terminal() {
			continue
		}
		n.reserve(t.Spec.Resources.Reservations)
		if t.DesiredState <= swarm.TaskRunning {
			n.count(t.ServiceID)
		}
	}
	return s
}

// ReadSnapshot reads the nodes and tasks of a store view, and returns the
// snapshot and the tasks that wait for a node (see WaitsForNode), ordered
// by ID.
func ReadSnapshot(tx store.ReadTxn) (*Snapshot, []*swarm.Task, error) {
	nodes, err := store.ListNodes(tx)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := store.ListTasks(tx)
	if err != nil {
		return nil, nil, err
	}
	var waiting []*swarm.Task
	for _, t := range tasks {
		if t.WaitsForNode() {
			waiting = append(waiting, t)
		}
	}
	return NewSnapshot(nodes, tasks), waiting, nil
}

// clone returns a copy whose loads may change.
func (s *Snapshot) clone() []nodeInfo {
	if s == nil {
		return nil
	}
	out := slices.Clone(s.nodes)
	for i := range out {
		out[i].services = maps.Clone(out[i].services)
	}
	return out
}

package store

import (
	"sort"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// GetNode returns the node with exactly this ID, or swarm.ErrNotFound.
func GetNode(tx ReadTxn, id swarm.NodeID) (*swarm.Node, error) {
	return getNode(tx.txn, id)
}

func getNode(tx *memdb.Txn, id swarm.NodeID) (*swarm.Node, error) {
	obj, err := tx.First(tableNode, indexID, string(id))
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "node %s not found", id)
	}
	return obj.(*swarm.Node), nil
}

// ListNodes returns every node, ordered by ID.
func ListNodes(tx ReadTxn) ([]*swarm.Node, error) {
	it, err := tx.txn.Get(tableNode, indexID)
	if err != nil {
		return nil, err
	}
	var out []*swarm.Node
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj.(*swarm.Node))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func createNode(tx *memdb.Txn, index uint64, cmd *Command) error {
	if cmd.Node == nil || cmd.Node.ID == "" {
		return swarm.Errorf(swarm.ErrInvalidArgument, "create-node without a node")
	}
	if old, _ := getNode(tx, cmd.Node.ID); old != nil {
		return swarm.Errorf(swarm.ErrAlreadyExists, "node %s already exists", old.ID)
	}
	if c, _ := getCluster(tx); c != nil && c.IsRemoved(cmd.Node.ID) {
		return swarm.Errorf(swarm.ErrPermissionDenied, "node %s was removed from the swarm", cmd.Node.ID)
	}
	n := cmd.Node.Copy()
	n.Version, n.CreatedAt, n.UpdatedAt = index, cmd.Time, cmd.Time
	return tx.Insert(tableNode, n)
}

func updateNode(tx *memdb.Txn, index uint64, cmd *Command) error {
	old, err := getNode(tx, cmd.NodeID)
	if err != nil {
		return err
	}
	if cmd.ExpectVersion != 0 && cmd.ExpectVersion != old.Version {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	n := old.Copy()
	switch {
	case cmd.Op == OpUpdateNodeSpec && cmd.NodeSpec != nil:
		n.Spec = *cmd.NodeSpec
	case cmd.Op == OpUpdateNodeStatus && cmd.NodeStatus != nil:
		if n.Status == *cmd.NodeStatus {
			return nil // nothing changes; keep the version
		}
		n.Status = *cmd.NodeStatus
	case cmd.Op == OpUpdateNodeDescription && cmd.Description != nil:
		n.Description = *cmd.Description
	case cmd.Op == OpSetNodeManager:
		n.Manager = cmd.Manager
	case cmd.Op == OpSetNodeCertFloor:
		if !cmd.CertFloor.After(n.CertFloor) {
			return nil // the floor only rises
		}
		// Not a change of the node as a user sees it: its version stays, so
		// that a `node update` read before it (the docker CLI reads the
		// node, then writes it back with its version) is not refused as
		// out of sequence because the node renewed its certificate.
		n.CertFloor = cmd.CertFloor
		return tx.Insert(tableNode, n)
	default:
		return swarm.Errorf(swarm.ErrInvalidArgument, "%s without its payload", cmd.Op)
	}
	n.Version, n.UpdatedAt = index, cmd.Time
	return tx.Insert(tableNode, n)
}

func updateNodeStatuses(tx *memdb.Txn, index uint64, cmd *Command) error {
	for _, c := range cmd.NodeChanges {
		old, err := getNode(tx, c.ID)
		if err != nil || old.Status.State != c.From || old.Status == c.Status {
			continue // removed meanwhile, changed meanwhile, or no change
		}
		n := old.Copy()
		n.Status = c.Status
		n.Version, n.UpdatedAt = index, cmd.Time
		if err := tx.Insert(tableNode, n); err != nil {
			return err
		}
	}
	return nil
}

func removeNode(tx *memdb.Txn, index uint64, cmd *Command) error {
	n, err := getNode(tx, cmd.NodeID)
	if err != nil {
		return err
	}
	if err := tx.Delete(tableNode, n); err != nil {
		return err
	}
	c, err := getCluster(tx)
	if err != nil {
		return err
	}
	c = c.Copy()
	if !c.IsRemoved(n.ID) {
		c.RemovedNodes = append(c.RemovedNodes, n.ID)
	}
	c.Version, c.UpdatedAt = index, cmd.Time
	return tx.Insert(tableCluster, c)
}

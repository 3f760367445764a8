package store

import (
	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// GetCluster returns the cluster object, or swarm.ErrNotFound before init.
func GetCluster(tx ReadTxn) (*swarm.Cluster, error) {
	return getCluster(tx.txn)
}

func getCluster(tx *memdb.Txn) (*swarm.Cluster, error) {
	obj, err := tx.First(tableCluster, indexID)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "cluster not found")
	}
	return obj.(*swarm.Cluster), nil
}

func createCluster(tx *memdb.Txn, index uint64, cmd *Command) error {
	if cmd.Cluster == nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "create-cluster without a cluster")
	}
	if c, _ := getCluster(tx); c != nil {
		return swarm.Errorf(swarm.ErrAlreadyExists, "cluster %s already exists", c.ID)
	}
	c := cmd.Cluster.Copy()
	c.Version, c.CreatedAt, c.UpdatedAt = index, cmd.Time, cmd.Time
	return tx.Insert(tableCluster, c)
}

func updateCluster(tx *memdb.Txn, index uint64, cmd *Command) error {
	if cmd.Cluster == nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "update-cluster without a cluster")
	}
	old, err := getCluster(tx)
	if err != nil {
		return err
	}
	if cmd.ExpectVersion != 0 && cmd.ExpectVersion != old.Version {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	c := cmd.Cluster.Copy()
	c.ID, c.CreatedAt = old.ID, old.CreatedAt
	c.Version, c.UpdatedAt = index, cmd.Time
	return tx.Insert(tableCluster, c)
}

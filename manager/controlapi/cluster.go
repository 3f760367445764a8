package controlapi

import (
	"context"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// GetCluster returns the cluster object.
func (s *Server) GetCluster(ctx context.Context) (*swarm.Cluster, error) {
	tx, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return store.GetCluster(tx)
}

// UpdateCluster replaces the spec and rotates join tokens as asked, if
// version is still the cluster's version.
func (s *Server) UpdateCluster(ctx context.Context, version uint64, spec swarm.ClusterSpec, rot Rotation) error {
	if err := spec.Validate(); err != nil {
		return rpcError(swarm.ErrInvalidArgument, "InvalidArgument", "%v", err)
	}
	cur, err := store.GetCluster(s.cfg.Store.ReadTxn())
	if err != nil {
		return err
	}
	c := cur.Copy()
	c.Spec = spec
	if rot.WorkerToken {
		if c.JoinTokens.Worker, err = s.cfg.NewToken(c); err != nil {
			return err
		}
	}
	if rot.ManagerToken {
		if c.JoinTokens.Manager, err = s.cfg.NewToken(c); err != nil {
			return err
		}
	}
	return s.cfg.Proposer.Propose(ctx, store.NewUpdateCluster(c, version))
}

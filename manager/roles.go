package manager

import (
	"context"
	"time"

	"github.com/shoal-project/shoal/manager/consensus"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// roleReconciler runs on the leader and brings the Raft membership in line
// with the nodes' desired roles: a member whose node was demoted (or
// removed) leaves the membership. Promotion is driven by the promoted node
// itself, which asks to join once its manager role runs (see rpcRaftJoin).
// A demoted leader first hands leadership to another member, so the swarm
// is never left without a leader.
type roleReconciler struct {
	m *Manager
}

func (r *roleReconciler) run(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.m.store.Changes():
		case <-tick.C:
		}
	}
}

func (r *roleReconciler) reconcile(ctx context.Context) {
	members, err := r.m.raft.Members()
	if err != nil {
		return
	}
	tx := r.m.store.ReadTxn()
	for _, mem := range members {
		n, err := store.GetNode(tx, mem.ID)
		if err != nil || n.Spec.Role == swarm.RoleManager {
			// A member without a node object is left alone: nodes are
			// removed only after demotion, so this is a replica catching
			// up, never a reason to shrink the quorum.
			continue
		}
		if mem.ID == r.m.cfg.NodeID {
			r.m.log.Info("demoted: handing leadership over")
			if err := r.m.raft.TransferLeadership(ctx); err != nil {
				r.m.log.Warn("leadership transfer failed", "err", err)
			}
			return // no longer leader: the next leader finishes the job
		}
		r.m.log.Info("removing demoted manager from raft", "node", mem.ID)
		if err := r.m.raft.RemoveServer(ctx, mem.ID); err != nil {
			r.m.log.Warn("raft removal failed", "node", mem.ID, "err", err)
			return
		}
		if err := r.m.raft.Propose(ctx, store.NewSetNodeManager(mem.ID, nil)); err != nil {
			return
		}
	}
	r.clearStale(ctx, tx, members)
}

// clearStale drops the manager mark of nodes that are no longer members
// (e.g. after swarm leave of a manager).
func (r *roleReconciler) clearStale(ctx context.Context, tx store.ReadTxn, members []consensus.Member) {
	nodes, err := store.ListNodes(tx)
	if err != nil {
		return
	}
	in := map[swarm.NodeID]bool{}
	for _, m := range members {
		in[m.ID] = true
	}
	for _, n := range nodes {
		if n.Manager != nil && !in[n.ID] {
			if err := r.m.raft.Propose(ctx, store.NewSetNodeManager(n.ID, nil)); err != nil {
				return
			}
		}
	}
}

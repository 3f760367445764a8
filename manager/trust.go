package manager

import (
	"context"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// A certificate says what its holder was when it was issued; the
// replicated state says what it is now. Every port of a manager (Raft,
// RPCs, forwarded Docker API requests) admits a peer by the second:
//
//   - a removed node gets nothing;
//   - a certificate older than its node's CertFloor (the node was since seen
//     with a newer one: a renewal, a role change) gets nothing;
//   - manager rights (Raft, forwarding on behalf of another node, the
//     Docker API, reading task logs) need a manager certificate of a node
//     that is a manager now: its spec says so, or it is still a Raft member
//     (a demoted manager until the leader has removed it). Anything else is
//     treated as the worker it is.
//
// A node unknown to this store with a manager certificate keeps manager
// rights only while it is a Raft member (a member whose store lags behind
// the membership). Managers also close the open connections of peers that
// no longer pass (revokeLoop), so that what a peer was allowed when it
// connected does not outlive a demotion or a removal.

// errSuperseded refuses a certificate replaced by a newer one. Its class is
// Unavailable, not PermissionDenied: a node's own request racing its
// renewal on an old connection is retried on a new one, rather than taken
// for a removal.
func errSuperseded(id swarm.NodeID) error {
	return swarm.Errorf(swarm.ErrUnavailable, "the certificate presented for node %s was replaced by a newer one; connect with the current certificate", id)
}

// errNotForwarder refuses a request forwarded by a node that is not a
// manager now. Its class is Unavailable: the node the request was
// forwarded for (a worker whose session went through a manager being
// demoted) is told to try another manager, not that it was removed.
func errNotForwarder(id swarm.NodeID) error {
	return swarm.Errorf(swarm.ErrUnavailable, "node %s is not a manager of the swarm: it may not forward requests", id)
}

// vet checks a verified certificate's identity against the replicated
// state and returns the identity to act on: the same, or with the worker
// role when its holder is no longer a manager.
func (m *Manager) vet(id ca.Identity) (ca.Identity, error) {
	v, _, err := m.vetKnown(id)
	return v, err
}

// vetKnown is vet, and says whether the store knows the node at all.
func (m *Manager) vetKnown(id ca.Identity) (ca.Identity, bool, error) {
	tx := m.store.ReadTxn()
	if c, err := store.GetCluster(tx); err == nil && c.IsRemoved(id.NodeID) {
		return ca.Identity{}, false, swarm.Errorf(swarm.ErrPermissionDenied, "node %s was removed from the swarm", id.NodeID)
	}
	n, err := store.GetNode(tx, id.NodeID)
	known := err == nil
	if known && id.NotBefore.Before(n.CertFloor) {
		return ca.Identity{}, true, errSuperseded(id.NodeID)
	}
	if id.Role == swarm.RoleManager && (!known || n.Spec.Role != swarm.RoleManager) && !m.isMember(id.NodeID) {
		id.Role = swarm.RoleWorker
	}
	return id, known, nil
}

// admitRaft is the Raft layer's policy: current managers, and managers
// this member's store does not know at all. Those are the leader seen by
// a member that just joined (its store is empty until the leader's first
// entries), or a manager that joined while this member was away; a node
// the store knows as removed, demoted, or with a newer certificate is
// refused.
func (m *Manager) admitRaft(id ca.Identity) error {
	v, known, err := m.vetKnown(id)
	if err != nil || v.Role == swarm.RoleManager || !known {
		return err
	}
	return swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a manager", id.NodeID)
}

// noteCertificate raises the node's CertFloor to a certificate newer than
// it, in the background (once at a time per node): from then on the
// node's older certificates are refused. Called on the leader only, for a
// certificate the node itself presented.
func (m *Manager) noteCertificate(id ca.Identity) {
	if m.raft == nil || !m.raft.IsLeader() {
		return
	}
	n, err := store.GetNode(m.store.ReadTxn(), id.NodeID)
	if err != nil || !id.NotBefore.After(n.CertFloor) {
		return
	}
	if _, busy := m.floors.LoadOrStore(id.NodeID, struct{}{}); busy {
		return
	}
	m.bg.Go(func() {
		defer m.floors.Delete(id.NodeID)
		ctx, cancel := context.WithTimeout(m.bgCtx, 5*time.Second)
		defer cancel()
		if err := m.raft.Propose(ctx, store.NewSetNodeCertFloor(id.NodeID, id.NotBefore)); err != nil {
			m.log.Debug("certificate floor not raised", "node", id.NodeID, "err", err)
		}
	})
}

// revokeLoop closes the cluster-port connections of peers that the
// replicated state no longer admits, whenever it changes (at most every
// revokeEvery), on every manager.
func (m *Manager) revokeLoop(ctx context.Context) {
	for {
		if n := m.cfg.Mux.CloseIf(m.refused); n > 0 {
			m.log.Info("closed connections of peers no longer admitted", "connections", n)
		}
		// Every change of who is admitted is a store command (a spec, a
		// removal, a certificate floor, a manager leaving Raft is marked
		// with SetNodeManager), never a routine task report; and Raft's
		// change signal has one consumer, the leadership loop.
		select {
		case <-ctx.Done():
			return
		case <-m.store.WorkChanges():
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(revokeEvery):
		}
	}
}

// revokeEvery bounds how often revokeLoop looks at every connection.
const revokeEvery = 100 * time.Millisecond

// refused says whether a connection's peer has lost what its certificate
// let it in for: any admission (removed, replaced certificate), or, for a
// manager certificate, its manager rights (a manager certificate is only
// ever used for manager business: Raft, forwarding, or a manager's own
// agent, which reconnects with its renewed worker certificate). A peer
// this store does not know is left alone (see admitRaft).
func (m *Manager) refused(id ca.Identity) bool {
	if id.Role == swarm.RoleManager {
		return m.admitRaft(id) != nil
	}
	_, err := m.vet(id)
	return err != nil
}

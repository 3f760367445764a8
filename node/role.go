package node

import (
	"context"
	"path/filepath"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/swarm"
)

// changeRole installs a renewed certificate (agent callback) and, if its
// role is new, starts or stops the manager role to match. A renewal for
// the same role (before the certificate expires) changes nothing else:
// the manager role and the tasks run on (see certificateRenewed).
func (n *Node) changeRole(ctx context.Context, role swarm.NodeRole, certPEM, keyPEM []byte) error {
	if err := n.lock(ctx); err != nil {
		return err
	}
	defer n.unlock()
	n.mu.Lock()
	creds, st, mgr := n.creds, n.st, n.mgr
	var prev swarm.NodeRole
	if st != nil {
		prev = st.Role
	}
	n.mu.Unlock()
	if creds == nil || st == nil {
		return nil
	}
	if err := creds.Update(certPEM, keyPEM); err != nil {
		return err
	}
	if err := ca.SaveCredentials(filepath.Join(n.cfg.DataRoot, certDir), creds.Root().CertPEM(), certPEM, keyPEM); err != nil {
		return err
	}
	n.mu.Lock()
	n.st.Role = role
	err := n.st.save(n.cfg.DataRoot)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if role == prev {
		n.certificateRenewed(mgr)
		return nil
	}
	n.log.Info("role changed", "role", role)
	if role == swarm.RoleManager {
		return n.becomeManager(ctx)
	}
	n.stopManager()
	return nil
}

// rejoinRaft starts the manager role afresh and asks the leader to add it
// to the Raft membership (agent callback, see agent.Config.OnOutside): a
// node that should be a manager, and is not a member, converges whatever
// the order of the demotions and promotions that led there.
func (n *Node) rejoinRaft(ctx context.Context) error {
	if err := n.lock(ctx); err != nil {
		return err
	}
	defer n.unlock()
	if st, _ := n.parts(); st == nil || st.Role != swarm.RoleManager {
		return nil
	}
	n.log.Info("joining the raft membership again")
	return n.becomeManager(ctx)
}

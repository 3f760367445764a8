package node

import (
	"context"
	"path/filepath"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/swarm"
)

// changeRole installs a certificate for a new role and starts or stops the
// manager role to match (agent callback).
func (n *Node) changeRole(ctx context.Context, role swarm.NodeRole, certPEM, keyPEM []byte) error {
	if err := n.lock(ctx); err != nil {
		return err
	}
	defer n.unlock()
	n.mu.Lock()
	creds, st := n.creds, n.st
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
	n.log.Info("role changed", "role", role)
	if role == swarm.RoleManager {
		return n.becomeManager(ctx)
	}
	n.stopManager()
	return nil
}

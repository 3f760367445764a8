package node

import (
	"fmt"
	"os"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/manager"
	"github.com/shoal-project/shoal/swarm"
)

// The agent renews the node's certificate before it expires (agent/renew.go)
// and hands it to changeRole. A node that was stopped for longer than the
// rest of its certificate's lifetime cannot renew: the managers refuse an
// expired certificate, and only a join token gets a new one. Such a node
// starts anyway, runs nothing of the swarm, and says what to do.

// msgCertExpired is Docker's message for a node whose certificates expired
// while it was stopped (moby's errSwarmCertificatesExpired).
const msgCertExpired = "Swarm certificates have expired. To replace them, leave the swarm and join again."

// certExpiredError is msgCertExpired with what this node must do.
func certExpiredError(id ca.Identity) string {
	return fmt.Sprintf("%s This node's certificate expired at %s, %s ago: the managers refuse it. "+
		"Run \"docker swarm leave\" on this node, then \"docker swarm join --token <token> <manager address>\" "+
		"with the token that \"docker swarm join-token worker\" (or manager) prints on a manager; "+
		"then remove the old node %s there with \"docker node rm %[4]s\" (a manager after \"docker node demote %[4]s\").",
		msgCertExpired, id.NotAfter.UTC().Format(time.RFC3339), time.Since(id.NotAfter).Round(time.Second), id.NodeID)
}

// resumeExpired keeps the membership of a node whose certificate expired,
// in the error state: docker info shows the message, cluster commands
// answer it, swarm leave works. It starts neither the cluster port nor the
// agent nor the manager role (none could work with the certificate).
// false if certPEM is not an expired certificate.
func (n *Node) resumeExpired(st *state, certPEM []byte) bool {
	id, err := ca.CertIdentity(certPEM)
	if err != nil || time.Now().Before(id.NotAfter) {
		return false
	}
	st.Error = certExpiredError(id)
	n.log.Error("this node cannot take part in the swarm: its certificate expired while it was stopped",
		"node", st.NodeID, "expired", id.NotAfter.UTC().Format(time.RFC3339), "what_to_do", st.Error)
	n.mu.Lock()
	n.st, n.creds = st, nil
	n.mu.Unlock()
	return true
}

// certExpired returns the error of a node whose certificate has expired:
// one resumed after it expired (resumeExpired), or one that runs and could
// not renew it in time (no leader during the last fifth of its lifetime).
// Empty otherwise.
func (n *Node) certExpired() string {
	n.mu.Lock()
	st, creds := n.st, n.creds
	n.mu.Unlock()
	switch {
	case st == nil:
		return ""
	case creds == nil:
		return st.Error
	}
	if id := creds.Identity(); !time.Now().Before(id.NotAfter) {
		return certExpiredError(id)
	}
	return ""
}

// certExpiredControl refuses cluster requests on a node whose certificate
// expired, with Docker's message and what to do, rather than as a node in
// no swarm or a worker.
func (n *Node) certExpiredControl() error {
	if msg := n.certExpired(); msg != "" {
		return swarm.Errorf(swarm.ErrUnavailable, "%s", msg)
	}
	return nil
}

// certificateRenewed finishes a renewal of the same role: the manager role,
// if any, makes its requests on new connections, which present the new
// certificate. Nothing restarts.
func (n *Node) certificateRenewed(mgr *manager.Manager) {
	if mgr != nil {
		mgr.CertificateRenewed()
	}
	n.mu.Lock()
	creds := n.creds
	n.mu.Unlock()
	if creds != nil {
		id := creds.Identity()
		n.log.Info("certificate renewed", "role", id.Role, "expires", id.NotAfter.UTC().Format(time.RFC3339))
	}
}

// EnvTestMinCertExpiry, in a daemon's environment, lowers the shortest
// --cert-expiry its managers accept to a Go duration (e.g. "5s"). It is
// for tests only (see swarm.SetTestMinNodeCertExpiry): certificates that
// live seconds are renewed every few seconds by every node.
const EnvTestMinCertExpiry = "SHOAL_TEST_MIN_CERT_EXPIRY"

// applyTestMinCertExpiry reads EnvTestMinCertExpiry, if set.
func applyTestMinCertExpiry(log interface{ Warn(string, ...any) }) error {
	v, ok := os.LookupEnv(EnvTestMinCertExpiry)
	if !ok || v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("node: invalid %s=%q: want a positive duration such as 10s", EnvTestMinCertExpiry, v)
	}
	swarm.SetTestMinNodeCertExpiry(d)
	log.Warn("for tests only: certificate lifetimes down to "+d.String()+" accepted", "env", EnvTestMinCertExpiry)
	return nil
}

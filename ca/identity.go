package ca

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// Role names in a certificate's OrganizationalUnit, as in Swarm.
const (
	managerOU = "swarm-manager"
	workerOU  = "swarm-worker"
)

func roleOU(role swarm.NodeRole) string {
	if role == swarm.RoleManager {
		return managerOU
	}
	return workerOU
}

func roleFromOU(ou string) (swarm.NodeRole, bool) {
	switch ou {
	case managerOU:
		return swarm.RoleManager, true
	case workerOU:
		return swarm.RoleWorker, true
	}
	return "", false
}

// Identity is who a node certificate says its holder is. It is only as
// trustworthy as the verification of the certificate it was read from.
type Identity struct {
	NodeID    swarm.NodeID
	Role      swarm.NodeRole
	ClusterID swarm.ClusterID
	NotBefore time.Time
	NotAfter  time.Time
}

// IdentityOf reads the identity in a node certificate. It does not verify the
// certificate; a certificate without exactly one node ID, one known role and
// one cluster ID is an error of class PermissionDenied.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	s := cert.Subject
	if s.CommonName == "" || len(s.OrganizationalUnit) != 1 || len(s.Organization) != 1 || s.Organization[0] == "" {
		return Identity{}, swarm.Errorf(swarm.ErrPermissionDenied, "certificate does not name a node, a role and a cluster")
	}
	role, ok := roleFromOU(s.OrganizationalUnit[0])
	if !ok {
		return Identity{}, swarm.Errorf(swarm.ErrPermissionDenied, "certificate has unknown role %q", s.OrganizationalUnit[0])
	}
	return Identity{
		NodeID:    swarm.NodeID(s.CommonName),
		Role:      role,
		ClusterID: swarm.ClusterID(s.Organization[0]),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
	}, nil
}

// PeerIdentity returns the identity of the peer of a connection whose peer
// certificate crypto/tls verified: the client side of a connection accepted
// with ServerTLSConfig. A client that sent no certificate gets
// ErrNoPeerCertificate.
//
// The client side of ClientTLSConfig verifies the server itself, so crypto/tls
// records no verified chain there: use RootCA.VerifyPeer on that side.
func PeerIdentity(cs tls.ConnectionState) (Identity, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, ErrNoPeerCertificate
	}
	return IdentityOf(cs.VerifiedChains[0][0])
}

// VerifyPeer checks that the peer of a connection presented a certificate
// that chains to r now, and returns its identity. It works on either side of
// a connection, whatever the TLS configuration verified.
func (r *RootCA) VerifyPeer(cs tls.ConnectionState) (Identity, error) {
	return r.verifyPeer(cs, x509.ExtKeyUsageAny)
}

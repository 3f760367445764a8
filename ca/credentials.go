package ca

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"

	"github.com/shoal-project/shoal/swarm"
)

// Credentials are a node's current certificate and key under a fixed root.
// Update swaps them atomically; TLS configurations built from a Credentials
// value read the current certificate on each handshake, so a swap reaches the
// next connection without restarting listeners. Safe for concurrent use.
type Credentials struct {
	root *RootCA
	cur  atomic.Pointer[nodeCert]
}

// nodeCert is one certificate and key, checked and ready for handshakes.
// Immutable once stored.
type nodeCert struct {
	certPEM, keyPEM []byte
	identity        Identity
	// server presents [leaf, root], so that a joining node can learn the root;
	// client presents the leaf alone.
	server, client *tls.Certificate
}

// NewCredentials checks that certPEM is a node certificate that chains to
// root and is valid now, and that keyPEM is its key.
func NewCredentials(root *RootCA, certPEM, keyPEM []byte) (*Credentials, error) {
	nc, err := newNodeCert(root, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	c := &Credentials{root: root}
	c.cur.Store(nc)
	return c, nil
}

func newNodeCert(root *RootCA, certPEM, keyPEM []byte) (*nodeCert, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid node certificate or key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid node certificate: %w", err)
		}
	}
	if err := root.verify(leaf, nil, x509.ExtKeyUsageAny); err != nil {
		return nil, err
	}
	id, err := IdentityOf(leaf)
	if err != nil {
		return nil, err
	}
	client := &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: pair.PrivateKey, Leaf: leaf}
	server := &tls.Certificate{Certificate: [][]byte{leaf.Raw, root.cert.Raw}, PrivateKey: pair.PrivateKey, Leaf: leaf}
	return &nodeCert{
		certPEM:  clone(certPEM),
		keyPEM:   clone(keyPEM),
		identity: id,
		server:   server,
		client:   client,
	}, nil
}

// Update replaces the certificate and key after the same checks as
// NewCredentials. The new certificate may change the role (promotion,
// demotion) but not the node or the cluster. On error nothing changes.
func (c *Credentials) Update(certPEM, keyPEM []byte) error {
	nc, err := newNodeCert(c.root, certPEM, keyPEM)
	if err != nil {
		return err
	}
	old := c.cur.Load().identity
	if nc.identity.NodeID != old.NodeID || nc.identity.ClusterID != old.ClusterID {
		return swarm.Errorf(swarm.ErrInvalidArgument, "certificate is for node %s of cluster %s, not node %s of cluster %s",
			nc.identity.NodeID, nc.identity.ClusterID, old.NodeID, old.ClusterID)
	}
	c.cur.Store(nc)
	return nil
}

// Identity returns who the current certificate says this node is.
func (c *Credentials) Identity() Identity { return c.cur.Load().identity }

// Root returns the cluster root these credentials chain to.
func (c *Credentials) Root() *RootCA { return c.root }

// PEM returns the current certificate and key in PEM, from the same Update,
// e.g. to save them with SaveCredentials. The caller must not modify them.
func (c *Credentials) PEM() (certPEM, keyPEM []byte) {
	nc := c.cur.Load()
	return nc.certPEM, nc.keyPEM
}

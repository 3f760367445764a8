package ca

import (
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"

	"github.com/shoal-project/shoal/swarm"
)

// All nodes run shoal, so there is no older peer to be compatible with.
const minTLSVersion = tls.VersionTLS13

// ServerTLSConfig returns the configuration for a node's listener. It
// presents [node certificate, root certificate], so a joining node can learn
// the root from the handshake, and reads the certificate on every handshake.
//
// A client certificate is optional (a joining node has none yet), but one
// that is given must chain to the root, be valid now and name a node;
// crypto/tls verifies the chain against the root alone (servers check no host
// names), so PeerIdentity works on the accepted connection. Session tickets
// are off: every connection proves the certificate it presents now.
func (c *Credentials) ServerTLSConfig(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: minTLSVersion,
		NextProtos: nextProtos,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load().server, nil
		},
		ClientAuth:             tls.VerifyClientCertIfGiven,
		ClientCAs:              c.root.pool,
		SessionTicketsDisabled: true,
		VerifyConnection:       checkClientIdentity,
	}
}

// checkClientIdentity refuses a client whose verified certificate does not
// name a node. A client without a certificate passes: callers decide what
// such a connection may do (PeerIdentity fails for it).
func checkClientIdentity(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	_, err := PeerIdentity(cs)
	return err
}

// ClientTLSConfig returns the configuration for dialling another node. It
// presents the current node certificate and accepts a server whose
// certificate chains to the root, is valid now, is good for server
// authentication and names a node. No host name is checked: nodes are
// dialled by IP, so setting ServerName on the result changes nothing.
func (c *Credentials) ClientTLSConfig(nextProtos ...string) *tls.Config {
	root := c.root
	return &tls.Config{
		MinVersion: minTLSVersion,
		NextProtos: nextProtos,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return c.cur.Load().client, nil
		},
		// crypto/tls's own verification always checks a host name, so it is
		// off and VerifyConnection does the whole check instead. It runs on
		// every handshake, resumed or not.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := root.verifyPeer(cs, x509.ExtKeyUsageServerAuth)
			return err
		},
	}
}

// BootstrapTLSConfig returns the configuration for a node that has only a
// join token whose root digest is digest. It presents no certificate and
// accepts a server only if the chain the server sends contains a CA
// certificate with that digest and the server's certificate chains to it.
// Otherwise the handshake fails with Swarm's message, "remote CA does not
// match fingerprint. Expected: <digest>" (class PermissionDenied).
//
// The returned function gives the root accepted by the latest successful
// handshake, or nil before there was one.
func BootstrapTLSConfig(digest string, nextProtos ...string) (*tls.Config, func() *RootCA) {
	var accepted atomic.Pointer[RootCA]
	cfg := &tls.Config{
		MinVersion:         minTLSVersion,
		NextProtos:         nextProtos,
		InsecureSkipVerify: true, // see ClientTLSConfig; VerifyConnection checks
		VerifyConnection: func(cs tls.ConnectionState) error {
			root, err := pinnedRoot(cs.PeerCertificates, digest)
			if err != nil {
				return err
			}
			if _, err := root.verifyPeer(cs, x509.ExtKeyUsageServerAuth); err != nil {
				return err
			}
			accepted.Store(root)
			return nil
		},
	}
	return cfg, accepted.Load
}

// pinnedRoot finds the CA certificate with the given digest among those a
// server sent.
func pinnedRoot(certs []*x509.Certificate, digest string) (*RootCA, error) {
	for _, cert := range certs {
		if cert.BasicConstraintsValid && cert.IsCA && digestOf(cert.Raw) == digest {
			return rootFromCert(cert)
		}
	}
	return nil, swarm.Errorf(swarm.ErrPermissionDenied, "remote CA does not match fingerprint. Expected: %s", digest)
}

// verifyPeer checks the certificate a peer sent: it chains to r now, is good
// for usage and names a node.
func (r *RootCA) verifyPeer(cs tls.ConnectionState, usage x509.ExtKeyUsage) (Identity, error) {
	if len(cs.PeerCertificates) == 0 {
		return Identity{}, ErrNoPeerCertificate
	}
	leaf := cs.PeerCertificates[0]
	if err := r.verify(leaf, cs.PeerCertificates[1:], usage); err != nil {
		return Identity{}, err
	}
	return IdentityOf(leaf)
}

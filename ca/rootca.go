package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

const (
	// rootCN is the root certificate's CommonName, as in Swarm.
	rootCN = "swarm-ca"
	// rootValidity is how long a new root is valid, as in Swarm.
	rootValidity = 20 * 365 * 24 * time.Hour
	// backdate moves NotBefore into the past so that a peer whose clock is a
	// little behind the signer's still accepts a fresh certificate.
	backdate = time.Hour
	// digestLen is the length of a root digest in base 36: ceil(256/log2(36)).
	digestLen = 50

	pemCertificate = "CERTIFICATE"
	pemECKey       = "EC PRIVATE KEY"
	pemPKCS8Key    = "PRIVATE KEY"
	pemCSR         = "CERTIFICATE REQUEST"
)

// RootCA is a cluster's certificate authority: its certificate and, on
// managers, its private key. A RootCA is immutable and safe for concurrent use.
type RootCA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer // nil when the root can only verify
	keyPEM  []byte
	pool    *x509.CertPool
	digest  string
}

// NewRootCA creates a self-signed ECDSA P-256 root, CommonName "swarm-ca",
// valid for 20 years.
func NewRootCA() (*RootCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca: generate root key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: rootCN},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("ca: create root certificate: %w", err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return ParseRootCA(encodePEM(pemCertificate, der), keyPEM)
}

// ParseRootCA reads a root from PEM. keyPEM may be empty: the root then
// verifies certificates but cannot sign. A key that does not belong to the
// certificate is an error.
func ParseRootCA(certPEM, keyPEM []byte) (*RootCA, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid root CA certificate: %w", err)
	}
	r, err := rootFromCert(cert)
	if err != nil {
		return nil, err
	}
	if len(keyPEM) == 0 {
		return r, nil
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid root CA key: %w", err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "root CA key does not match its certificate")
	}
	r.key = key
	r.keyPEM = clone(keyPEM)
	return r, nil
}

// rootFromCert wraps a CA certificate in a verify-only RootCA.
func rootFromCert(cert *x509.Certificate) (*RootCA, error) {
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "root CA certificate is not a CA")
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &RootCA{
		cert:    cert,
		certPEM: encodePEM(pemCertificate, cert.Raw),
		pool:    pool,
		digest:  digestOf(cert.Raw),
	}, nil
}

// CertPEM returns the root certificate in PEM. The caller must not modify it.
func (r *RootCA) CertPEM() []byte { return r.certPEM }

// KeyPEM returns the root key in PEM, or nil if this root cannot sign. The
// caller must not modify it.
func (r *RootCA) KeyPEM() []byte { return r.keyPEM }

// CanSign reports whether the root holds its key.
func (r *RootCA) CanSign() bool { return r.key != nil }

// Cert returns the parsed root certificate. The caller must not modify it.
func (r *RootCA) Cert() *x509.Certificate { return r.cert }

// Pool returns a pool holding only the root. The caller must not modify it.
func (r *RootCA) Pool() *x509.CertPool { return r.pool }

// Digest returns the SHA-256 of the root certificate's DER in base 36,
// left-padded with '0' to 50 characters: the digest part of a join token.
func (r *RootCA) Digest() string { return r.digest }

// Sign issues a node certificate for the public key in csrPEM, valid from a
// little before now until now+expiry. See SignAt.
func (r *RootCA) Sign(csrPEM []byte, id swarm.NodeID, role swarm.NodeRole, cluster swarm.ClusterID, expiry time.Duration) ([]byte, error) {
	return r.SignAt(time.Now(), csrPEM, id, role, cluster, expiry)
}

// SignTimeAfter is the time to pass SignAt so that the certificate's
// NotBefore is later than floor (a node's swarm.Node.CertFloor, which a
// signer whose clock is behind the last signer's might otherwise undercut),
// and never earlier than now.
func SignTimeAfter(now, floor time.Time) time.Time {
	if min := floor.Add(backdate + time.Second); now.Before(min) {
		return min
	}
	return now
}

// SignAt issues a node certificate as if the time were now. The subject is
// CN=id, OU=role ("swarm-manager" or "swarm-worker"), O=cluster, whatever the
// CSR asked for; only the CSR's public key is used, and its signature must
// verify. The certificate is good for server and client authentication.
func (r *RootCA) SignAt(now time.Time, csrPEM []byte, id swarm.NodeID, role swarm.NodeRole, cluster swarm.ClusterID, expiry time.Duration) ([]byte, error) {
	if r.key == nil {
		return nil, ErrNoSigningKey
	}
	if err := checkSignRequest(id, role, cluster, expiry); err != nil {
		return nil, err
	}
	csr, err := parseCSR(csrPEM)
	if err != nil {
		return nil, err
	}
	tmpl, err := nodeTemplate(now, id, role, cluster, expiry)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.cert, csr.PublicKey, r.key)
	if err != nil {
		return nil, fmt.Errorf("ca: sign node certificate: %w", err)
	}
	return encodePEM(pemCertificate, der), nil
}

func checkSignRequest(id swarm.NodeID, role swarm.NodeRole, cluster swarm.ClusterID, expiry time.Duration) error {
	switch {
	case id == "":
		return swarm.Errorf(swarm.ErrInvalidArgument, "certificate needs a node ID")
	case !role.Valid():
		return swarm.Errorf(swarm.ErrInvalidArgument, "invalid node role %q", role)
	case cluster == "":
		return swarm.Errorf(swarm.ErrInvalidArgument, "certificate needs a cluster ID")
	case expiry <= 0:
		return swarm.Errorf(swarm.ErrInvalidArgument, "certificate expiry must be positive")
	}
	return nil
}

// parseCSR decodes a PEM CSR and checks its self-signature, which proves the
// requester holds the private key.
func parseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	der, err := decodePEM(csrPEM, pemCSR)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid certificate signing request: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid certificate signing request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "certificate signing request signature does not verify: %w", err)
	}
	return csr, nil
}

func nodeTemplate(now time.Time, id swarm.NodeID, role swarm.NodeRole, cluster swarm.ClusterID, expiry time.Duration) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ou := roleOU(role)
	return &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         string(id),
			OrganizationalUnit: []string{ou},
			Organization:       []string{string(cluster)},
		},
		// Swarm puts the role and the node ID in the SANs too; nothing here
		// checks them, but other tools reading the certificate may.
		DNSNames:              []string{ou, string(id)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(expiry),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}, nil
}

// verify checks that leaf chains to the root at the current time, for usage,
// taking any further certificates the peer sent as intermediates.
func (r *RootCA) verify(leaf *x509.Certificate, rest []*x509.Certificate, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range rest {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         r.pool,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return swarm.Errorf(swarm.ErrPermissionDenied, "certificate is not valid for this cluster: %w", err)
	}
	return nil
}

// digestOf renders sha256(der) as Swarm renders a root digest in a token.
func digestOf(der []byte) string {
	sum := sha256.Sum256(der)
	return fmt.Sprintf("%0*s", digestLen, new(big.Int).SetBytes(sum[:]).Text(36))
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("ca: serial number: %w", err)
	}
	return n, nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

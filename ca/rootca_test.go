package ca_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestNewRootCA(t *testing.T) {
	root := catest.NewCA(t)
	cert := root.Cert()
	if cert.Subject.CommonName != "swarm-ca" || !cert.IsCA || !cert.BasicConstraintsValid {
		t.Fatalf("root subject %v IsCA %v", cert.Subject, cert.IsCA)
	}
	if cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("root key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
	}
	if got := cert.NotAfter.Sub(time.Now()); got < 19*365*24*time.Hour {
		t.Fatalf("root valid for %v, want about 20 years", got)
	}
	if !root.CanSign() || root.KeyPEM() == nil {
		t.Fatal("new root cannot sign")
	}
	d := root.Digest()
	if len(d) != 50 || strings.Trim(d, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		t.Fatalf("digest %q is not 50 base-36 characters", d)
	}
}

func TestParseRootCA(t *testing.T) {
	root := catest.NewCA(t)
	full, err := ca.ParseRootCA(root.CertPEM(), root.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	if full.Digest() != root.Digest() || !full.CanSign() {
		t.Fatal("parsed root differs from the original")
	}

	verifyOnly, err := ca.ParseRootCA(root.CertPEM(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if verifyOnly.CanSign() || verifyOnly.KeyPEM() != nil {
		t.Fatal("root parsed without a key claims it can sign")
	}
	_, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyOnly.Sign(csrPEM, "n1", swarm.RoleWorker, catest.ClusterID, time.Hour); !errors.Is(err, ca.ErrNoSigningKey) {
		t.Fatalf("sign without key: %v, want ErrNoSigningKey", err)
	}

	other := catest.NewCA(t)
	if _, err := ca.ParseRootCA(root.CertPEM(), other.KeyPEM()); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("mismatched key: %v, want invalid argument", err)
	}
	if _, err := ca.ParseRootCA([]byte("garbage"), nil); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("garbage certificate: %v, want invalid argument", err)
	}
	node := catest.NewNode(t, root, swarm.RoleWorker)
	certPEM, _ := node.PEM()
	if _, err := ca.ParseRootCA(certPEM, nil); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("node certificate as root: %v, want invalid argument", err)
	}
}

func TestSignAndVerify(t *testing.T) {
	root := catest.NewCA(t)
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	certPEM, err := root.Sign(csrPEM, "node1", swarm.RoleManager, "cluster1", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, certPEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: root.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("server auth: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: root.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client auth: %v", err)
	}
	if cert.Subject.CommonName != "node1" || !slices.Equal(cert.Subject.OrganizationalUnit, []string{"swarm-manager"}) ||
		!slices.Equal(cert.Subject.Organization, []string{"cluster1"}) {
		t.Fatalf("subject %v", cert.Subject)
	}
	if cert.IsCA {
		t.Fatal("node certificate is a CA")
	}
	if !cert.NotBefore.Before(before) {
		t.Fatalf("NotBefore %v is not in the past", cert.NotBefore)
	}
	if want := before.Add(2 * time.Hour); cert.NotAfter.Before(want.Add(-time.Minute)) || cert.NotAfter.After(want.Add(time.Minute)) {
		t.Fatalf("NotAfter %v, want about %v", cert.NotAfter, want)
	}
	if _, err := ca.NewCredentials(root, certPEM, keyPEM); err != nil {
		t.Fatalf("credentials from signed certificate: %v", err)
	}
}

func TestSignIgnoresCSRSubject(t *testing.T) {
	root := catest.NewCA(t)
	csrPEM := csrWithSubject(t, "evil", "swarm-manager", "othercluster")
	certPEM, err := root.Sign(csrPEM, "node2", swarm.RoleWorker, "cluster1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.IdentityOf(parseCert(t, certPEM))
	if err != nil {
		t.Fatal(err)
	}
	if id.NodeID != "node2" || id.Role != swarm.RoleWorker || id.ClusterID != "cluster1" {
		t.Fatalf("identity %+v follows the CSR", id)
	}
}

func TestSignRejects(t *testing.T) {
	root := catest.NewCA(t)
	_, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	tampered := tamperCSR(t, csrPEM)
	tests := []struct {
		name    string
		csr     []byte
		id      swarm.NodeID
		role    swarm.NodeRole
		cluster swarm.ClusterID
		expiry  time.Duration
	}{
		{"garbage CSR", []byte("not a csr"), "n", swarm.RoleWorker, "c", time.Hour},
		{"certificate instead of CSR", root.CertPEM(), "n", swarm.RoleWorker, "c", time.Hour},
		{"bad CSR signature", tampered, "n", swarm.RoleWorker, "c", time.Hour},
		{"no node ID", csrPEM, "", swarm.RoleWorker, "c", time.Hour},
		{"bad role", csrPEM, "n", "admin", "c", time.Hour},
		{"no cluster", csrPEM, "n", swarm.RoleWorker, "", time.Hour},
		{"zero expiry", csrPEM, "n", swarm.RoleWorker, "c", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := root.Sign(tt.csr, tt.id, tt.role, tt.cluster, tt.expiry)
			if !errors.Is(err, swarm.ErrInvalidArgument) {
				t.Fatalf("got %v, want invalid argument", err)
			}
		})
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	root := catest.NewCA(t)
	for _, role := range []swarm.NodeRole{swarm.RoleManager, swarm.RoleWorker} {
		creds := catest.NewNodeWithID(t, root, "abc", role)
		certPEM, _ := creds.PEM()
		cert := parseCert(t, certPEM)
		id, err := ca.IdentityOf(cert)
		if err != nil {
			t.Fatal(err)
		}
		want := ca.Identity{NodeID: "abc", Role: role, ClusterID: catest.ClusterID, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}
		if id != want {
			t.Fatalf("identity %+v, want %+v", id, want)
		}
		if creds.Identity() != want {
			t.Fatalf("credentials identity %+v, want %+v", creds.Identity(), want)
		}
	}
	if _, err := ca.IdentityOf(root.Cert()); !errors.Is(err, swarm.ErrPermissionDenied) {
		t.Fatalf("identity of the root: %v, want permission denied", err)
	}
}

func TestNewCredentialsRejects(t *testing.T) {
	root := catest.NewCA(t)
	other := catest.NewCA(t)
	good, goodKey := catest.Issue(t, root, "n1", swarm.RoleWorker, time.Now(), time.Hour)
	foreign, foreignKey := catest.Issue(t, other, "n1", swarm.RoleWorker, time.Now(), time.Hour)
	expired, expiredKey := catest.Issue(t, root, "n1", swarm.RoleWorker, time.Now().Add(-48*time.Hour), time.Hour)
	_, otherKey := catest.Issue(t, root, "n1", swarm.RoleWorker, time.Now(), time.Hour)
	tests := []struct {
		name      string
		cert, key []byte
		class     error
	}{
		{"other CA", foreign, foreignKey, swarm.ErrPermissionDenied},
		{"expired", expired, expiredKey, swarm.ErrPermissionDenied},
		{"key of another certificate", good, otherKey, swarm.ErrInvalidArgument},
		{"garbage", []byte("x"), goodKey, swarm.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ca.NewCredentials(root, tt.cert, tt.key); !errors.Is(err, tt.class) {
				t.Fatalf("got %v, want %v", err, tt.class)
			}
		})
	}
}

// csrWithSubject returns a CSR that asks for a subject of its own.
func csrWithSubject(t *testing.T, cn, ou, o string) []byte {
	t.Helper()
	keyPEM, _, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{}
	tmpl.Subject.CommonName = cn
	tmpl.Subject.OrganizationalUnit = []string{ou}
	tmpl.Subject.Organization = []string{o}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// tamperCSR flips a bit of the CSR's signature.
func tamperCSR(t *testing.T, csrPEM []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	der := slices.Clone(block.Bytes)
	der[len(der)-2] ^= 0x01
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
}

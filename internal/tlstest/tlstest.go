// Package tlstest writes the certificates that the tests of the remote API
// over TLS need, the way a user makes them for dockerd's --tlsverify: a CA,
// a server certificate for the daemon's addresses, a client certificate, and
// a client certificate of another CA.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are the paths of the PEM files written by Write.
type Files struct {
	Dir                       string
	CA                        string // ca.pem: signs the server and client certificates
	ServerCert, ServerKey     string
	ClientCert, ClientKey     string // cert.pem and key.pem, Docker's names
	RogueClientCert, RogueKey string // signed by RogueCA
	RogueCA                   string
}

// Write makes the certificates in a new temporary directory; the server's
// is valid for ips and "localhost".
func Write(t testing.TB, ips ...net.IP) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{
		Dir:             dir,
		CA:              filepath.Join(dir, "ca.pem"),
		ServerCert:      filepath.Join(dir, "server-cert.pem"),
		ServerKey:       filepath.Join(dir, "server-key.pem"),
		ClientCert:      filepath.Join(dir, "cert.pem"),
		ClientKey:       filepath.Join(dir, "key.pem"),
		RogueCA:         filepath.Join(dir, "rogue-ca.pem"),
		RogueClientCert: filepath.Join(dir, "rogue-cert.pem"),
		RogueKey:        filepath.Join(dir, "rogue-key.pem"),
	}
	caCert, caKey := newCA(t, "shoal test CA", f.CA)
	issue(t, caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "shoal daemon"},
		DNSNames:    []string{"localhost"},
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, f.ServerCert, f.ServerKey)
	issue(t, caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, f.ClientCert, f.ClientKey)
	rogueCert, rogueKey := newCA(t, "another CA", f.RogueCA)
	issue(t, rogueCert, rogueKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, f.RogueClientCert, f.RogueKey)
	return f
}

func newCA(t testing.TB, name, certPath string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der := sign(t, tmpl, tmpl, &key.PublicKey, key)
	writePEM(t, certPath, "CERTIFICATE", der)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func issue(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, certPath, keyPath string) {
	t.Helper()
	key := newKey(t)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	writePEM(t, certPath, "CERTIFICATE", sign(t, tmpl, ca, &key.PublicKey, caKey))
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyPath, "EC PRIVATE KEY", der)
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) []byte {
	t.Helper()
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = sn
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

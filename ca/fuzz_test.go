package ca_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/swarm"
)

// FuzzJoin runs what a manager does with a join request's token and CSR,
// both from a node that holds no certificate yet: parse the token, find the
// role it admits, sign the CSR. A token that parses prints back as itself;
// only the cluster's exact tokens admit anyone; a signed certificate chains
// to the root and names the node, role and cluster the manager chose,
// whatever the CSR asked for, for the CSR's own key.
func FuzzJoin(f *testing.F) {
	root, err := ca.NewRootCA()
	if err != nil {
		f.Fatal(err)
	}
	tokens := swarm.JoinTokens{Worker: ca.NewJoinToken(root), Manager: ca.NewJoinToken(root)}
	_, csr, err := ca.NewKeyAndCSR()
	if err != nil {
		f.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	caTrue, _ := asn1.Marshal(struct{ IsCA bool }{true})
	f.Add(tokens.Worker, csr, "", []byte(nil))
	f.Add(tokens.Manager, csr, "", []byte(nil))
	f.Add("SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx", []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"), "", []byte(nil))
	f.Add("SWMTKN-1--", []byte{}, "swarm-manager", caTrue)
	f.Add(tokens.Worker, []byte{}, "othernode", []byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, token string, csrPEM []byte, subject string, ext []byte) {
		if len(csrPEM) == 0 {
			// A well-signed CSR asking for what it likes: a subject (as
			// node ID, role and cluster), a name, CA rights.
			csrPEM = fuzzCSR(key, subject, ext)
		}
		if tok, err := ca.ParseJoinToken(token); err == nil {
			if tok.String() != token {
				t.Fatalf("token %q parses to %q", token, tok)
			}
		} else if !errors.Is(err, swarm.ErrInvalidArgument) {
			t.Fatalf("bad token error of the wrong class: %v", err)
		}
		role, err := ca.RoleForToken(tokens, token)
		switch {
		case err != nil && (token == tokens.Worker || token == tokens.Manager):
			t.Fatalf("the cluster's own token was refused: %v", err)
		case err == nil && token != tokens.Worker && token != tokens.Manager:
			t.Fatalf("token %q admitted a %s", token, role)
		}

		const id, cluster = swarm.NodeID("nodeidaaaaaaaaaaaaaaaaaaa"), swarm.ClusterID("clusteridccccccccccccccccc")
		certPEM, err := root.Sign(csrPEM, id, swarm.RoleWorker, cluster, time.Hour)
		if err != nil {
			return
		}
		block, _ := pem.Decode(certPEM)
		if block == nil {
			t.Fatalf("signed certificate is not PEM: %q", certPEM)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		got, err := root.VerifyPeer(tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}})
		if err != nil {
			t.Fatalf("signed certificate does not verify: %v", err)
		}
		if got.NodeID != id || got.Role != swarm.RoleWorker || got.ClusterID != cluster {
			t.Fatalf("the CSR changed the identity: %+v", got)
		}
		if cert.IsCA || len(cert.IPAddresses)+len(cert.URIs)+len(cert.EmailAddresses) > 0 || !hasOnly(cert.DNSNames, "swarm-worker", string(id)) {
			t.Fatalf("the CSR put its own names or CA rights in the certificate: %v %v %v", cert.DNSNames, cert.IPAddresses, cert.IsCA)
		}
		req, _ := pem.Decode(csrPEM)
		parsed, err := x509.ParseCertificateRequest(req.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cert.PublicKey, parsed.PublicKey) {
			t.Fatal("the certificate is not for the CSR's key")
		}
	})
}

// fuzzCSR is a CSR signed with key whose subject and DNS name are subject
// and which asks for the basic constraints ext (DER; CA rights if it says so).
func fuzzCSR(key *ecdsa.PrivateKey, subject string, ext []byte) []byte {
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: subject, OrganizationalUnit: []string{subject}, Organization: []string{subject}},
		DNSNames: []string{subject},
	}
	if ext != nil {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: ext}}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil // not a CSR the Go library would write; the fuzzed PEM covers the rest
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// hasOnly reports whether names is empty or holds only the names the CA
// itself gives a node.
func hasOnly(names []string, allowed ...string) bool {
	for _, n := range names {
		ok := false
		for _, a := range allowed {
			ok = ok || n == a
		}
		if !ok {
			return false
		}
	}
	return true
}

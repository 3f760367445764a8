package ca_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

func TestMutualTLS(t *testing.T) {
	root, manager, worker := catest.Pair(t)
	r := catest.Handshake(t, manager.ServerTLSConfig("shoal"), worker.ClientTLSConfig("shoal"))
	if !r.OK() {
		t.Fatalf("handshake: server %v, client %v", r.ServerErr, r.ClientErr)
	}
	if r.Server.NegotiatedProtocol != "shoal" {
		t.Fatalf("negotiated %q", r.Server.NegotiatedProtocol)
	}
	client, err := ca.PeerIdentity(r.Server)
	if err != nil {
		t.Fatal(err)
	}
	if client != worker.Identity() {
		t.Fatalf("server saw %+v, want %+v", client, worker.Identity())
	}
	server, err := root.VerifyPeer(r.Client)
	if err != nil {
		t.Fatal(err)
	}
	if server != manager.Identity() {
		t.Fatalf("client saw %+v, want %+v", server, manager.Identity())
	}
	// The server sends the root with its certificate, for joining nodes.
	if n := len(r.Client.PeerCertificates); n != 2 || !r.Client.PeerCertificates[1].Equal(root.Cert()) {
		t.Fatalf("server chain has %d certificates, want [node, root]", n)
	}
}

func TestMutualTLSOtherCA(t *testing.T) {
	_, manager, worker := catest.Pair(t)
	_, strangerManager, strangerWorker := catest.Pair(t)

	t.Run("client of another CA", func(t *testing.T) {
		// The client trusts any server, so only the server's check can fail.
		client := &tls.Config{
			MinVersion: tls.VersionTLS13, InsecureSkipVerify: true,
			Certificates: []tls.Certificate{keyPair(t, strangerWorker)},
		}
		r := catest.Handshake(t, manager.ServerTLSConfig(), client)
		if r.ServerErr == nil || !strings.Contains(r.ServerErr.Error(), "unknown authority") {
			t.Fatalf("server error %v, want unknown authority", r.ServerErr)
		}
		if r.ClientErr == nil {
			t.Fatal("client did not learn that the server refused it")
		}
	})
	t.Run("nodes of two CAs", func(t *testing.T) {
		r := catest.Handshake(t, manager.ServerTLSConfig(), strangerWorker.ClientTLSConfig())
		if r.ServerErr == nil || r.ClientErr == nil {
			t.Fatalf("handshake: server %v, client %v; want both to fail", r.ServerErr, r.ClientErr)
		}
	})
	t.Run("server of another CA", func(t *testing.T) {
		// The server accepts clients without a certificate, so only the
		// client's check can fail.
		r := catest.Handshake(t, strangerManager.ServerTLSConfig(), worker.ClientTLSConfig())
		if r.ClientErr == nil || !strings.Contains(r.ClientErr.Error(), "unknown authority") {
			t.Fatalf("client error %v, want unknown authority", r.ClientErr)
		}
		if r.ServerErr == nil {
			t.Fatal("server did not learn that the client refused it")
		}
		if !errors.Is(r.ClientErr, swarm.ErrPermissionDenied) {
			t.Fatalf("client error %v, want permission denied", r.ClientErr)
		}
	})
}

func TestServerAcceptsClientWithoutCertificate(t *testing.T) {
	root, manager, _ := catest.Pair(t)
	r := catest.Handshake(t, manager.ServerTLSConfig(), &tls.Config{
		MinVersion: tls.VersionTLS13, InsecureSkipVerify: true,
	})
	if !r.OK() {
		t.Fatalf("handshake: server %v, client %v", r.ServerErr, r.ClientErr)
	}
	if _, err := ca.PeerIdentity(r.Server); !errors.Is(err, ca.ErrNoPeerCertificate) {
		t.Fatalf("PeerIdentity = %v, want ErrNoPeerCertificate", err)
	}
	if _, err := root.VerifyPeer(r.Server); !errors.Is(err, ca.ErrNoPeerCertificate) {
		t.Fatalf("VerifyPeer = %v, want ErrNoPeerCertificate", err)
	}
}

func TestBootstrap(t *testing.T) {
	root, manager, _ := catest.Pair(t)
	tok, err := ca.ParseJoinToken(ca.NewJoinToken(root))
	if err != nil {
		t.Fatal(err)
	}
	cfg, accepted := ca.BootstrapTLSConfig(tok.Digest, "shoal")
	if accepted() != nil {
		t.Fatal("root accepted before any handshake")
	}
	r := catest.Handshake(t, manager.ServerTLSConfig("shoal"), cfg)
	if !r.OK() {
		t.Fatalf("handshake: server %v, client %v", r.ServerErr, r.ClientErr)
	}
	got := accepted()
	if got == nil || got.Digest() != root.Digest() || !got.Cert().Equal(root.Cert()) {
		t.Fatal("bootstrap did not return the server's root")
	}
	if got.CanSign() {
		t.Fatal("root learned over the wire claims it can sign")
	}
	if _, err := ca.PeerIdentity(r.Server); !errors.Is(err, ca.ErrNoPeerCertificate) {
		t.Fatalf("joining node has identity: %v", err)
	}
}

func TestBootstrapWrongDigest(t *testing.T) {
	_, manager, _ := catest.Pair(t)
	other := catest.NewCA(t)
	cfg, accepted := ca.BootstrapTLSConfig(other.Digest())
	r := catest.Handshake(t, manager.ServerTLSConfig(), cfg)
	if r.ClientErr == nil {
		t.Fatal("bootstrap accepted a server of another CA")
	}
	want := "remote CA does not match fingerprint. Expected: " + other.Digest()
	if r.ClientErr.Error() != want {
		t.Fatalf("error %q, want %q", r.ClientErr, want)
	}
	if !errors.Is(r.ClientErr, swarm.ErrPermissionDenied) {
		t.Fatalf("error %v is not permission denied", r.ClientErr)
	}
	if accepted() != nil {
		t.Fatal("a root was recorded after a failed handshake")
	}
}

// A server that sends a root with the right digest but a certificate of
// another CA is refused, and nothing is recorded.
func TestBootstrapLeafOfAnotherCA(t *testing.T) {
	root := catest.NewCA(t)
	_, stranger, _ := catest.Pair(t)
	pair := keyPair(t, stranger)
	pair.Certificate = append(pair.Certificate, root.Cert().Raw)
	cfg, accepted := ca.BootstrapTLSConfig(root.Digest())
	r := catest.Handshake(t, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}}, cfg)
	if !errors.Is(r.ClientErr, swarm.ErrPermissionDenied) {
		t.Fatalf("client error %v, want permission denied", r.ClientErr)
	}
	if accepted() != nil {
		t.Fatal("a root was recorded after a failed handshake")
	}
}

func TestCredentialsUpdate(t *testing.T) {
	root, manager, worker := catest.Pair(t)
	server := manager.ServerTLSConfig()
	client := worker.ClientTLSConfig()
	id := worker.Identity().NodeID

	first := catest.Handshake(t, server, client)
	if got, err := ca.PeerIdentity(first.Server); err != nil || got.Role != swarm.RoleWorker {
		t.Fatalf("before promotion: %+v, %v", got, err)
	}

	// Promote the worker and renew the manager, with the same configs.
	certPEM, keyPEM := catest.Issue(t, root, id, swarm.RoleManager, time.Now(), time.Hour)
	if err := worker.Update(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	if worker.Identity().Role != swarm.RoleManager {
		t.Fatalf("identity after update: %+v", worker.Identity())
	}
	renewed, renewedKey := catest.Issue(t, root, manager.Identity().NodeID, swarm.RoleManager, time.Now(), 2*time.Hour)
	if err := manager.Update(renewed, renewedKey); err != nil {
		t.Fatal(err)
	}

	second := catest.Handshake(t, server, client)
	if !second.OK() {
		t.Fatalf("handshake: server %v, client %v", second.ServerErr, second.ClientErr)
	}
	got, err := ca.PeerIdentity(second.Server)
	if err != nil || got.NodeID != id || got.Role != swarm.RoleManager {
		t.Fatalf("after promotion server saw %+v, %v", got, err)
	}
	if !second.Client.PeerCertificates[0].Equal(parseCert(t, renewed)) {
		t.Fatal("server still presents its old certificate")
	}
	if cur, _ := worker.PEM(); string(cur) != string(certPEM) {
		t.Fatal("PEM does not return the updated certificate")
	}
}

func TestCredentialsUpdateRejects(t *testing.T) {
	root, _, worker := catest.Pair(t)
	before, _ := worker.PEM()
	otherNode, otherKey := catest.Issue(t, root, "someoneelse", swarm.RoleWorker, time.Now(), time.Hour)
	if err := worker.Update(otherNode, otherKey); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("update to another node: %v, want invalid argument", err)
	}
	stranger := catest.NewCA(t)
	foreign, foreignKey := catest.Issue(t, stranger, worker.Identity().NodeID, swarm.RoleWorker, time.Now(), time.Hour)
	if err := worker.Update(foreign, foreignKey); !errors.Is(err, swarm.ErrPermissionDenied) {
		t.Fatalf("update to another CA: %v, want permission denied", err)
	}
	if after, _ := worker.PEM(); string(after) != string(before) {
		t.Fatal("a rejected update changed the credentials")
	}
}

func TestExpiredCertificateRejected(t *testing.T) {
	root, manager, worker := catest.Pair(t)
	expired := func(role swarm.NodeRole) tls.Certificate {
		certPEM, keyPEM := catest.Issue(t, root, "old", role, time.Now().Add(-48*time.Hour), time.Hour)
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}

	t.Run("client", func(t *testing.T) {
		pair := expired(swarm.RoleWorker)
		client := &tls.Config{
			MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, Certificates: []tls.Certificate{pair},
		}
		r := catest.Handshake(t, manager.ServerTLSConfig(), client)
		if r.ServerErr == nil || !strings.Contains(r.ServerErr.Error(), "expired") {
			t.Fatalf("server error %v, want an expired certificate", r.ServerErr)
		}
	})
	t.Run("server", func(t *testing.T) {
		pair := expired(swarm.RoleManager)
		pair.Certificate = append(pair.Certificate, root.Cert().Raw)
		server := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}}
		r := catest.Handshake(t, server, worker.ClientTLSConfig())
		if r.ClientErr == nil || !strings.Contains(r.ClientErr.Error(), "expired") {
			t.Fatalf("client error %v, want an expired certificate", r.ClientErr)
		}
		if !errors.Is(r.ClientErr, swarm.ErrPermissionDenied) {
			t.Fatalf("client error %v, want permission denied", r.ClientErr)
		}
	})
}

// A certificate from the right CA that does not name a node (here the root
// itself presented as a leaf) is refused by both sides.
func TestCertificateWithoutIdentityRejected(t *testing.T) {
	root, manager, worker := catest.Pair(t)
	pair, err := tls.X509KeyPair(root.CertPEM(), root.KeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	r := catest.Handshake(t, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}}, worker.ClientTLSConfig())
	if r.ClientErr == nil {
		t.Fatal("client accepted a server without a node identity")
	}
	r = catest.Handshake(t, manager.ServerTLSConfig(), &tls.Config{
		MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, Certificates: []tls.Certificate{pair},
	})
	if r.ServerErr == nil {
		t.Fatal("server accepted a client without a node identity")
	}
}

// keyPair returns creds' current certificate and key for a hand-made config.
func keyPair(t *testing.T, creds *ca.Credentials) tls.Certificate {
	t.Helper()
	certPEM, keyPEM := creds.PEM()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// Updates race with handshakes on configs built once; run with -race.
func TestCredentialsUpdateConcurrent(t *testing.T) {
	root, manager, worker := catest.Pair(t)
	id := manager.Identity().NodeID
	type pem struct{ cert, key []byte }
	renewals := make([]pem, 5)
	for i := range renewals {
		renewals[i].cert, renewals[i].key = catest.Issue(t, root, id, swarm.RoleManager, time.Now(), time.Hour)
	}
	server, client := manager.ServerTLSConfig(), worker.ClientTLSConfig()

	done := make(chan error, 1)
	go func() {
		for _, p := range renewals {
			if err := manager.Update(p.cert, p.key); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 5 {
		if r := catest.Handshake(t, server, client); !r.OK() {
			t.Errorf("handshake: server %v, client %v", r.ServerErr, r.ClientErr)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

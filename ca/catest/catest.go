package catest

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/swarm"
)

// ClusterID is the cluster of every certificate this package issues.
const ClusterID swarm.ClusterID = "catestcluster000000000001"

// Expiry is the validity of certificates from NewNode and NewNodeWithID.
const Expiry = 24 * time.Hour

// NewCA returns a new root CA that can sign.
func NewCA(t testing.TB) *ca.RootCA {
	t.Helper()
	root, err := ca.NewRootCA()
	if err != nil {
		t.Fatalf("catest: new root CA: %v", err)
	}
	return root
}

// NewNode returns credentials for a new node with a random ID and the given
// role, signed by root.
func NewNode(t testing.TB, root *ca.RootCA, role swarm.NodeRole) *ca.Credentials {
	t.Helper()
	return NewNodeWithID(t, root, swarm.NodeID(swarm.NewID()), role)
}

// NewNodeWithID returns credentials for node id with the given role, signed
// by root and valid for Expiry.
func NewNodeWithID(t testing.TB, root *ca.RootCA, id swarm.NodeID, role swarm.NodeRole) *ca.Credentials {
	t.Helper()
	certPEM, keyPEM := Issue(t, root, id, role, time.Now(), Expiry)
	creds, err := ca.NewCredentials(root, certPEM, keyPEM)
	if err != nil {
		t.Fatalf("catest: new credentials: %v", err)
	}
	return creds
}

// Issue returns a fresh key and a certificate for it, signed by root as if the
// time were now and valid until now+expiry. Issue certificates that are
// expired, or not yet valid, by choosing now.
func Issue(t testing.TB, root *ca.RootCA, id swarm.NodeID, role swarm.NodeRole, now time.Time, expiry time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatalf("catest: new key: %v", err)
	}
	certPEM, err = root.SignAt(now, csrPEM, id, role, ClusterID, expiry)
	if err != nil {
		t.Fatalf("catest: sign: %v", err)
	}
	return certPEM, keyPEM
}

// Pair returns a root and credentials for a manager and a worker under it.
func Pair(t testing.TB) (root *ca.RootCA, manager, worker *ca.Credentials) {
	t.Helper()
	root = NewCA(t)
	return root, NewNode(t, root, swarm.RoleManager), NewNode(t, root, swarm.RoleWorker)
}

// Result is the outcome of Handshake on both sides.
type Result struct {
	Server, Client       tls.ConnectionState
	ServerErr, ClientErr error
}

// OK reports whether both sides succeeded.
func (r Result) OK() bool { return r.ServerErr == nil && r.ClientErr == nil }

// handshakeTimeout bounds every read and write of Handshake.
const handshakeTimeout = 10 * time.Second

// Handshake connects a client with config client to a loopback TCP listener
// with config server, completes the TLS handshake and then sends one byte
// each way, and returns what each side saw. The exchange matters in TLS 1.3:
// a client learns that the server refused its certificate only when it next
// reads. Handshake returns after both sides are done and closed.
func Handshake(t testing.TB, server, client *tls.Config) Result {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("catest: listen: %v", err)
	}
	deadline := time.Now().Add(handshakeTimeout)
	type outcome struct {
		state tls.ConnectionState
		err   error
	}
	served := make(chan outcome, 1)
	go func() {
		state, err := serveOnce(ln, server, deadline)
		served <- outcome{state, err}
	}()
	var r Result
	r.Client, r.ClientErr = dialOnce(ln.Addr().String(), client, deadline)
	_ = ln.Close() // unblocks Accept if the client never connected
	s := <-served
	r.Server, r.ServerErr = s.state, s.err
	return r
}

func serveOnce(ln net.Listener, cfg *tls.Config, deadline time.Time) (tls.ConnectionState, error) {
	conn, err := ln.Accept()
	if err != nil {
		return tls.ConnectionState{}, err
	}
	tc := tls.Server(conn, cfg)
	defer tc.Close()
	if err := tc.SetDeadline(deadline); err != nil {
		return tls.ConnectionState{}, err
	}
	if err := tc.Handshake(); err != nil {
		return tc.ConnectionState(), err
	}
	buf := make([]byte, 1)
	if _, err := tc.Read(buf); err != nil {
		return tc.ConnectionState(), err
	}
	_, err = tc.Write(buf)
	return tc.ConnectionState(), err
}

func dialOnce(addr string, cfg *tls.Config, deadline time.Time) (tls.ConnectionState, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	tc := tls.Client(conn, cfg)
	defer tc.Close()
	if err := tc.SetDeadline(deadline); err != nil {
		return tls.ConnectionState{}, err
	}
	if err := tc.Handshake(); err != nil {
		return tc.ConnectionState(), err
	}
	if _, err := tc.Write([]byte{1}); err != nil {
		return tc.ConnectionState(), err
	}
	_, err = tc.Read(make([]byte, 1))
	return tc.ConnectionState(), err
}

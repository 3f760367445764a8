package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	shoal "github.com/shoal-project/shoal/swarm"
)

// stolen is a copy of a node's certificate and key, taken from its disk
// while it was a member (a stolen or decommissioned disk).
type stolen struct {
	cert tls.Certificate
	id   string
}

func steal(t *testing.T, n *node) stolen {
	t.Helper()
	dir := filepath.Join(n.dataRoot, "certificates")
	certPEM, err := os.ReadFile(filepath.Join(dir, ca.NodeCertFile))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, ca.NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return stolen{cert: cert, id: certSubject(t, certPEM)}
}

// certSubject is "<node ID> <OU>" of a PEM certificate.
func certSubject(t *testing.T, certPEM []byte) string {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.Subject.CommonName + " " + strings.Join(c.Subject.OrganizationalUnit, ",")
}

func (s stolen) tlsConfig(proto string) *tls.Config {
	// The attacker does not care who the server is.
	conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{proto}}
	if s.cert.Certificate != nil {
		conf.Certificates = []tls.Certificate{s.cert}
	}
	return conf
}

// httpClient speaks HTTP/2 to cluster ports with the stolen certificate.
func (s stolen) httpClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: s.tlsConfig("h2"), ForceAttemptHTTP2: true,
	}}
}

// call makes one RPC and returns its status code and body.
func (s stolen) call(t *testing.T, addr, path string, header map[string]string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	method := http.MethodPost
	if body == nil {
		method, b = http.MethodGet, nil
	}
	req, _ := http.NewRequest(method, "https://"+addr+path, bytes.NewReader(b))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := s.httpClient()
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(out)
}

// raftLayer dials Raft with the stolen certificate: the attacker's side is
// hashicorp/raft's own transport.
type raftLayer struct {
	s      stolen
	closed chan struct{}
}

func (l raftLayer) Accept() (net.Conn, error) { <-l.closed; return nil, net.ErrClosed }
func (l raftLayer) Close() error              { close(l.closed); return nil }
func (l raftLayer) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (l raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), l.s.tlsConfig("shoal-raft"))
}

// injectRaft sends the leader an AppendEntries of a higher term carrying a
// create-service command that runs `id` as root, as a leader would.
func (s stolen) injectRaft(t *testing.T, leaderAddr string) error {
	t.Helper()
	trans := raft.NewNetworkTransport(raftLayer{s: s, closed: make(chan struct{})}, 1, 5*time.Second, io.Discard)
	defer trans.Close()
	svc := &shoal.Service{ID: "pwned", Spec: shoal.ServiceSpec{Name: "pwned", Replicas: 1}}
	svc.Spec.Task.Container.Command = []string{"id"}
	data, err := store.NewCreateService(svc).Encode()
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(s.id)[0]
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte("127.0.0.1:1")},
		Term:      1 << 40,
		Entries:   []*raft.Log{{Index: 1 << 30, Term: 1 << 40, Type: raft.LogCommand, Data: data}},
	}
	var resp raft.AppendEntriesResponse
	return trans.AppendEntries(raft.ServerID("x"), raft.ServerAddress(leaderAddr), req, &resp)
}

// An old manager certificate owns nothing: once its node is demoted, and
// once it is removed, its kept copy gets nothing from Raft, the RPCs, the
// Docker API (even naming the leader as the node it forwards for) or a
// worker's task logs, its open connections are closed, and a worker's
// certificate cannot take a manager out of Raft. Nothing the attacker
// tried changes the cluster.
func TestOldCertificatesOwnNothing(t *testing.T) {
	c := newSwarm(t, 3, 1)
	dev01, dev03, dev04 := c.nodes[0], c.nodes[2], c.nodes[3]
	leader := c.leader(t, dev01)
	leaderID := nodeID(t, dev01, leader.name)
	mgr, wrk := steal(t, dev03), steal(t, dev04)

	// A worker certificate may not take a manager out of Raft.
	if code, body := wrk.call(t, leader.addr(), dispatchapi.PathRaftLeave, nil, dispatchapi.RaftLeaveRequest{}); code != http.StatusForbidden {
		t.Errorf("raft leave with a worker certificate: %d %s, want 403", code, body)
	}
	if code, body := wrk.call(t, leader.addr(), dispatchapi.PathRaftLeave, map[string]string{dispatchapi.HeaderForwardedNode: nodeID(t, dev01, "dev03")}, dispatchapi.RaftLeaveRequest{}); code == http.StatusOK {
		t.Errorf("raft leave with a worker certificate naming a manager: %d %s", code, body)
	}
	// Nor speak Raft, nor use the Docker API.
	if err := wrk.injectRaft(t, leader.addr()); err == nil {
		t.Error("raft append entries with a worker certificate accepted")
	}
	if code, body := wrk.call(t, leader.addr(), dispatchapi.PathDocker+"/v1.50/services", nil, nil); code == http.StatusOK {
		t.Errorf("the Docker API with a worker certificate: %d %.200s", code, body)
	}
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager", "dev04": ""})

	// A Raft connection opened while dev03 was a manager is closed when it
	// stops being one.
	open, err := tls.Dial("tcp", leader.addr(), mgr.tlsConfig("shoal-raft"))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	closed := make(chan error, 1)
	go func() { _, err := open.Read(make([]byte, 1)); closed <- err }()

	dev01.mustDocker(t, "node", "demote", "dev03")
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "", "dev04": ""})
	select {
	case <-closed:
	case <-time.After(converge):
		t.Error("the demoted manager's open Raft connection was not closed")
	}
	// dev03 renews its certificate as a worker and uses it.
	eventually(t, converge, func() error {
		b, err := os.ReadFile(filepath.Join(dev03.dataRoot, "certificates", ca.NodeCertFile))
		if err != nil {
			return err
		}
		if s := certSubject(t, b); !strings.HasSuffix(s, "swarm-worker") {
			return fmt.Errorf("dev03 still holds %s", s)
		}
		return nil
	})
	// Once dev03 was seen with its new certificate, the old one gets not
	// even a worker's RPCs.
	eventually(t, converge, func() error {
		if code, body := mgr.call(t, leader.addr(), dispatchapi.PathAssignments, nil, dispatchapi.AssignmentsRequest{}); code == http.StatusOK {
			return fmt.Errorf("the demoted manager's old certificate still gets its assignments: %.200s", body)
		}
		return nil
	})
	before := clusterState(t, dev01)
	probeOldCertificate(t, "demoted", mgr, leader, leaderID, dev04)

	// Removed: the same copy still gets nothing.
	dev03.kill(t)
	eventually(t, converge, func() error { return dev01.docker("node", "rm", "--force", "dev03").ok() })
	before = clusterState(t, dev01)
	probeOldCertificate(t, "removed", mgr, leader, leaderID, dev04)
	if after := clusterState(t, dev01); after != before {
		t.Errorf("the cluster changed under the attacker:\nbefore %s\nafter  %s", before, after)
	}
	if now := c.leader(t, dev01); now != leader {
		t.Errorf("the leader changed from %s to %s", leader.name, now.name)
	}
}

// TestClusterPortRefusesStrangers: the cluster port gives nothing to plain
// TCP, to a client without a certificate, to another cluster's manager
// certificate (with the leader's own node ID in it), to a brute-forced
// join token, or to malformed JSON from a worker, and the cluster is
// unchanged.
func TestClusterPortRefusesStrangers(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 1)
	dev01, dev02 := c.nodes[0], c.nodes[1]
	before := clusterState(t, dev01)
	leaderID := nodeID(t, dev01, "dev01")

	// Plain HTTP on the TLS port.
	if resp, err := http.Get("http://" + dev01.addr() + "/rpc/ping"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP on the cluster port answered 200")
		}
	}
	// Another cluster's CA, even naming the leader: no handshake.
	other := catest.NewNodeWithID(t, catest.NewCA(t), shoal.NodeID(leaderID), shoal.RoleManager)
	certPEM, keyPEM := other.PEM()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	foreign := stolen{cert: cert, id: leaderID + " swarm-manager"}
	if err := foreign.injectRaft(t, dev01.addr()); err == nil {
		t.Error("raft with another cluster's certificate accepted")
	}
	if code, body := foreign.call(t, dev01.addr(), dispatchapi.PathDocker+"/v1.50/services", nil, nil); code == http.StatusOK {
		t.Errorf("the Docker API with another cluster's certificate: %.200s", body)
	}
	// No certificate at all (as a joining node): only the join is served.
	anon := stolen{}
	for _, path := range []string{dispatchapi.PathRenew, dispatchapi.PathAssignments, dispatchapi.PathRaftLeave, dispatchapi.PathDocker + "/v1.50/services"} {
		if code, body := anon.call(t, dev01.addr(), path, nil, struct{}{}); code == http.StatusOK {
			t.Errorf("%s without a certificate answered 200: %.200s", path, body)
		}
	}
	for range 20 { // guessed tokens
		tok := "SWMTKN-1-" + strings.Repeat("1", 50) + "-" + strings.Repeat("a", 25)
		if code, _ := anon.call(t, dev01.addr(), dispatchapi.PathJoin, nil, dispatchapi.JoinRequest{Token: tok, CSR: newCSR(t)}); code == http.StatusOK {
			t.Fatal("a guessed join token was accepted")
		}
	}
	// Malformed JSON from a worker: a clear refusal.
	wrk := steal(t, dev02)
	req, _ := http.NewRequest(http.MethodPost, "https://"+dev01.addr()+dispatchapi.PathTaskStatus, strings.NewReader("{\"Updates\": [}"))
	hc := wrk.httpClient()
	defer hc.CloseIdleConnections()
	if resp, err := hc.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "malformed") {
			t.Errorf("malformed JSON from a worker: %d %s, want 400 malformed", resp.StatusCode, b)
		}
	}
	if after := clusterState(t, dev01); after != before {
		t.Errorf("the cluster changed:\nbefore %s\nafter  %s", before, after)
	}
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": ""})
}

// probeOldCertificate tries every port with a kept manager certificate
// whose node is no longer a manager.
func probeOldCertificate(t *testing.T, what string, mgr stolen, leader *node, leaderID string, worker *node) {
	t.Helper()
	if err := mgr.injectRaft(t, leader.addr()); err == nil {
		t.Errorf("%s manager's certificate: raft append entries accepted", what)
	}
	asLeader := map[string]string{dispatchapi.HeaderForwardedNode: leaderID}
	for _, p := range []struct {
		path   string
		header map[string]string
		body   any
	}{
		{dispatchapi.PathDocker + "/v1.50/services", nil, nil},
		{dispatchapi.PathDocker + "/v1.50/services", asLeader, nil},
		{dispatchapi.PathDocker + "/v1.50/swarm", asLeader, nil},
		{dispatchapi.PathRenew, asLeader, dispatchapi.RenewRequest{CSR: newCSR(t)}},
		{dispatchapi.PathRaftLeave, asLeader, dispatchapi.RaftLeaveRequest{}},
		{dispatchapi.PathRaftJoin, nil, dispatchapi.RaftJoinRequest{Addr: "127.0.0.1:1"}},
	} {
		if code, body := mgr.call(t, leader.addr(), p.path, p.header, p.body); code == http.StatusOK {
			t.Errorf("%s manager's certificate: %s (naming %v) answered 200: %.200s", what, p.path, p.header, body)
		}
	}
	// A worker learns the managers from its next heartbeat answer.
	eventually(t, converge, func() error {
		if code, body := mgr.call(t, worker.addr(), dispatchapi.PathLogs, nil, dispatchapi.LogsRequest{TaskID: "t1"}); code != http.StatusForbidden {
			return fmt.Errorf("%s manager's certificate: a worker's task logs answered %d %s, want 403", what, code, body)
		}
		return nil
	})
}

func newCSR(t *testing.T) []byte {
	t.Helper()
	_, csr, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// clusterState is what an attacker's success would change: the services,
// the managers, and the join tokens.
func clusterState(t *testing.T, via *node) string {
	t.Helper()
	return via.mustDocker(t, "service", "ls", "-q") + "|" +
		via.mustDocker(t, "node", "ls", "--filter", "role=manager", "--format", "{{.Hostname}}") + "|" +
		via.mustDocker(t, "swarm", "join-token", "-q", "manager") + via.mustDocker(t, "swarm", "join-token", "-q", "worker")
}

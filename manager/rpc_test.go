package manager

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// forwardTo serves a follower's forwarding of Docker API requests to the
// leader server, which the test deposes by changing what leader returns.
func forwardTo(t *testing.T, leaderSrv *httptest.Server, leader func() string) *httptest.Server {
	t.Helper()
	addr := leaderSrv.Listener.Addr().String()
	m := &Manager{log: slog.New(slog.DiscardHandler)}
	m.client.Store(leaderSrv.Client())
	front := httptest.NewServer(whileLeader(m.proxy(addr, dispatchapi.PathDocker, forwarded{}), addr, leader, 10*time.Millisecond))
	t.Cleanup(front.Close)
	return front
}

// A request forwarded to a leader that never answers (frozen, or cut off
// with its TCP connection still open) ends with the no-leader error as soon
// as the follower sees another leader or none, not when the client gives up.
func TestForwardedRequestEndsWhenTheLeaderIsLost(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	leaderSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select { // the frozen leader: no answer
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer leaderSrv.Close()
	defer close(release)
	var current atomic.Value
	current.Store(leaderSrv.Listener.Addr().String())
	front := forwardTo(t, leaderSrv, func() string { return current.Load().(string) })
	go func() {
		<-arrived
		current.Store("") // the follower's election timeout: no leader
	}()

	c := front.Client()
	c.Timeout = 5 * time.Second // the client giving up: the hang this prevents
	start := time.Now()
	resp, err := c.Post(front.URL+"/v1.50/services/create", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "does not have a leader") {
		t.Fatalf("got %d %s, want 503 with the no-leader message", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the answer took %v after the leader was lost", d)
	}
}

// While the leader stays, the forwarded request gets the leader's answer.
func TestForwardedRequestGetsTheLeadersAnswer(t *testing.T) {
	leaderSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // longer than a few leader checks
		if r.URL.Path != dispatchapi.PathDocker+"/v1.50/services" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, "[]")
	}))
	defer leaderSrv.Close()
	addr := leaderSrv.Listener.Addr().String()
	front := forwardTo(t, leaderSrv, func() string { return addr })
	resp, err := front.Client().Get(front.URL + "/v1.50/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "[]" {
		t.Fatalf("got %d %q, want 200 []", resp.StatusCode, body)
	}
}

// peerState is a TLS connection state whose peer holds a certificate for
// node id in role.
func peerState(t *testing.T, root *ca.RootCA, id swarm.NodeID, role swarm.NodeRole) *tls.ConnectionState {
	t.Helper()
	_, csr, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := root.Sign(csr, id, role, "c1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert, root.Cert()}}}
}

package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// renewingManager answers sessions and signs renewals for node id with
// lifetime expiry, as the leader does. Each renewal's arrival time goes to
// renewals; the NotBefore of the certificate each session presents goes
// to sessions.
func renewingManager(t *testing.T, root *ca.RootCA, id swarm.NodeID, expiry time.Duration, fail func() bool) (addr string, renewals <-chan time.Time, sessions <-chan time.Time) {
	t.Helper()
	rn, ss := make(chan time.Time, 16), make(chan time.Time, 16)
	addr = fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case dispatchapi.PathSession:
			peer := r.TLS.PeerCertificates[0]
			select {
			case ss <- peer.NotBefore:
			default:
			}
			dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
				return dispatchapi.HeartbeatResponse{Period: 100 * time.Millisecond, Role: swarm.RoleWorker}, nil
			})
		case dispatchapi.PathRenew:
			rn <- time.Now()
			if fail != nil && fail() {
				http.Error(w, `{"Class":"unavailable","Message":"no leader"}`, http.StatusServiceUnavailable)
				return
			}
			b, _ := io.ReadAll(r.Body)
			var req dispatchapi.RenewRequest
			if err := json.Unmarshal(b, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			cert, err := root.SignAt(time.Now(), req.CSR, id, swarm.RoleWorker, catest.ClusterID, expiry)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_ = json.NewEncoder(w).Encode(dispatchapi.RenewResponse{CertPEM: cert, Role: swarm.RoleWorker})
		default:
			http.NotFound(w, r)
		}
	})
	return addr, rn, ss
}

// runAgent runs an agent for node creds against addr, installing renewed
// certificates as the node does; it stops when the test ends.
func runAgent(t *testing.T, creds *ca.Credentials, addr string, installed chan<- swarm.NodeRole) {
	t.Helper()
	a := New(Config{Creds: creds, Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: addr}},
		OnRenewed: func(_ context.Context, role swarm.NodeRole, certPEM, keyPEM []byte) error {
			if err := creds.Update(certPEM, keyPEM); err != nil {
				return err
			}
			installed <- role
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func credsIssuedAt(t *testing.T, root *ca.RootCA, id swarm.NodeID, at time.Time, expiry time.Duration) *ca.Credentials {
	t.Helper()
	certPEM, keyPEM := catest.Issue(t, root, id, swarm.RoleWorker, at, expiry)
	creds, err := ca.NewCredentials(root, certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// A node renews its certificate between 50 and 80 % of its lifetime, keeps
// its role, and its next session presents the new certificate.
func TestRenewalBetweenHalfAndFourFifthsOfTheLifetime(t *testing.T) {
	root := catest.NewCA(t)
	const expiry = 3 * time.Second
	// Certificates carry whole seconds: sign on one, so that the lifetime
	// is exactly expiry.
	issued := time.Now().Truncate(time.Second)
	creds := credsIssuedAt(t, root, "n1", issued, expiry)
	addr, renewals, sessions := renewingManager(t, root, "n1", time.Hour, nil)
	installed := make(chan swarm.NodeRole, 4)
	runAgent(t, creds, addr, installed)

	select {
	case at := <-renewals:
		if f := float64(at.Sub(issued)) / float64(expiry); f < 0.5 || f > 0.8+0.05 {
			t.Fatalf("renewal asked at %.2f of the lifetime, want 0.5-0.8", f)
		}
	case <-time.After(expiry):
		t.Fatal("no renewal before the certificate expired")
	}
	if role := <-installed; role != swarm.RoleWorker {
		t.Fatalf("renewed as %s", role)
	}
	renewed := creds.Identity().NotBefore
	deadline := time.After(5 * time.Second)
	for {
		select {
		case nb := <-sessions:
			if nb.Equal(renewed) {
				return // a session with the new certificate
			}
		case <-deadline:
			t.Fatal("no session presented the renewed certificate")
		}
	}
}

// A node past 80 % of its certificate's lifetime (it was stopped) renews
// at once; a failed renewal (no leader) is retried soon, not at the next
// scheduled point.
func TestRenewalAtOncePastFourFifthsAndRetried(t *testing.T) {
	root := catest.NewCA(t)
	const expiry = time.Hour
	creds := credsIssuedAt(t, root, "n1", time.Now().Add(-expiry*85/100), expiry)
	failures := 1
	addr, renewals, _ := renewingManager(t, root, "n1", expiry, func() bool {
		failures--
		return failures >= 0
	})
	installed := make(chan swarm.NodeRole, 4)
	start := time.Now()
	runAgent(t, creds, addr, installed)
	for i := range 2 {
		select {
		case <-renewals:
		case <-time.After(5 * time.Second):
			t.Fatalf("renewal %d not asked within 5 s", i+1)
		}
	}
	<-installed
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("renewed %v after start, past 80%% of the lifetime and after one failure", took)
	}
	if left := time.Until(creds.Identity().NotAfter); left < expiry-time.Minute {
		t.Fatalf("the renewed certificate has %v left", left)
	}
}

// A node with a fresh certificate does not renew.
func TestNoRenewalOfAFreshCertificate(t *testing.T) {
	root := catest.NewCA(t)
	creds := credsIssuedAt(t, root, "n1", time.Now(), time.Hour)
	addr, renewals, sessions := renewingManager(t, root, "n1", time.Hour, nil)
	runAgent(t, creds, addr, make(chan swarm.NodeRole, 1))
	<-sessions
	select {
	case <-renewals:
		t.Fatal("a certificate at 0 % of its lifetime was renewed")
	case <-time.After(300 * time.Millisecond): // the window observed
	}
}

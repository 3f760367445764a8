package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// fakeManager serves the cluster port's RPCs with h, over real mTLS.
func fakeManager(t *testing.T, root *ca.RootCA, id swarm.NodeID, h http.HandlerFunc) string {
	t.Helper()
	mux, err := clusternet.Listen("127.0.0.1:0", catest.NewNodeWithID(t, root, id, swarm.RoleManager), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := clusternet.NewHTTPServer(h)
	go func() { _ = srv.Serve(mux.HTTPListener()) }()
	t.Cleanup(func() { srv.Close(); mux.Close() })
	return mux.Addr().String()
}

// A session attached to a manager that stops answering (a frozen leader
// keeps its connections open) reaches the next manager before the node's
// silence makes it Unknown (two heartbeat periods), so a change of leader
// does not mark healthy nodes down.
func TestSessionLeavesASilentManagerWithinAPeriod(t *testing.T) {
	root := catest.NewCA(t)
	release := make(chan struct{})
	frozen := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		<-release // never answers while the test runs
	})
	defer close(release)
	answered := make(chan time.Time, 16)
	live := fakeManager(t, root, "m2", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != dispatchapi.PathHeartbeat {
			http.NotFound(w, r)
			return
		}
		select {
		case answered <- time.Now():
		default:
		}
		_ = json.NewEncoder(w).Encode(dispatchapi.HeartbeatResponse{Period: swarm.DefaultHeartbeatPeriod, Role: swarm.RoleWorker})
	})

	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker),
		Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: frozen}, {NodeID: "m2", Addr: live}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	unknownAfter := 2 * swarm.DefaultHeartbeatPeriod
	select {
	case at := <-answered:
		if took := at.Sub(start); took >= unknownAfter {
			t.Fatalf("first heartbeat to the live manager %v after start; the node is Unknown after %v", took, unknownAfter)
		}
	case <-time.After(2 * unknownAfter):
		t.Fatal("the session never reached the live manager")
	}
}

// An agent asks for a new certificate only when the managers name a role
// other than its own, never for an answer without a role; one that cannot
// apply a new certificate (no OnRenewed, a simulated node) does not ask,
// and goes on heartbeating.
func TestRoleChangeOnlyWhenARoleIsNamedAndCanBeApplied(t *testing.T) {
	root := catest.NewCA(t)
	beats, renewals := make(chan swarm.NodeRole, 64), make(chan struct{}, 64)
	var served atomic.Int64 // heartbeats answered
	var roles = []swarm.NodeRole{"", swarm.RoleManager, "", swarm.RoleManager}
	addr := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case dispatchapi.PathHeartbeat:
			defer served.Add(1)
			role := swarm.RoleWorker
			select {
			case role = <-beats:
			default:
			}
			_ = json.NewEncoder(w).Encode(dispatchapi.HeartbeatResponse{Period: 50 * time.Millisecond, Role: role})
		case dispatchapi.PathRenew:
			renewals <- struct{}{}
			http.Error(w, "no", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	})
	for _, r := range roles {
		beats <- r
	}
	run := func(onRenewed func(context.Context, swarm.NodeRole, []byte, []byte) error) {
		a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: addr}},
			OnRenewed: onRenewed})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		defer func() { cancel(); <-done }()
		// Heartbeats are sequential: once one more than the scripted answers
		// is served, the agent has acted on every scripted answer.
		want := served.Load() + int64(len(roles)) + 1
		deadline := time.After(10 * time.Second)
		for served.Load() < want {
			select {
			case <-deadline:
				t.Fatal("the agent stopped heartbeating")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	run(nil)
	if len(renewals) != 0 {
		t.Fatalf("an agent that cannot apply a certificate asked for %d", len(renewals))
	}
	for _, r := range roles {
		beats <- r
	}
	run(func(context.Context, swarm.NodeRole, []byte, []byte) error { return nil })
	if got := len(renewals); got != 2 {
		t.Fatalf("%d renewals for two answers naming the manager role (and two naming none), want 2", got)
	}
}

// The wait between failed attempts starts near the base and doubles up to
// the limit, spread by up to a half either way.
func TestRetryAfterBacksOff(t *testing.T) {
	base, limit := 100*time.Millisecond, time.Second
	for fails, want := range map[int]time.Duration{1: base, 2: 2 * base, 4: 8 * base, 5: limit, 50: limit} {
		for range 100 {
			if got := retryAfter(base, limit, fails); got < want/2 || got >= want*3/2 {
				t.Fatalf("after %d failures: %v, want within [%v, %v)", fails, got, want/2, want*3/2)
			}
		}
	}
}

// While no manager can answer (an election), an agent's heartbeats back
// off: a thousand agents retrying every tenth of a period had flooded the
// surviving managers.
func TestHeartbeatsBackOffWhileNoManagerAnswers(t *testing.T) {
	root := catest.NewCA(t)
	var beats atomic.Int64
	noLeader := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == dispatchapi.PathHeartbeat {
			beats.Add(1)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "The swarm does not have a leader."})
	}
	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Managers: []dispatchapi.Peer{
		{NodeID: "m1", Addr: fakeManager(t, root, "m1", noLeader)}, {NodeID: "m2", Addr: fakeManager(t, root, "m2", noLeader)}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(3 * time.Second) // the window counted, not a synchronisation
	cancel()
	<-done
	// Retrying every 100 ms would be about 28 attempts; backing off from
	// 100 ms to the 1 s period, at most 9 (the spread included).
	if n := beats.Load(); n < 2 || n > 10 {
		t.Fatalf("%d heartbeats in 3 s while no manager answers, want 2-10", n)
	}
}

package agent

import (
	"context"
	"encoding/json"
	"errors"
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

// While the managers answer that there is no leader (an election), an
// agent's heartbeats back off: a thousand agents retrying every tenth of a
// period had flooded the survivors.
func TestHeartbeatsBackOffWhileThereIsNoLeader(t *testing.T) {
	root := catest.NewCA(t)
	for _, c := range []struct {
		name     string
		err      error
		min, max int64
	}{
		// Backing off from 100 ms to the 1 s period: at most 9 attempts
		// in 3 s, the spread included; every 100 ms would be about 28.
		{"no leader", swarm.ErrNoLeader, 2, 10},
	} {
		var beats atomic.Int64
		answer := func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == dispatchapi.PathHeartbeat {
				beats.Add(1)
			}
			e := dispatchapi.ErrorOf(c.err)
			w.WriteHeader(e.StatusCode())
			_ = json.NewEncoder(w).Encode(e)
		}
		a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Managers: []dispatchapi.Peer{
			{NodeID: "m1", Addr: fakeManager(t, root, "m1", answer)}, {NodeID: "m2", Addr: fakeManager(t, root, "m2", answer)}}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(3 * time.Second) // the window counted, not a synchronisation
		cancel()
		<-done
		if n := beats.Load(); n < c.min || n > c.max {
			t.Errorf("%s: %d heartbeats in 3 s, want %d-%d", c.name, n, c.min, c.max)
		}
	}
}

// Only "no leader" answers back off; any other failure (a manager that errs,
// or does not answer in time: it may be frozen) moves on to the next
// manager after about a tenth of a period, and a success resets the count.
func TestHeartbeatWaitBacksOffOnlyForNoLeader(t *testing.T) {
	period := time.Second
	n := 0
	within := func(d, want time.Duration) bool { return d >= want/2 && d < want*3/2 }
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if d := heartbeatWait(swarm.ErrNoLeader, period, &n); !within(d, want*time.Millisecond) {
			t.Fatalf("no leader, answer %d: waited %v, want about %v ms", i+1, d, want)
		}
	}
	if d := heartbeatWait(errors.New("context deadline exceeded"), period, &n); !within(d, 100*time.Millisecond) || n != 0 {
		t.Fatalf("no answer after no-leader answers: waited %v (count %d), want about 100 ms and a reset", d, n)
	}
	heartbeatWait(swarm.ErrNoLeader, period, &n)
	if d := heartbeatWait(nil, period, &n); d != period || n != 0 {
		t.Fatalf("success: waited %v (count %d), want the period and a reset", d, n)
	}
}

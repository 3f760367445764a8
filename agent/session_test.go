package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
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

// liveManager serves sessions, answering every heartbeat at once; the time
// of each answer goes to answered while it has room.
func liveManager(t *testing.T, root *ca.RootCA, id swarm.NodeID) (addr string, answered <-chan time.Time) {
	times := make(chan time.Time, 16)
	addr = fakeManager(t, root, id, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != dispatchapi.PathSession {
			http.NotFound(w, r)
			return
		}
		dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
			select {
			case times <- time.Now():
			default:
			}
			return dispatchapi.HeartbeatResponse{Period: swarm.DefaultHeartbeatPeriod, Role: swarm.RoleWorker}, nil
		})
	})
	return addr, times
}

// A session attached to a manager that stops answering (a frozen leader
// keeps its connections open) reaches the next manager before the node's
// silence makes it Down (the grace period, three heartbeat periods), so a
// change of leader does not mark healthy nodes down.
func TestSessionLeavesASilentManager(t *testing.T) {
	root := catest.NewCA(t)
	release := make(chan struct{})
	frozen := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		<-release // never answers while the test runs
	})
	defer close(release)
	live, answered := liveManager(t, root, "m2")

	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker),
		Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: frozen}, {NodeID: "m2", Addr: live}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	downAfter := swarm.DefaultNodeDownGrace
	select {
	case at := <-answered:
		if took := at.Sub(start); took >= downAfter {
			t.Fatalf("first heartbeat to the live manager %v after start; the node is Down after %v", took, downAfter)
		}
	case <-time.After(2 * downAfter):
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
		case dispatchapi.PathSession:
			dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
				defer served.Add(1)
				role := swarm.RoleWorker
				select {
				case role = <-beats:
				default:
				}
				return dispatchapi.HeartbeatResponse{Period: 50 * time.Millisecond, Role: role}, nil
			})
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
			if r.URL.Path != dispatchapi.PathSession {
				http.NotFound(w, r)
				return
			}
			dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
				beats.Add(1)
				return dispatchapi.HeartbeatResponse{}, c.err
			})
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

// Only "no leader" ends back off; any other (a manager that errs, or goes
// silent: it may be frozen) moves on to the next manager after about a
// tenth of a period, and resets the count.
func TestReconnectWaitBacksOffOnlyForNoLeader(t *testing.T) {
	period := time.Second
	n := 0
	within := func(d, want time.Duration) bool { return d >= want/2 && d < want*3/2 }
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if d := reconnectWait(swarm.ErrNoLeader, period, &n); !within(d, want*time.Millisecond) {
			t.Fatalf("no leader, end %d: waited %v, want about %v ms", i+1, d, want)
		}
	}
	if d := reconnectWait(context.DeadlineExceeded, period, &n); !within(d, 100*time.Millisecond) || n != 0 {
		t.Fatalf("silence after no-leader ends: waited %v (count %d), want about 100 ms and a reset", d, n)
	}
}

// A manager that answers heartbeats late (more than two periods), but
// answers a ping at once, keeps the node's session, and goes on hearing
// from the node: giving up on a slow manager had sent a thousand nodes to
// reconnect elsewhere at once.
func TestSessionStaysWithASlowManager(t *testing.T) {
	root := catest.NewCA(t)
	const period = swarm.DefaultHeartbeatPeriod
	var sessions, beats, pings atomic.Int64
	addr := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case dispatchapi.PathPing:
			pings.Add(1)
			_, _ = w.Write([]byte("{}"))
		case dispatchapi.PathSession:
			sessions.Add(1)
			dispatchapi.ServeSession(w, r, func(ctx context.Context, _ dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
				beats.Add(1)
				select { // each answer takes two periods and a half
				case <-time.After(period * 5 / 2):
				case <-ctx.Done():
				}
				return dispatchapi.HeartbeatResponse{Period: period, Role: swarm.RoleWorker}, nil
			})
		default:
			http.NotFound(w, r)
		}
	})
	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: addr}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(5500 * time.Millisecond) // the window observed, not a synchronisation
	cancel()
	<-done
	// One heartbeat a second, read by the manager's loop as it gets to
	// them: one per 2.5 s, at 0, 2.5 and 5 s.
	if n := sessions.Load(); n != 1 {
		t.Errorf("%d sessions opened with a slow manager, want 1 (the node gave up on it)", n)
	}
	if n := beats.Load(); n < 3 {
		t.Errorf("the manager read %d heartbeats in 5.5 s, want 3", n)
	}
	if pings.Load() == 0 {
		t.Error("the node never pinged the quiet manager")
	}
}

// A manager that answers pings but no heartbeat at all (stuck) is left
// after giveUpAfter, not before.
func TestSessionLeavesAStuckManagerAfterTheBound(t *testing.T) {
	root := catest.NewCA(t)
	release := make(chan struct{})
	stuck := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == dispatchapi.PathPing {
			_, _ = w.Write([]byte("{}"))
			return
		}
		select { // the session is never answered
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	live, answered := liveManager(t, root, "m2")
	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker),
		Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: stuck}, {NodeID: "m2", Addr: live}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	bound := giveUpAfter(swarm.DefaultHeartbeatPeriod)
	select {
	case at := <-answered:
		if took := at.Sub(start); took < bound || took > bound+2*swarm.DefaultHeartbeatPeriod {
			t.Fatalf("reached the live manager %v after start, want just after %v", took, bound)
		}
	case <-time.After(3 * bound):
		t.Fatal("the session never left the stuck manager")
	}
}

// A long poll that ran out answers "unchanged" without the tasks: the
// node keeps running what it runs (an empty list would stop every task).
func TestUnchangedAssignmentsKeepTheTasks(t *testing.T) {
	root := catest.NewCA(t)
	polls := make(chan int, 8)
	var n atomic.Int64
	addr := fakeManager(t, root, "m1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != dispatchapi.PathAssignments {
			http.NotFound(w, r)
			return
		}
		switch i := n.Add(1); i {
		case 1:
			_ = json.NewEncoder(w).Encode(dispatchapi.AssignmentsResponse{Fingerprint: "a", Tasks: []*swarm.Task{assigned()}})
		case 2:
			_ = json.NewEncoder(w).Encode(dispatchapi.AssignmentsResponse{Fingerprint: "a", Unchanged: true})
		default:
			polls <- int(i)
			<-r.Context().Done() // nothing more to say
		}
	})
	ctlr := &exectest.Controller{WaitFn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	a := New(Config{Creds: catest.NewNode(t, root, swarm.RoleWorker), Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: addr}},
		Executor: &exectest.Executor{ControllerFn: func(*swarm.Task) (exec.Controller, error) { return ctlr, nil }}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-polls: // the third poll: the unchanged answer was handled
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not poll a third time")
	}
	c := ctlr.Calls()
	task := a.task("t1")
	cancel()
	<-done
	if task == nil || c.Start != 1 || c.Shutdown != 0 || c.Remove != 0 {
		t.Fatalf("after an unchanged answer: task known %v, calls %+v; want the task kept, started once, not stopped", task != nil, c)
	}
}

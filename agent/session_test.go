package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
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

package dispatchapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs h on a cluster port with real mTLS and returns its address
// and a client for a worker node.
func serve(t *testing.T, h http.HandlerFunc) (string, *http.Client) {
	t.Helper()
	root := catest.NewCA(t)
	mux, err := clusternet.Listen("127.0.0.1:0", catest.NewNodeWithID(t, root, "m1", swarm.RoleManager), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := clusternet.NewHTTPServer(h)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(mux.HTTPListener()) }()
	c := clusternet.NewHTTPClient(catest.NewNode(t, root, swarm.RoleWorker))
	t.Cleanup(func() { c.CloseIdleConnections(); srv.Close(); mux.Close(); <-done })
	return mux.Addr().String(), c
}

// next waits up to 5 s for the session's next answer, or its end.
func next(t *testing.T, s *dispatchapi.Session) (dispatchapi.HeartbeatResponse, error) {
	t.Helper()
	select {
	case resp, ok := <-s.Answers():
		if !ok {
			return resp, s.Err()
		}
		return resp, nil
	case <-time.After(5 * time.Second):
		t.Fatal("no answer in 5 s")
		return dispatchapi.HeartbeatResponse{}, nil
	}
}

// Heartbeats on one session are answered in order, each with what the
// manager said for that heartbeat, on a single call.
func TestSessionAnswersEachHeartbeat(t *testing.T) {
	var calls atomic.Int64
	addr, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		n := 0
		dispatchapi.ServeSession(w, r, func(_ context.Context, req dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
			n++
			return dispatchapi.HeartbeatResponse{Period: time.Duration(n) * time.Second,
				Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: req.Addr}}}, nil
		})
	})
	s := dispatchapi.OpenSession(context.Background(), c, addr)
	defer s.Close()
	for range 3 { // pipelined: sent before any answer
		if !s.Send(dispatchapi.HeartbeatRequest{Addr: "10.0.0.7:2377", Sent: time.Now()}) {
			t.Fatal("the session did not take a heartbeat")
		}
	}
	for i := 1; i <= 5; i++ {
		if i > 3 && !s.Send(dispatchapi.HeartbeatRequest{Addr: "10.0.0.7:2377", Sent: time.Now()}) {
			t.Fatal("the session did not take a heartbeat")
		}
		resp, err := next(t, s)
		if err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if resp.Period != time.Duration(i)*time.Second || len(resp.Managers) != 1 || resp.Managers[0].Addr != "10.0.0.7:2377" {
			t.Fatalf("heartbeat %d answered %+v", i, resp)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("five heartbeats made %d calls, want 1", calls.Load())
	}
}

// A manager's error reaches the node with its class (so that "no leader"
// backs off and "removed" stops the node), and ends the session.
func TestSessionEndsWithTheManagersError(t *testing.T) {
	addr, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := 0
		dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
			if n++; n == 2 {
				return dispatchapi.HeartbeatResponse{}, swarm.Errorf(swarm.ErrNoLeader, "the leader stepped down")
			}
			return dispatchapi.HeartbeatResponse{Period: time.Second}, nil
		})
	})
	s := dispatchapi.OpenSession(context.Background(), c, addr)
	defer s.Close()
	s.Send(dispatchapi.HeartbeatRequest{})
	s.Send(dispatchapi.HeartbeatRequest{})
	if _, err := next(t, s); err != nil {
		t.Fatal(err)
	}
	if _, err := next(t, s); !errors.Is(err, swarm.ErrUnavailable) {
		t.Fatalf("second heartbeat: %v, want the no-leader class (unavailable)", err)
	}
	if _, ok := <-s.Answers(); ok {
		t.Fatal("an ended session answered")
	}
}

// A refusal before the stream starts (e.g. a removed node) keeps its class.
func TestSessionRefusedKeepsTheClass(t *testing.T) {
	addr, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		e := dispatchapi.ErrorOf(swarm.Errorf(swarm.ErrPermissionDenied, "node w1 was removed from the swarm"))
		w.WriteHeader(e.StatusCode())
		_, _ = w.Write([]byte(`{"Class":"` + e.Class + `","Message":"` + e.Message + `"}`))
	})
	s := dispatchapi.OpenSession(context.Background(), c, addr)
	defer s.Close()
	s.Send(dispatchapi.HeartbeatRequest{})
	if _, err := next(t, s); !errors.Is(err, swarm.ErrPermissionDenied) {
		t.Fatalf("heartbeat: %v, want permission denied", err)
	}
}

// A manager that holds the stream open and never answers (frozen) leaves
// the session open and silent; Close ends it at once, and a full queue of
// unwritten heartbeats is refused rather than waited on.
func TestSessionCloseOnASilentManager(t *testing.T) {
	release := make(chan struct{})
	addr, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s := dispatchapi.OpenSession(context.Background(), c, addr)
	s.Send(dispatchapi.HeartbeatRequest{})
	select {
	case <-s.Answers():
		t.Fatal("a silent manager answered")
	case <-time.After(200 * time.Millisecond):
	}
	s.Close()
	if _, ok := <-s.Answers(); ok || !errors.Is(s.Err(), dispatchapi.ErrSessionClosed) {
		t.Fatalf("after Close: answers open %v, err %v", ok, s.Err())
	}
	if s.Send(dispatchapi.HeartbeatRequest{}) && s.Send(dispatchapi.HeartbeatRequest{}) && s.Send(dispatchapi.HeartbeatRequest{}) &&
		s.Send(dispatchapi.HeartbeatRequest{}) && s.Send(dispatchapi.HeartbeatRequest{}) {
		t.Fatal("a closed session took five heartbeats")
	}
}

// A malformed heartbeat is answered with an invalid-argument error.
func TestServeSessionRefusesMalformedHeartbeats(t *testing.T) {
	addr, c := serve(t, func(w http.ResponseWriter, r *http.Request) {
		dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
			t.Error("a malformed heartbeat reached the dispatcher")
			return dispatchapi.HeartbeatResponse{}, nil
		})
	})
	var resp struct{ Error *dispatchapi.Error }
	err := dispatchapi.Call(context.Background(), c, addr, dispatchapi.PathSession, map[string]any{"Addr": 7}, &resp)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error == nil || !errors.Is(resp.Error.Err(), swarm.ErrInvalidArgument) {
		t.Fatalf("answer to a malformed heartbeat: %+v, want invalid argument", resp.Error)
	}
}

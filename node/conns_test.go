package node

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// The bounds of these tests, far below the real ones (same code paths).
const (
	testIdle = 300 * time.Millisecond
	testBody = 300 * time.Millisecond
	// slack is what a loaded machine may add to a bound before the test
	// calls it unbounded.
	slack = 3 * time.Second
)

// serveUnix serves s on a fresh unix socket, as the Docker API sockets are.
func serveUnix(t *testing.T, s *http.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close(); <-done })
	return path
}

// serveClusterPort serves h on a real cluster port (mutual TLS, HTTP/2)
// with the cluster port's server, idle bound lowered to testIdle.
func serveClusterPort(t *testing.T, h http.Handler) (addr string, c *http.Client, worker *tls.Config) {
	t.Helper()
	root := catest.NewCA(t)
	mux, err := clusternet.Listen("127.0.0.1:0", catest.NewNodeWithID(t, root, "m1", swarm.RoleManager), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := clusternet.NewHTTPServer(h)
	if srv.IdleTimeout == 0 || srv.ReadHeaderTimeout == 0 {
		t.Fatalf("the cluster port's server has no idle or header bound: %+v", srv)
	}
	srv.IdleTimeout = testIdle
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(mux.HTTPListener()) }()
	creds := catest.NewNode(t, root, swarm.RoleWorker)
	c = clusternet.NewHTTPClient(creds)
	t.Cleanup(func() { c.CloseIdleConnections(); srv.Close(); mux.Close(); <-done })
	return mux.Addr().String(), c, creds.ClientTLSConfig(clusternet.ProtoHTTP2)
}

// closedWithin reads conn until the server closes it and fails the test
// unless that happens within bound (plus slack).
func closedWithin(t *testing.T, conn net.Conn, bound time.Duration, what string) {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(bound + slack))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still held the connection after %v", what, time.Since(start))
	}
	t.Logf("%s: closed by the server after %v", what, time.Since(start).Round(time.Millisecond))
}

// A keep-alive connection left idle on the API socket is closed: it used
// to be held for ever.
func TestAPISocketClosesIdleConnections(t *testing.T) {
	s := newAPIServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	if s.IdleTimeout != apiIdleTimeout || s.ReadHeaderTimeout == 0 {
		t.Fatalf("API server bounds: idle %v, header %v", s.IdleTimeout, s.ReadHeaderTimeout)
	}
	s.IdleTimeout = testIdle
	path := serveUnix(t, s)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	closedWithin(t, conn, testIdle, "idle keep-alive connection")
}

// An HTTP/2 connection on the cluster port with no stream open is closed
// after the idle bound: one that did its handshake and then nothing used
// to be held for ever.
func TestClusterPortClosesIdleHTTP2Connections(t *testing.T) {
	addr, _, conf := serveClusterPort(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != clusternet.ProtoHTTP2 {
		t.Fatalf("negotiated %q", p)
	}
	// The client preface and an empty SETTINGS frame, then silence.
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, conn, testIdle, "idle HTTP/2 connection")
}

// readAll is a handler that reads its whole body, as every RPC and API
// handler does, and reports how that went.
func readAll(got chan<- error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		got <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "ok")
	}
}

// A body sent a byte at a time (a slowloris) fails its read at the bound,
// and its HTTP/1.1 connection on the API socket is closed.
func TestSlowBodyOnTheAPISocket(t *testing.T) {
	got := make(chan error, 1)
	s := newAPIServer(nil)
	s.Handler = boundBodies(readAll(got), testBody, nil)
	path := serveUnix(t, s)
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /services/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	stop := drip(conn)
	defer stop()
	start := time.Now()
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's read ended with %v, want the deadline", err)
		}
		t.Logf("slow body refused after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(testBody + slack):
		t.Fatal("a body sent a byte at a time was still read after the bound")
	}
	closedWithin(t, conn, 0, "slow-body connection")
}

// drip writes a byte every 50 ms until stopped or refused.
func drip(w io.Writer) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := w.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	return func() { close(done); <-exited }
}

// A slow body on the cluster port (an HTTP/2 stream) fails at the bound.
func TestSlowBodyOnTheClusterPort(t *testing.T) {
	got := make(chan error, 1)
	addr, c, _ := serveClusterPort(t, boundBodies(readAll(got), testBody, isSession))
	pr, pw := io.Pipe()
	stop := drip(pw)
	defer stop()
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testBody+slack)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+dispatchapi.PathJoin, pr)
	go func() {
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's read ended with %v, want the deadline", err)
		}
	case <-ctx.Done():
		t.Fatal("a body sent a byte at a time was still read after the bound")
	}
}

// A node's session (its body a stream of heartbeats) lasts well beyond the
// body bound; and a request whose body came at once may be answered long
// after the bound (a long poll), on HTTP/2 and HTTP/1.1.
func TestStreamsAndLongPollsOutliveTheBodyBound(t *testing.T) {
	poll := func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(3 * testBody):
			io.WriteString(w, "changed")
		case <-r.Context().Done():
		}
	}
	h := boundBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == dispatchapi.PathSession {
			dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
				return dispatchapi.HeartbeatResponse{Period: time.Second}, nil
			})
			return
		}
		poll(w, r)
	}), testBody, isSession)
	addr, c, _ := serveClusterPort(t, h)

	s := dispatchapi.OpenSession(context.Background(), c, addr)
	defer s.Close()
	end := time.Now().Add(4 * testBody)
	for beats := 1; ; beats++ {
		s.Send(dispatchapi.HeartbeatRequest{Sent: time.Now()})
		select {
		case _, ok := <-s.Answers():
			if !ok {
				t.Fatalf("the session ended after %d heartbeats: %v", beats, s.Err())
			}
		case <-time.After(slack):
			t.Fatalf("heartbeat %d unanswered", beats)
		}
		if time.Now().After(end) {
			break
		}
		time.Sleep(testBody / 3) // the pace of heartbeats, not a wait for a condition
	}

	api := newAPIServer(nil)
	api.Handler = boundBodies(http.HandlerFunc(poll), testBody, nil)
	path := serveUnix(t, api)
	unix := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer unix.CloseIdleConnections()
	for _, tc := range []struct {
		name string
		c    *http.Client
		url  string
	}{{"HTTP/2 on the cluster port", c, "https://" + addr + dispatchapi.PathAssignments}, {"HTTP/1.1 on the API socket", unix, "http://docker/tasks"}} {
		resp, err := tc.c.Post(tc.url, "application/json", strings.NewReader(`{"Known":"x"}`))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "changed" {
			t.Fatalf("%s: long poll answered %d %q", tc.name, resp.StatusCode, b)
		}
	}
}

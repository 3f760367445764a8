package clusternet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func credentials(t *testing.T, root *ca.RootCA, id swarm.NodeID) *ca.Credentials {
	t.Helper()
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := root.Sign(csrPEM, id, swarm.RoleManager, "cluster1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := ca.NewCredentials(root, certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// Many concurrent RPCs from one peer (a follower proxying the long polls of
// all its nodes) share an HTTP/2 connection: a handshake or two, not one
// per request.
func TestConcurrentRequestsShareOneConnection(t *testing.T) {
	root, err := ca.NewRootCA()
	if err != nil {
		t.Fatal(err)
	}
	mux, err := clusternet.Listen("127.0.0.1:0", credentials(t, root, "server1"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()

	const n = 300 // above net/http's default of 250 streams per connection
	var conns atomic.Int32
	var arrived sync.WaitGroup
	arrived.Add(n)
	release := make(chan struct{})
	srv := clusternet.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
		fmt.Fprint(w, r.Proto)
	}))
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(mux.HTTPListener()) }()
	defer func() {
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()

	c := clusternet.NewHTTPClient(credentials(t, root, "client1"))
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	protos := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+mux.Addr().String()+"/", nil)
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			protos <- string(b)
		}()
	}
	arrived.Wait() // all n requests are in flight at once
	close(release)
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case p := <-protos:
			if p != "HTTP/2.0" {
				t.Fatalf("request served over %s, want HTTP/2.0", p)
			}
		}
	}
	// Until the server's settings arrive, a client assumes 100 streams per
	// connection, so a burst may open a second connection (not hundreds).
	if got := conns.Load(); got > 3 {
		t.Fatalf("%d concurrent requests used %d connections, want at most 3", n, got)
	}
}

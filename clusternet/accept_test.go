package clusternet

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

// exhausted is a TCP listener whose first fails accepts fail as they do
// when the process is out of descriptors.
type exhausted struct {
	net.Listener
	fails atomic.Int32
}

func (l *exhausted) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// After accept fails with EMFILE (a descriptor flood), the cluster port
// backs off and accepts again: it used to stop accepting for good.
func TestAcceptGoesOnAfterEMFILE(t *testing.T) {
	root := catest.NewCA(t)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &exhausted{Listener: tcp}
	ln.fails.Store(6) // 5+10+20+40+80+160 ms of backoff
	mux := serve(ln, catest.NewNodeWithID(t, root, "m1", swarm.RoleManager), slog.New(slog.DiscardHandler))
	defer mux.Close()
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(mux.HTTPListener()) }()
	defer func() { srv.Close(); <-served }()

	c := NewHTTPClient(catest.NewNode(t, root, swarm.RoleWorker))
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+mux.Addr().String()+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("request after the accept errors: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("answer %q", b)
	}
	if n := ln.fails.Load(); n >= 0 {
		t.Fatalf("%d injected failures left unused", n+1)
	}
}

// Closing the port ends the accept loop even while it backs off.
func TestCloseDuringAcceptBackoff(t *testing.T) {
	root := catest.NewCA(t)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &exhausted{Listener: tcp}
	ln.fails.Store(1 << 30)
	mux := serve(ln, catest.NewNodeWithID(t, root, "m1", swarm.RoleManager), slog.New(slog.DiscardHandler))
	for ln.fails.Load() > 1<<30-8 { // the 8th failure: a 640 ms wait
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	mux.Close()
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("Close took %v", d)
	}
}

package client

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
)

// recorded is one request the fake daemon saw.
type recorded struct {
	Method, Path, Query, ContentType, Host string
	Body                                   string
}

// fakeDaemon is a stand-in Docker API server: pings answered with
// apiVersion (none when empty), routes answered by handlers.
type fakeDaemon struct {
	srv        *httptest.Server
	apiVersion string
	mux        *http.ServeMux

	mu   sync.Mutex
	reqs []recorded
}

func newFake(t *testing.T, apiVersion string) *fakeDaemon {
	t.Helper()
	f := &fakeDaemon{apiVersion: apiVersion, mux: http.NewServeMux()}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// newUnixFake serves on a unix socket in a temporary directory.
func newUnixFake(t testing.TB, apiVersion string) (*fakeDaemon, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "shoal.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDaemon{apiVersion: apiVersion, mux: http.NewServeMux()}
	f.srv = httptest.NewUnstartedServer(f)
	f.srv.Listener = l
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f, "unix://" + sock
}

func (f *fakeDaemon) host() string { return "tcp://" + f.srv.Listener.Addr().String() }

func (f *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Host: r.Host, Body: string(body),
	})
	f.mu.Unlock()
	if f.apiVersion != "" {
		w.Header().Set("Api-Version", f.apiVersion)
	}
	if r.URL.Path == "/_ping" {
		w.Header().Set("Swarm", "active/manager")
		w.Header().Set("Ostype", "linux")
		return
	}
	f.mux.ServeHTTP(w, r)
}

// handle registers a JSON answer for pattern ("GET /v1.50/info").
func (f *fakeDaemon) handle(pattern string, status int, v any) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	})
}

func (f *fakeDaemon) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// paths lists "METHOD path?query" of every request.
func (f *fakeDaemon) paths() []string {
	var out []string
	for _, r := range f.requests() {
		p := r.Method + " " + r.Path
		if r.Query != "" {
			p += "?" + r.Query
		}
		out = append(out, p)
	}
	return out
}

// deadTCP returns a tcp:// endpoint nobody listens on.
func deadTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "tcp://" + addr
}

func newClient(t *testing.T, hosts ...string) *Client {
	t.Helper()
	c, err := New(hosts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

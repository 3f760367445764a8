package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

func TestNegotiation(t *testing.T) {
	tests := []struct {
		name, server, wantPrefix string
	}{
		{"same", "1.50", "/v1.50/"},
		{"newer server", "1.51", "/v1.50/"},
		{"older server", "1.41", "/v1.41/"},
		{"no header", "", "/v1.24/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.server)
			f.handle("GET /", http.StatusOK, system.Info{})
			c := newClient(t, f.host())
			if _, err := c.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Info(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := f.paths()
			want := []string{"HEAD /_ping", "GET " + tt.wantPrefix + "info", "GET " + tt.wantPrefix + "info"}
			if !slices.Equal(got, want) {
				t.Fatalf("requests = %q, want %q", got, want)
			}
			if v := c.APIVersion(); "/v"+v+"/" != tt.wantPrefix {
				t.Fatalf("APIVersion() = %s", v)
			}
		})
	}
}

func TestPingFallsBackToGet(t *testing.T) {
	f := newFake(t, "1.45")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.handle("GET /v1.45/info", http.StatusOK, system.Info{ID: "x"})
	c := newClient(t, "tcp://"+srv.Listener.Addr().String())
	res, err := c.Ping(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.APIVersion != "1.45" || res.SwarmState != swarm.LocalNodeStateActive || !res.SwarmManager || res.OSType != "linux" {
		t.Fatalf("ping = %+v", res)
	}
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := f.paths(), []string{"GET /_ping", "GET /v1.45/info"}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
}

func TestPinnedVersionSkipsPing(t *testing.T) {
	f := newFake(t, "1.50")
	f.handle("GET /v1.44/info", http.StatusOK, system.Info{})
	c, err := New([]string{f.host()}, WithAPIVersion("1.44"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.paths(); !slices.Equal(got, []string{"GET /v1.44/info"}) {
		t.Fatalf("requests = %q", got)
	}
}

func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		want                    string
		noBody                  bool
	}{
		{"json message", "application/json", `{"message":"no leader"}` + "\n", 503, "no leader", false},
		{"charset content type", "application/json; charset=utf-8", `{"message": "x"}`, 503, `{"message": "x"}`, false},
		{"text", "text/plain", "  plain words\n", 500, "plain words", false},
		{"json without message", "application/json", `{"error":"x"}`, 503, "API returned a 503 (Service Unavailable) but provided no error-message", false},
		{"empty body", "application/json", "", 503, "request returned 503 Service Unavailable for API route and version http://", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, "1.50")
			f.mux.HandleFunc("GET /v1.50/nodes", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := newClient(t, f.host()).NodeList(context.Background(), nil)
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.NoBody != tt.noBody || !strings.HasPrefix(apiErr.Error(), tt.want) {
				t.Fatalf("err = %+v, want status %d message %q", apiErr, tt.status, tt.want)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	f := newFake(t, "1.50")
	f.handle("GET /v1.50/nodes/{ref}", http.StatusNotFound, map[string]string{"message": "node nosuch not found"})
	_, _, err := newClient(t, f.host()).NodeInspect(context.Background(), "nosuch")
	if !IsNotFound(err) || err.Error() != "node nosuch not found" {
		t.Fatalf("err = %v", err)
	}
	if IsUnavailable(err) {
		t.Fatal("404 reported as unavailable")
	}
}

func TestFailoverDeadUnixSocketFirst(t *testing.T) {
	live, liveHost := newUnixFake(t, "1.50")
	live.handle("GET /v1.50/info", http.StatusOK, system.Info{Name: "live"})
	dead := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	c := newClient(t, dead, liveHost)

	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "live" || c.CurrentHost() != liveHost {
		t.Fatalf("info from %q via %s", info.Name, c.CurrentHost())
	}
	reqs := live.requests()
	if len(reqs) != 2 || reqs[1].Host != unixHostHeader {
		t.Fatalf("requests = %+v", reqs)
	}
	// The client stays on the live endpoint: no new ping, no new failover.
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := live.paths(); !slices.Equal(got, []string{"HEAD /_ping", "GET /v1.50/info", "GET /v1.50/info"}) {
		t.Fatalf("requests = %q", got)
	}
}

func TestFailoverWhenEndpointDiesLater(t *testing.T) {
	first := newFake(t, "1.50")
	first.handle("GET /v1.50/info", http.StatusOK, system.Info{Name: "first"})
	second := newFake(t, "1.41")
	second.handle("GET /v1.41/info", http.StatusOK, system.Info{Name: "second"})
	c := newClient(t, first.host(), second.host())

	if info, err := c.Info(context.Background()); err != nil || info.Name != "first" {
		t.Fatalf("info = %q, %v", info.Name, err)
	}
	_ = c.Close()
	first.srv.Close()
	info, err := c.Info(context.Background())
	if err != nil || info.Name != "second" {
		t.Fatalf("info = %q, %v", info.Name, err)
	}
	if c.APIVersion() != "1.41" {
		t.Fatalf("version after failover = %s, want the second endpoint's 1.41", c.APIVersion())
	}
}

func TestFailoverOnResetBeforeAnswer(t *testing.T) {
	resetting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_ping" {
			w.Header().Set("Api-Version", "1.50")
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(resetting.Close)
	live := newFake(t, "1.50")
	live.handle("POST /v1.50/swarm/join", http.StatusOK, nil)
	c := newClient(t, "tcp://"+resetting.Listener.Addr().String(), live.host())

	if err := c.SwarmJoin(context.Background(), swarm.JoinRequest{JoinToken: "T", RemoteAddrs: []string{"10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	reqs := live.requests()
	if len(reqs) != 2 || !strings.Contains(reqs[1].Body, `"JoinToken":"T"`) {
		t.Fatalf("join not retried with its body: %+v", reqs)
	}
}

func TestHTTPErrorsDoNotFailOver(t *testing.T) {
	first := newFake(t, "1.50")
	first.handle("GET /v1.50/swarm", http.StatusServiceUnavailable, map[string]string{"message": "not a manager"})
	second := newFake(t, "1.50")
	c := newClient(t, first.host(), second.host())
	_, err := c.SwarmInspect(context.Background())
	if !IsUnavailable(err) || err.Error() != "not a manager" {
		t.Fatalf("err = %v", err)
	}
	if len(second.requests()) != 0 || c.CurrentHost() != first.host() {
		t.Fatal("an HTTP error caused a failover")
	}
}

func TestAllEndpointsDead(t *testing.T) {
	one := "unix://" + filepath.Join(t.TempDir(), "x.sock")
	two := deadTCP(t)
	tests := []struct {
		hosts []string
		want  string
	}{
		{[]string{one}, "Cannot connect to the shoal daemon at " + one + ". Is the daemon running?"},
		{[]string{one, two}, "Cannot connect to the shoal daemon at " + one + ", " + two + ". Is the daemon running?"},
	}
	for _, tt := range tests {
		c := newClient(t, tt.hosts...)
		_, err := c.Info(context.Background())
		var ce *ConnectError
		if !errors.As(err, &ce) || err.Error() != tt.want {
			t.Fatalf("err = %v, want %q", err, tt.want)
		}
		if ce.Err == nil {
			t.Fatal("ConnectError without cause")
		}
		if _, err := c.Ping(context.Background()); !errors.As(err, &ce) {
			t.Fatalf("ping err = %v", err)
		}
	}
}

func TestCancelledContextDoesNotFailOver(t *testing.T) {
	f := newFake(t, "1.50")
	second := newFake(t, "1.50")
	c := newClient(t, f.host(), second.host())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Info(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if c.CurrentHost() != f.host() {
		t.Fatal("cancellation caused a failover")
	}
}

func TestTLSEndpoint(t *testing.T) {
	f := &fakeDaemon{apiVersion: "1.50", mux: http.NewServeMux()}
	f.handle("GET /v1.50/version", http.StatusOK, system.VersionResponse{Version: "9.9"})
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c, err := New([]string{"tcp://" + srv.Listener.Addr().String()}, WithTLSConfig(&tls.Config{RootCAs: pool}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Version(context.Background())
	if err != nil || v.Version != "9.9" {
		t.Fatalf("version = %+v, %v", v, err)
	}
}

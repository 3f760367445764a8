package apiserver_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

func TestPingHeaders(t *testing.T) {
	inactive := apiserver.New(apiserver.Config{Backend: &apiservertest.Backend{}, Version: testVersion})
	leader := newFakeLeader(t).handler
	tests := []struct {
		name, method, path, swarmHdr, body string
		h                                  http.Handler
	}{
		{"head inactive", http.MethodHead, "/_ping", "inactive/worker", "", inactive},
		{"get inactive", http.MethodGet, "/_ping", "inactive/worker", "OK", inactive},
		{"head manager", http.MethodHead, "/_ping", "active/manager", "", leader},
		{"get versioned", http.MethodGet, "/v1.50/_ping", "active/manager", "OK", leader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serve(t, tt.h, tt.method, tt.path, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", res.StatusCode)
			}
			want := map[string]string{
				"Api-Version":         "1.50",
				"Ostype":              "linux",
				"Docker-Experimental": "false",
				"Server":              "shoal/1.2.3 (linux)",
				"Swarm":               tt.swarmHdr,
				"Cache-Control":       "no-cache, no-store, must-revalidate",
				"Pragma":              "no-cache",
				"Content-Type":        "text/plain; charset=utf-8",
			}
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if body := readBody(t, res); body != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
		})
	}
}

func TestWorkerPingSaysWorker(t *testing.T) {
	b := &apiservertest.Backend{InfoFn: func(context.Context) apiserver.Info {
		return apiserver.Info{Swarm: apiserver.SwarmInfo{State: apiserver.StateActive}}
	}}
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodHead, "/_ping", "")
	if got := res.Header.Get("Swarm"); got != "active/worker" {
		t.Errorf("Swarm = %q, want active/worker", got)
	}
	if got := res.Header.Get("Server"); got != "shoal/dev (linux)" {
		t.Errorf("Server = %q, want the dev default", got)
	}
}

func TestAPIVersionPrefix(t *testing.T) {
	h := newFakeLeader(t).handler
	for _, path := range []string{"/nodes", "/v1.50/nodes", "/v1.24/nodes", "/v1.40/nodes", "/v1.050/nodes"} {
		res := serve(t, h, http.MethodGet, path, "")
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", path, res.StatusCode, readBody(t, res))
		}
	}
}

func TestAPIVersionOutOfRange(t *testing.T) {
	f := newFakeLeader(t)
	tests := []struct{ path, msg string }{
		{"/v1.52/nodes", "client version 1.52 is too new. Maximum supported API version is 1.50"},
		{"/v1.51/_ping", "client version 1.51 is too new. Maximum supported API version is 1.50"},
		{"/v2/info", "client version 2 is too new. Maximum supported API version is 1.50"},
		{"/v1.23/nodes", "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{"/v1.5/swarm", "client version 1.5 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
	}
	for _, tt := range tests {
		res := serve(t, f.handler, http.MethodGet, tt.path, "")
		wantError(t, res, http.StatusBadRequest, tt.msg)
		if res.Header.Get("Api-Version") != "1.50" {
			t.Errorf("%s: no Api-Version on the refusal", tt.path)
		}
	}
	if n := f.backend.ControlCalls.Load(); n != 0 {
		t.Errorf("Control called %d times for refused versions", n)
	}
}

func TestUnknownRoutes(t *testing.T) {
	h := newFakeLeader(t).handler
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/nosuch"},
		{http.MethodGet, "/v1.50/nosuch"},
		{http.MethodGet, "/v1.50"},
		{http.MethodGet, "/vx/nodes"},
		{http.MethodDelete, "/swarm"},
		{http.MethodPut, "/v1.50/nodes/abc"},
	} {
		res := serve(t, h, tc.method, tc.path, "")
		wantError(t, res, http.StatusNotFound, "page not found")
		if res.Header.Get("Server") == "" || res.Header.Get("Ostype") != "linux" {
			t.Errorf("%s %s: common headers missing: %v", tc.method, tc.path, res.Header)
		}
	}
}

// Docker's other APIs answer with Docker's not-implemented status, so a
// client learns the feature is missing rather than mistyped.
func TestNotImplementedRoutes(t *testing.T) {
	h := newFakeLeader(t).handler
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/networks"},
		{http.MethodGet, "/v1.50/secrets"},
		{http.MethodGet, "/v1.41/containers/json"},
		{http.MethodPost, "/v1.50/images/create"},
		{http.MethodGet, "/events"},
	} {
		res := serve(t, h, tc.method, tc.path, "")
		wantError(t, res, http.StatusNotImplemented, tc.method+" "+tc.path+" is not supported: shoal serves the swarm API of the Docker Engine API only")
	}
}

// errorControl's every call fails with err.
func errorControl(err error) *apiservertest.Control {
	return &apiservertest.Control{
		GetNodeFn: func(context.Context, string) (controlapi.NodeView, error) { return controlapi.NodeView{}, err },
	}
}

func TestErrorClassesToStatus(t *testing.T) {
	tests := []struct {
		err    error
		status int
	}{
		{swarm.Errorf(swarm.ErrInvalidArgument, "bad"), http.StatusBadRequest},
		{swarm.Errorf(swarm.ErrFailedPrecondition, "attempting to demote the last manager of the swarm"), http.StatusBadRequest},
		{swarm.Errorf(swarm.ErrNotFound, "node nosuch not found"), http.StatusNotFound},
		{swarm.Errorf(swarm.ErrAlreadyExists, "taken"), http.StatusConflict},
		{swarm.Errorf(swarm.ErrPermissionDenied, "no"), http.StatusForbidden},
		{swarm.ErrNoLeader, http.StatusServiceUnavailable},
		{swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence"), http.StatusInternalServerError},
		{fmt.Errorf("wrapped: %w", swarm.Errorf(swarm.ErrNotFound, "inner")), http.StatusNotFound},
		{fmt.Errorf("disk on fire <&>"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		h := apiserver.New(apiserver.Config{Backend: apiservertest.NewLeader(leaderID, errorControl(tt.err))})
		wantError(t, serve(t, h, http.MethodGet, "/v1.50/nodes/x", ""), tt.status, tt.err.Error())
	}
}

func TestClusterRoutesOffLeader(t *testing.T) {
	routes := []struct{ method, path, body string }{
		{http.MethodGet, "/v1.50/swarm", ""},
		{http.MethodPost, "/v1.50/swarm/update?version=1", "{}"},
		{http.MethodGet, "/v1.50/swarm/unlockkey", ""},
		{http.MethodGet, "/v1.50/nodes", ""},
		{http.MethodGet, "/v1.50/nodes/x", ""},
		{http.MethodDelete, "/v1.50/nodes/x", ""},
		{http.MethodPost, "/v1.50/nodes/x/update?version=1", "{}"},
	}
	for _, state := range []error{swarm.ErrNotManager, swarm.ErrNotInSwarm, swarm.ErrNoLeader} {
		b := &apiservertest.Backend{ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
			return nil, nil, state
		}}
		h := apiserver.New(apiserver.Config{Backend: b})
		for _, rt := range routes {
			wantError(t, serve(t, h, rt.method, rt.path, rt.body), http.StatusServiceUnavailable, state.Error())
		}
	}
}

func TestNotManagerExactMessage(t *testing.T) {
	b := &apiservertest.Backend{ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
		return nil, nil, swarm.ErrNotManager
	}}
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodGet, "/v1.50/swarm", "")
	wantError(t, res, http.StatusServiceUnavailable,
		"This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.")
}

func TestRequestsAreLoggedAtDebug(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := apiserver.New(apiserver.Config{Backend: &apiservertest.Backend{}, Logger: log})
	serve(t, h, http.MethodGet, "/v1.50/nodes", "")
	line := buf.String()
	for _, w := range []string{"level=DEBUG", "method=GET", "path=/v1.50/nodes", "status=503"} {
		if !strings.Contains(line, w) {
			t.Errorf("log lacks %q: %s", w, line)
		}
	}
}

package client

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/swarm"
)

func TestSwarmRequests(t *testing.T) {
	f := newFake(t, "1.50")
	f.handle("POST /v1.50/swarm/init", http.StatusOK, "node1")
	f.handle("POST /v1.50/swarm/leave", http.StatusOK, nil)
	f.handle("POST /v1.50/swarm/update", http.StatusOK, nil)
	f.handle("GET /v1.50/swarm", http.StatusOK, swarm.Swarm{JoinTokens: swarm.JoinTokens{Worker: "W"}})
	c := newClient(t, f.host())
	ctx := context.Background()

	id, err := c.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "0.0.0.0:2377"})
	if err != nil || id != "node1" {
		t.Fatalf("init = %q, %v", id, err)
	}
	if err := c.SwarmLeave(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := c.SwarmLeave(ctx, false); err != nil {
		t.Fatal(err)
	}
	sw, err := c.SwarmInspect(ctx)
	if err != nil || sw.JoinTokens.Worker != "W" {
		t.Fatalf("inspect = %+v, %v", sw, err)
	}
	limit := int64(3)
	spec := swarm.Spec{Orchestration: swarm.OrchestrationConfig{TaskHistoryRetentionLimit: &limit}}
	if err := c.SwarmUpdate(ctx, swarm.Version{Index: 11}, spec, SwarmUpdateFlags{RotateWorkerToken: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HEAD /_ping",
		"POST /v1.50/swarm/init",
		"POST /v1.50/swarm/leave?force=1",
		"POST /v1.50/swarm/leave",
		"GET /v1.50/swarm",
		"POST /v1.50/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=11",
	}
	if got := f.paths(); !slices.Equal(got, want) {
		t.Fatalf("requests =\n%q\nwant\n%q", got, want)
	}
	reqs := f.requests()
	if reqs[1].ContentType != "application/json" || reqs[3].ContentType != "" || reqs[3].Body != "" {
		t.Fatalf("content types: init %q, leave %q %q", reqs[1].ContentType, reqs[3].ContentType, reqs[3].Body)
	}
	var sent swarm.Spec
	if err := json.Unmarshal([]byte(reqs[5].Body), &sent); err != nil || *sent.Orchestration.TaskHistoryRetentionLimit != 3 {
		t.Fatalf("update body %s: %v", reqs[5].Body, err)
	}
}

func TestNodeRequests(t *testing.T) {
	f := newFake(t, "1.50")
	f.handle("GET /v1.50/nodes", http.StatusOK, []swarm.Node{{ID: "n1"}})
	f.mux.HandleFunc("GET /v1.50/nodes/{ref}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ID":"n1","Version":{"Index":7},"Spec":{"Role":"worker"},"Extra":1}`))
	})
	f.handle("POST /v1.50/nodes/{id}/update", http.StatusOK, nil)
	f.mux.HandleFunc("DELETE /v1.50/nodes/{ref}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	c := newClient(t, f.host())
	ctx := context.Background()

	nodes, err := c.NodeList(ctx, NewFilters().Add("role", "manager"))
	if err != nil || len(nodes) != 1 {
		t.Fatalf("list = %v, %v", nodes, err)
	}
	if _, err := c.NodeList(ctx, nil); err != nil {
		t.Fatal(err)
	}
	n, raw, err := c.NodeInspect(ctx, "worker1")
	if err != nil || n.Version.Index != 7 || string(raw) != `{"ID":"n1","Version":{"Index":7},"Spec":{"Role":"worker"},"Extra":1}` {
		t.Fatalf("inspect = %+v %s %v", n, raw, err)
	}
	n.Spec.Role = swarm.NodeRoleManager
	if err := c.NodeUpdate(ctx, n.ID, n.Version, n.Spec); err != nil {
		t.Fatal(err)
	}
	if err := c.NodeRemove(ctx, "worker2", true); err != nil {
		t.Fatal(err)
	}
	if err := c.NodeRemove(ctx, "worker3", false); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HEAD /_ping",
		"GET /v1.50/nodes?filters=%7B%22role%22%3A%7B%22manager%22%3Atrue%7D%7D",
		"GET /v1.50/nodes",
		"GET /v1.50/nodes/worker1",
		"POST /v1.50/nodes/n1/update?version=7",
		"DELETE /v1.50/nodes/worker2?force=1",
		"DELETE /v1.50/nodes/worker3",
	}
	if got := f.paths(); !slices.Equal(got, want) {
		t.Fatalf("requests =\n%q\nwant\n%q", got, want)
	}
	if body := f.requests()[4].Body; body != `{"Labels":null,"Role":"manager"}` {
		t.Fatalf("update body = %s", body)
	}
}

func TestResolveHosts(t *testing.T) {
	t.Setenv(HostEnv, "")
	if got := ResolveHosts(nil); !slices.Equal(got, []string{DefaultHost}) {
		t.Fatalf("default = %q", got)
	}
	t.Setenv(HostEnv, "unix:///a.sock, tcp://10.0.0.2:2375,")
	if got := ResolveHosts(nil); !slices.Equal(got, []string{"unix:///a.sock", "tcp://10.0.0.2:2375"}) {
		t.Fatalf("env = %q", got)
	}
	got := ResolveHosts([]string{"tcp://h1:1,tcp://h2:2", "unix:///c.sock"})
	if !slices.Equal(got, []string{"tcp://h1:1", "tcp://h2:2", "unix:///c.sock"}) {
		t.Fatalf("flags = %q", got)
	}
}

func TestParseHost(t *testing.T) {
	good := map[string]string{
		"unix:///var/run/shoal.sock": "/var/run/shoal.sock",
		"tcp://127.0.0.1:2375":       "127.0.0.1:2375",
		"tcp://example.com":          "example.com:2375",
		"tcp://[::1]:4000/":          "[::1]:4000",
	}
	for in, want := range good {
		h, err := parseHost(in)
		if err != nil || h.addr != want {
			t.Errorf("parseHost(%q) = %q, %v; want %q", in, h.addr, err, want)
		}
	}
	for _, bad := range []string{"", "/var/run/x.sock", "unix://", "ssh://h", "tcp://", "tcp://h:1/path"} {
		if _, err := parseHost(bad); err == nil {
			t.Errorf("parseHost(%q) accepted", bad)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("New without hosts accepted")
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"1.9", "1.10", true}, {"1.50", "1.50", false}, {"1.51", "1.50", false}, {"1.24", "1.50", true}, {"2", "1.50", false}} {
		if got := versionLess(c.a, c.b); got != c.less {
			t.Errorf("versionLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

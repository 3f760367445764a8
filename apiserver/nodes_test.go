package apiserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

func TestListNodesShape(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/nodes", "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("decode %s: %v", body, err)
	}
	mgr, wrk := raw[0], raw[1]
	if _, ok := wrk["ManagerStatus"]; ok {
		t.Error("worker has ManagerStatus")
	}
	checks := []struct {
		obj  map[string]any
		keys []string
		want any
	}{
		{mgr, []string{"ManagerStatus", "Leader"}, true},
		{mgr, []string{"ManagerStatus", "Reachability"}, "reachable"},
		{mgr, []string{"ManagerStatus", "Addr"}, "10.0.0.1:2377"},
		{mgr, []string{"Version", "Index"}, 12.0},
		{mgr, []string{"CreatedAt"}, "2025-06-01T12:00:00.000000123Z"},
		{mgr, []string{"Spec", "Role"}, "manager"},
		{mgr, []string{"Spec", "Labels"}, map[string]any{}},
		{mgr, []string{"Description", "Platform", "Architecture"}, "x86_64"},
		{mgr, []string{"Description", "Engine", "EngineVersion"}, testVersion},
		{mgr, []string{"Status", "State"}, "ready"},
		{wrk, []string{"Spec", "Availability"}, "drain"},
		{wrk, []string{"Spec", "Labels"}, map[string]any{"zone": "a"}},
		{wrk, []string{"Status", "State"}, "down"},
		{wrk, []string{"Description", "Engine", "EngineVersion"}, "0.9.0"},
	}
	for _, c := range checks {
		if got := lookup(t, c.obj, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	// And the typed decode the docker CLI does must succeed.
	var typed []wire.Node
	if err := json.Unmarshal([]byte(body), &typed); err != nil {
		t.Fatal(err)
	}
	if typed[0].Description.TLSInfo.TrustRoot == "" || len(typed[0].Description.TLSInfo.CertIssuerPublicKey) == 0 {
		t.Error("node TLSInfo is empty")
	}
	if !typed[0].CreatedAt.Equal(t0) {
		t.Errorf("CreatedAt = %v", typed[0].CreatedAt)
	}
}

func TestListNodesEmptyIsArray(t *testing.T) {
	f := newFakeLeader(t)
	f.ctl.ListNodesFn = func(context.Context, map[string][]string) ([]controlapi.NodeView, error) { return nil, nil }
	res := serve(t, f.handler, http.MethodGet, "/nodes", "")
	if body := readBody(t, res); body != "[]\n" {
		t.Errorf("body = %q, want []", body)
	}
}

func TestListNodesFilters(t *testing.T) {
	tests := []struct {
		raw  string
		want map[string][]string
	}{
		{"", nil},
		{`{}`, nil},
		{`{"role":{"manager":true}}`, map[string][]string{"role": {"manager"}}},
		{`{"name":{"b":true,"a":true},"label":{"x=y":true}}`, map[string][]string{"name": {"a", "b"}, "label": {"x=y"}}},
		{`{"role":["worker"]}`, map[string][]string{"role": {"worker"}}},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		var got map[string][]string
		f.ctl.ListNodesFn = func(_ context.Context, filters map[string][]string) ([]controlapi.NodeView, error) {
			got = filters
			return nil, nil
		}
		target := "/v1.50/nodes"
		if tt.raw != "" {
			target += "?filters=" + url.QueryEscape(tt.raw)
		}
		if res := serve(t, f.handler, http.MethodGet, target, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tt.raw, res.StatusCode, readBody(t, res))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filters %s gave %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestListNodesBadFilters(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/nodes?filters="+url.QueryEscape(`{"role":`), "")
	wantError(t, res, http.StatusBadRequest, "invalid filter: unexpected end of JSON input")
	if n := f.ctl.ListNodesCalls.Load(); n != 0 {
		t.Errorf("ListNodes called %d times", n)
	}
}

func TestInspectNode(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/nodes/worker1", "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if id := lookup(t, decodeMap(t, body), "ID"); id != string(workerID) {
		t.Errorf("ID = %v, want %s", id, workerID)
	}
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/nodes/nosuch", ""), http.StatusNotFound, "node nosuch not found")
}

func TestRemoveNode(t *testing.T) {
	for query, wantForce := range map[string]bool{"": false, "?force=1": true, "?force=true": true} {
		f := newFakeLeader(t)
		var gotRef string
		var gotForce bool
		f.ctl.RemoveNodeFn = func(_ context.Context, ref string, force bool) error {
			gotRef, gotForce = ref, force
			return nil
		}
		res := serve(t, f.handler, http.MethodDelete, "/v1.50/nodes/worker1"+query, "")
		if res.StatusCode != http.StatusOK || gotRef != "worker1" || gotForce != wantForce {
			t.Errorf("DELETE %s: %d, RemoveNode(%q, %v)", query, res.StatusCode, gotRef, gotForce)
		}
	}
}

func TestRemoveNodeNotDown(t *testing.T) {
	f := newFakeLeader(t)
	msg := "rpc error: code = FailedPrecondition desc = node " + string(workerID) + " is not down and can't be removed"
	f.ctl.RemoveNodeFn = func(context.Context, string, bool) error {
		return swarm.Errorf(swarm.ErrFailedPrecondition, "%s", msg)
	}
	wantError(t, serve(t, f.handler, http.MethodDelete, "/nodes/worker1", ""), http.StatusBadRequest, msg)
}

func TestUpdateNode(t *testing.T) {
	f := newFakeLeader(t)
	var gotRef string
	var gotVersion uint64
	var gotSpec swarm.NodeSpec
	f.ctl.UpdateNodeFn = func(_ context.Context, ref string, v uint64, spec swarm.NodeSpec) error {
		gotRef, gotVersion, gotSpec = ref, v, spec
		return nil
	}
	// `docker node promote worker1`: the whole spec, read back and modified.
	res := serve(t, f.handler, http.MethodPost, "/v1.50/nodes/"+string(workerID)+"/update?version=13",
		`{"Labels":{"zone":"a"},"Role":"manager","Availability":"drain"}`)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	want := swarm.NodeSpec{Labels: map[string]string{"zone": "a"}, Role: swarm.RoleManager, Availability: swarm.AvailabilityDrain}
	if gotRef != string(workerID) || gotVersion != 13 || !reflect.DeepEqual(gotSpec, want) {
		t.Errorf("UpdateNode(%q, %d, %+v)", gotRef, gotVersion, gotSpec)
	}
}

func TestUpdateNodeRefusals(t *testing.T) {
	tests := []struct {
		query, body string
		status      int
		msg         string
	}{
		{"", `{}`, 400, `invalid node version '': strconv.ParseUint: parsing "": invalid syntax`},
		{"?version=x", `{}`, 400, `invalid node version 'x': strconv.ParseUint: parsing "x": invalid syntax`},
		{"?version=1", `{"Role":`, 400, "invalid JSON: unexpected EOF"},
		{"?version=1", `{"Role":5}`, 400, "invalid JSON: json: cannot unmarshal number into Go struct field NodeSpec.Role of type swarm.NodeRole"},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/nodes/x/update"+tt.query, tt.body), tt.status, tt.msg)
		if n := f.ctl.UpdateNodeCalls.Load(); n != 0 {
			t.Errorf("%s %s: UpdateNode called", tt.query, tt.body)
		}
	}
}

func TestUpdateNodeOutOfSequence(t *testing.T) {
	f := newFakeLeader(t)
	f.ctl.UpdateNodeFn = func(context.Context, string, uint64, swarm.NodeSpec) error {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	res := serve(t, f.handler, http.MethodPost, "/v1.50/nodes/x/update?version=1", `{"Role":"worker","Availability":"active"}`)
	wantError(t, res, http.StatusInternalServerError, "update out of sequence")
}

func TestInfoManager(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/info", "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	m := decodeMap(t, body)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, string(leaderID)},
		{[]string{"Name"}, "fake-manager"},
		{[]string{"NCPU"}, 4.0},
		{[]string{"MemTotal"}, float64(8 << 30)},
		{[]string{"OSType"}, "linux"},
		{[]string{"Architecture"}, "x86_64"},
		{[]string{"KernelVersion"}, "6.1.0"},
		{[]string{"OperatingSystem"}, "Debian GNU/Linux 12 (bookworm)"},
		{[]string{"ServerVersion"}, testVersion},
		{[]string{"Swarm", "NodeID"}, string(leaderID)},
		{[]string{"Swarm", "LocalNodeState"}, "active"},
		{[]string{"Swarm", "ControlAvailable"}, true},
		{[]string{"Swarm", "Nodes"}, 2.0},
		{[]string{"Swarm", "Managers"}, 1.0},
		{[]string{"Swarm", "RemoteManagers"}, []any{map[string]any{"NodeID": string(leaderID), "Addr": "10.0.0.1:2377"}}},
		{[]string{"Swarm", "Cluster", "ID"}, "clusteridccccccccccccccccc"},
		{[]string{"Swarm", "Cluster", "Spec", "Dispatcher", "HeartbeatPeriod"}, float64(time.Second)},
	}
	for _, c := range checks {
		if got := lookup(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	if _, ok := lookup(t, m, "Swarm", "Cluster").(map[string]any)["JoinTokens"]; ok {
		t.Error("/info shows join tokens")
	}
}

func TestInfoInactiveAndWorker(t *testing.T) {
	inactive := apiserver.New(apiserver.Config{Backend: &apiservertest.Backend{}, Version: testVersion})
	m := decodeMap(t, readBody(t, serve(t, inactive, http.MethodGet, "/info", "")))
	wantSwarm := map[string]any{"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false, "Error": "", "RemoteManagers": nil}
	if got := lookup(t, m, "Swarm"); !reflect.DeepEqual(got, wantSwarm) {
		t.Errorf("inactive Swarm = %#v\nwant %#v", got, wantSwarm)
	}
	if got := lookup(t, m, "ServerVersion"); got != testVersion {
		t.Errorf("ServerVersion = %v", got)
	}

	// A worker knows the cluster object only if it was once a manager;
	// Docker shows it to managers only.
	caPEM, _ := testCAPEM(t)
	worker := &apiservertest.Backend{InfoFn: func(context.Context) apiserver.Info {
		return apiserver.Info{Swarm: apiserver.SwarmInfo{NodeID: workerID, State: apiserver.StateActive, Cluster: testCluster(caPEM)}}
	}}
	m = decodeMap(t, readBody(t, serve(t, apiserver.New(apiserver.Config{Backend: worker}), http.MethodGet, "/info", "")))
	if _, ok := lookup(t, m, "Swarm").(map[string]any)["Cluster"]; ok {
		t.Error("a worker's /info shows the cluster")
	}
}

func TestVersionEndpoint(t *testing.T) {
	h := apiserver.New(apiserver.Config{Backend: &apiservertest.Backend{}, Version: testVersion})
	res := serve(t, h, http.MethodGet, "/v1.50/version", "")
	m := decodeMap(t, readBody(t, res))
	for k, want := range map[string]any{"Version": testVersion, "ApiVersion": "1.50", "MinAPIVersion": "1.24", "Os": "linux"} {
		if got := lookup(t, m, k); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if got := lookup(t, m, "Components").([]any)[0].(map[string]any)["Name"]; got != "Engine" {
		t.Errorf("first component = %v, want Engine", got)
	}
}

package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
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

func TestListServicesShape(t *testing.T) {
	f, _ := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/services?status=true", "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("decode %s: %v", body, err)
	}
	ping, web := raw[0], raw[1]
	checks := []struct {
		obj  map[string]any
		keys []string
		want any
	}{
		{ping, []string{"ID"}, string(pingID)},
		{ping, []string{"Version", "Index"}, 36.0},
		{ping, []string{"CreatedAt"}, "2025-06-01T12:00:00.000000123Z"},
		{ping, []string{"Spec", "Name"}, "ping"},
		{ping, []string{"Spec", "Labels"}, map[string]any{"team": "a"}},
		{ping, []string{"Spec", "TaskTemplate", "ContainerSpec", "Image"}, "alpine:latest"},
		{ping, []string{"Spec", "Mode", "Replicated", "Replicas"}, 2.0},
		{ping, []string{"Spec", "EndpointSpec", "Mode"}, "vip"},
		{ping, []string{"Endpoint", "Spec", "Mode"}, "vip"},
		{ping, []string{"ServiceStatus"}, map[string]any{"RunningTasks": 2.0, "DesiredTasks": 2.0, "CompletedTasks": 0.0}},
		{web, []string{"Spec", "Mode"}, map[string]any{"Global": map[string]any{}}},
		{web, []string{"Spec", "TaskTemplate", "Placement", "Constraints"}, []any{"node.role==manager"}},
		{web, []string{"ServiceStatus", "DesiredTasks"}, 1.0},
	}
	for _, c := range checks {
		if got := lookup(t, c.obj, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	for _, k := range []string{"UpdateStatus", "PreviousSpec"} {
		if _, ok := ping[k]; ok {
			t.Errorf("%s present on a service never updated", k)
		}
	}
	var typed []wire.Service
	if err := json.Unmarshal([]byte(body), &typed); err != nil {
		t.Fatalf("the CLI's decode fails: %v", err)
	}
	if !typed[0].CreatedAt.Equal(t0) || typed[0].Spec.TaskTemplate.ContainerSpec == nil {
		t.Errorf("typed decode: %+v", typed[0])
	}
}

func TestListServicesStatusParam(t *testing.T) {
	tests := []struct {
		target     string
		wantStatus bool
	}{
		{"/v1.50/services", false},
		{"/v1.50/services?status=true", true},
		{"/v1.50/services?status=1", true},
		{"/v1.50/services?status=false", false},
		{"/services?status=true", true},
		{"/v1.41/services?status=true", true},
		{"/v1.40/services?status=true", false}, // ignored before 1.41
		{"/v1.40/services?status=bogus", false},
	}
	for _, tt := range tests {
		f, fx := newServiceLeader(t)
		var gotStatus bool
		f.ctl.ListServicesFn = func(ctx context.Context, fl map[string][]string, status bool) ([]controlapi.ServiceView, error) {
			gotStatus = status
			return fx.list(ctx, fl, status)
		}
		res := serve(t, f.handler, http.MethodGet, tt.target, "")
		body := readBody(t, res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tt.target, res.StatusCode, body)
		}
		var typed []wire.Service
		if err := json.Unmarshal([]byte(body), &typed); err != nil {
			t.Fatal(err)
		}
		if gotStatus != tt.wantStatus || (typed[0].ServiceStatus != nil) != tt.wantStatus {
			t.Errorf("%s: ListServices(status=%v), ServiceStatus %+v; want status %v", tt.target, gotStatus, typed[0].ServiceStatus, tt.wantStatus)
		}
	}
}

// A control API that fills counts anyway must not leak them without
// status=true.
func TestListServicesStatusOnlyWhenAsked(t *testing.T) {
	f, fx := newServiceLeader(t)
	f.ctl.ListServicesFn = func(ctx context.Context, fl map[string][]string, _ bool) ([]controlapi.ServiceView, error) {
		return fx.list(ctx, fl, true)
	}
	body := readBody(t, serve(t, f.handler, http.MethodGet, "/v1.50/services", ""))
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw[0]["ServiceStatus"]; ok {
		t.Errorf("ServiceStatus without status=true: %s", body)
	}
}

func TestListServicesFilters(t *testing.T) {
	tests := []struct {
		raw  string
		want map[string][]string
	}{
		{"", nil},
		{`{"id":{"ping":true}}`, map[string][]string{"id": {"ping"}}},
		{`{"name":{"ping":true}}`, map[string][]string{"name": {"ping"}}},
		{`{"label":{"b":true,"a=1":true},"mode":{"global":true}}`, map[string][]string{"label": {"a=1", "b"}, "mode": {"global"}}},
	}
	for _, tt := range tests {
		f, fx := newServiceLeader(t)
		target := "/v1.50/services"
		if tt.raw != "" {
			target += "?filters=" + url.QueryEscape(tt.raw)
		}
		if res := serve(t, f.handler, http.MethodGet, target, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tt.raw, res.StatusCode)
		}
		if got := fx.svcFilters[0]; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("filters %s gave %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestListServicesAndTasksBadQuery(t *testing.T) {
	f := newFakeLeader(t)
	strictServices(t, f.ctl)
	bad := url.QueryEscape(`{"id":`)
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/services?filters="+bad, ""), 400, "invalid filter: unexpected end of JSON input")
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/tasks?filters="+bad, ""), 400, "invalid filter: unexpected end of JSON input")
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/services?status=maybe", ""), 400, "invalid value for status: maybe")
}

func TestListServicesAndTasksEmptyAreArrays(t *testing.T) {
	f := newFakeLeader(t) // unset Fns return nil slices
	for _, path := range []string{"/v1.50/services", "/v1.50/tasks"} {
		if body := readBody(t, serve(t, f.handler, http.MethodGet, path, "")); body != "[]\n" {
			t.Errorf("%s: body = %q, want []", path, body)
		}
	}
}

// The body `docker service create --name ping --replicas 2 alpine ping
// docker.com` sends, unpinned (DOCKER-API.md §3).
const cliCreateBody = `{"Name":"ping2","Labels":{},
 "TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest","Args":["ping","docker.com"],"Init":false,"DNSConfig":{}},
                 "Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},
 "Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`

func TestCreateService(t *testing.T) {
	f, fx := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodPost, "/v1.50/services/create", cliCreateBody)
	body := readBody(t, res)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if want := `{"ID":"` + id25("newsvcping2") + `"}` + "\n"; body != want {
		t.Errorf("body = %q, want %q (no Warnings key)", body, want)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := swarm.ServiceSpec{
		Name: "ping2", Mode: swarm.ModeReplicated, Replicas: 2,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine:latest", Args: []string{"ping", "docker.com"}}},
	}
	if len(fx.created) != 1 || !reflect.DeepEqual(fx.created[0], want) {
		t.Errorf("CreateService(%+v), want %+v", fx.created, want)
	}
}

func TestCreateServiceDefaultsToOneReplica(t *testing.T) {
	f, fx := newServiceLeader(t)
	body := `{"Name":"one","TaskTemplate":{"ContainerSpec":{"Image":"alpine"}},"Mode":{"Replicated":{}}}`
	if res := serve(t, f.handler, http.MethodPost, "/services/create", body); res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	if got := fx.created[0]; got.Mode != swarm.ModeReplicated || got.Replicas != 1 {
		t.Errorf("mode %q replicas %d, want replicated 1", got.Mode, got.Replicas)
	}
}

func TestCreateServiceNameConflict(t *testing.T) {
	f, _ := newServiceLeader(t)
	body := `{"Name":"ping","TaskTemplate":{"ContainerSpec":{"Image":"alpine"}}}`
	wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/services/create", body), http.StatusConflict,
		"rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ping already exists")
}

func TestCreateServiceRefusals(t *testing.T) {
	tests := []struct {
		body, ct, msg string
	}{
		{`{"Name":`, "application/json", "invalid JSON: unexpected EOF"},
		{`{"Name":5}`, "application/json", "invalid JSON: json: cannot unmarshal number into Go struct field ServiceSpec.Annotations.Name of type string"},
		{`{"Name":"x"}`, "text/plain", "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{`{"Name":"x"}`, "application/json", "ContainerSpec: container spec must be provided"},
		{"", "", "ContainerSpec: container spec must be provided"},
		{`{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a"}},"Mode":{"ReplicatedJob":{}}}`, "application/json", "job services are not supported"},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		strictServices(t, f.ctl)
		req := newRequest(http.MethodPost, "/v1.50/services/create", tt.body, tt.ct)
		wantError(t, do(f.handler, req), http.StatusBadRequest, tt.msg)
	}
}

func TestInspectService(t *testing.T) {
	f, _ := newServiceLeader(t)
	for _, target := range []string{"/v1.50/services/ping?insertDefaults=false", "/services/" + string(pingID), "/v1.50/services/pingsvc?insertDefaults=true"} {
		res := serve(t, f.handler, http.MethodGet, target, "")
		body := readBody(t, res)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", target, res.StatusCode, body)
		}
		m := decodeMap(t, body)
		if m["ID"] != string(pingID) {
			t.Errorf("%s: ID = %v", target, m["ID"])
		}
		if _, ok := m["ServiceStatus"]; ok {
			t.Errorf("%s: GET /services/{id} shows ServiceStatus", target)
		}
		if got := lookup(t, m, "Spec", "TaskTemplate", "ContainerSpec", "Args"); !reflect.DeepEqual(got, []any{"ping", "docker.com"}) {
			t.Errorf("Args = %v", got)
		}
	}
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/services/nosuch?insertDefaults=true", ""), http.StatusNotFound, "service nosuch not found")
}

// `docker service update --force ping` reads the service and echoes its
// spec with ForceUpdate incremented; what arrives must be the stored spec
// with that one change.
func TestUpdateServiceEcho(t *testing.T) {
	f, fx := newServiceLeader(t)
	var svc wire.Service
	if err := json.Unmarshal([]byte(readBody(t, serve(t, f.handler, http.MethodGet, "/v1.50/services/ping?insertDefaults=false", ""))), &svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.TaskTemplate.ForceUpdate++
	res := serve(t, f.handler, http.MethodPost, "/v1.50/services/"+svc.ID+"/update?registryAuthFrom=spec&version=36", mustJSON(t, svc.Spec))
	if body := readBody(t, res); res.StatusCode != http.StatusOK || body != `{"Warnings":null}`+"\n" {
		t.Fatalf("answer %d %q, want 200 {\"Warnings\":null}", res.StatusCode, body)
	}
	want := pingSpec()
	want.Task.ForceUpdate = 1
	got := fx.updates[0]
	if got.ref != string(pingID) || got.version != 36 || got.opts.Rollback || !reflect.DeepEqual(got.spec, want) {
		t.Errorf("UpdateService(%q, %d, %+v, %+v)\nwant spec %+v", got.ref, got.version, got.spec, got.opts, want)
	}
}

func TestUpdateServiceRollback(t *testing.T) {
	f, fx := newServiceLeader(t)
	// The body is not used on rollback; even one that could not be
	// converted is accepted.
	for _, body := range []string{mustJSON(t, wire.ServiceSpec{}), `{"Name":"ping","TaskTemplate":{"ContainerSpec":{"Image":"a"}}}`} {
		res := serve(t, f.handler, http.MethodPost, "/v1.50/services/ping/update?rollback=previous&version=36", body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
		}
	}
	for _, u := range fx.updates {
		if !u.opts.Rollback {
			t.Errorf("UpdateService opts %+v, want Rollback", u.opts)
		}
	}
}

func TestUpdateServiceRefusals(t *testing.T) {
	spec := `{"Name":"ping","TaskTemplate":{"ContainerSpec":{"Image":"a"}}}`
	tests := []struct {
		query, body, msg string
	}{
		{"", spec, `invalid service version '': strconv.ParseUint: parsing "": invalid syntax`},
		{"?version=x", spec, `invalid service version 'x': strconv.ParseUint: parsing "x": invalid syntax`},
		{"?version=1&rollback=yes", spec, `unsupported rollback value "yes": only "previous" is supported`},
		{"?version=1&registryAuthFrom=elsewhere", spec, "unsupported registryAuthFrom value"},
		{"?version=1", `{"Name":`, "invalid JSON: unexpected EOF"},
		{"?version=1", `{"Name":"ping"}`, "ContainerSpec: container spec must be provided"},
		{"?version=1", `{"Name":"ping","TaskTemplate":{"ContainerSpec":{"Image":"a"}},"Mode":{"GlobalJob":{}}}`, "job services are not supported"},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		strictServices(t, f.ctl)
		wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/services/ping/update"+tt.query, tt.body), http.StatusBadRequest, tt.msg)
	}
}

func TestUpdateServiceOutOfSequenceAndMissing(t *testing.T) {
	f, _ := newServiceLeader(t)
	spec := `{"Name":"ping","TaskTemplate":{"ContainerSpec":{"Image":"a"}}}`
	wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/services/ping/update?version=35", spec), http.StatusInternalServerError, "update out of sequence")
	wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/services/nosuch/update?version=1", spec), http.StatusNotFound, "service nosuch not found")
}

func TestRemoveService(t *testing.T) {
	f, fx := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodDelete, "/v1.50/services/ping", "")
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	wantError(t, serve(t, f.handler, http.MethodDelete, "/services/nosuch", ""), http.StatusNotFound, "service nosuch not found")
	if want := []string{"ping", "nosuch"}; !reflect.DeepEqual(fx.removed, want) {
		t.Errorf("RemoveService refs %v, want %v", fx.removed, want)
	}
}

func TestListTasks(t *testing.T) {
	f, fx := newServiceLeader(t)
	// The progress display's query, verbatim.
	raw := `{"_up-to-date":{"true":true},"service":{"` + string(pingID) + `":true}}`
	res := serve(t, f.handler, http.MethodGet, "/v1.50/tasks?filters="+url.QueryEscape(raw), "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	wantFilters := map[string][]string{"_up-to-date": {"true"}, "service": {string(pingID)}}
	if !reflect.DeepEqual(fx.taskFilters[0], wantFilters) {
		t.Errorf("filters %v, want %v", fx.taskFilters[0], wantFilters)
	}
	var raws []map[string]any
	if err := json.Unmarshal([]byte(body), &raws); err != nil {
		t.Fatal(err)
	}
	if len(raws) != 2 {
		t.Fatalf("%d tasks, want the 2 up-to-date ones: %s", len(raws), body)
	}
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, string(ping1ID)},
		{[]string{"ServiceID"}, string(pingID)},
		{[]string{"Slot"}, 1.0},
		{[]string{"NodeID"}, string(leaderID)},
		{[]string{"DesiredState"}, "running"},
		{[]string{"Status", "State"}, "running"},
		{[]string{"Status", "Message"}, "started"},
		{[]string{"Status", "ContainerStatus", "PID"}, 101.0},
		{[]string{"Spec", "ContainerSpec", "Image"}, "alpine:latest"},
		{[]string{"Labels"}, map[string]any{}},
	}
	for _, c := range checks {
		if got := lookup(t, raws[0], c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	var typed []wire.Task
	if err := json.Unmarshal([]byte(body), &typed); err != nil {
		t.Fatalf("the CLI's decode fails: %v", err)
	}
	if time.Since(typed[0].Status.Timestamp) > time.Hour {
		t.Errorf("Status.Timestamp = %v", typed[0].Status.Timestamp)
	}
}

// An unassigned task has no NodeID key, and a ContainerSpec object even
// when its template is empty: `docker service ps` dereferences it.
func TestListTasksUnassigned(t *testing.T) {
	f := newFakeLeader(t)
	f.ctl.ListTasksFn = func(context.Context, map[string][]string) ([]*swarm.Task, error) {
		return []*swarm.Task{{ID: "t1", ServiceID: pingID, Slot: 1, DesiredState: swarm.TaskRunning,
			Status: swarm.TaskStatus{State: swarm.TaskPending, Err: "no suitable node"}}}, nil
	}
	var raws []map[string]any
	if err := json.Unmarshal([]byte(readBody(t, serve(t, f.handler, http.MethodGet, "/tasks", ""))), &raws); err != nil {
		t.Fatal(err)
	}
	if _, ok := raws[0]["NodeID"]; ok {
		t.Error("unassigned task has a NodeID")
	}
	if got := lookup(t, raws[0], "Spec", "ContainerSpec"); !reflect.DeepEqual(got, map[string]any{"Isolation": "default"}) {
		t.Errorf("ContainerSpec = %#v, want {}", got)
	}
	if got := lookup(t, raws[0], "Status", "Err"); got != "no suitable node" {
		t.Errorf("Err = %v", got)
	}
}

func TestInspectTask(t *testing.T) {
	f, _ := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/tasks/"+string(oldID), "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	m := decodeMap(t, body)
	if m["DesiredState"] != "shutdown" || lookup(t, m, "Status", "State") != "shutdown" || lookup(t, m, "Status", "ContainerStatus", "ExitCode") != 137.0 {
		t.Errorf("old task = %s", body)
	}
	wantError(t, serve(t, f.handler, http.MethodGet, "/tasks/nosuch", ""), http.StatusNotFound, "task nosuch not found")
}

func TestDistributionInspect(t *testing.T) {
	// No swarm and no leader needed: it is a node-local call.
	b := &apiservertest.Backend{}
	h := apiserver.New(apiserver.Config{Backend: b})
	for _, target := range []string{
		"/v1.50/distribution/alpine:latest/json",
		"/v1.50/distribution/myreg.example:5000/team/app:v1/json",
		"/distribution/alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/json",
	} {
		res := serve(t, h, http.MethodGet, target, "")
		if body := readBody(t, res); res.StatusCode != http.StatusOK || body != "{}\n" {
			t.Errorf("%s: %d %q, want 200 {}", target, res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type = %q", target, ct)
		}
	}
	for _, target := range []string{"/v1.50/distribution/alpine", "/v1.50/distribution/json", "/distribution/alpine/jsonx"} {
		wantError(t, serve(t, h, http.MethodGet, target, ""), http.StatusNotFound, "page not found")
	}
	if n := b.ControlCalls.Load(); n != 0 {
		t.Errorf("Control called %d times", n)
	}
}

var serviceRoutes = []struct{ method, path, body string }{
	{http.MethodGet, "/v1.50/services?status=true", ""},
	{http.MethodPost, "/v1.50/services/create", `{"Name":"x"}`},
	{http.MethodGet, "/v1.50/services/ping?insertDefaults=false", ""},
	{http.MethodPost, "/v1.50/services/ping/update?version=1", `{not json`},
	{http.MethodDelete, "/v1.50/services/ping", ""},
	{http.MethodGet, "/v1.50/services/ping/logs?stdout=1&stderr=1&follow=1", ""},
	{http.MethodGet, "/v1.50/tasks?filters=%7B%22service%22%3A%7B%22ping%22%3Atrue%7D%7D", ""},
	{http.MethodGet, "/v1.50/tasks/t1", ""},
	{http.MethodGet, "/v1.50/tasks/t1/logs?stdout=1", ""},
}

func TestServiceRoutesOffLeader(t *testing.T) {
	for _, state := range []error{swarm.ErrNotManager, swarm.ErrNotInSwarm, swarm.ErrNoLeader} {
		b := &apiservertest.Backend{ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
			return nil, nil, state
		}}
		h := apiserver.New(apiserver.Config{Backend: b})
		for _, rt := range serviceRoutes {
			wantError(t, serve(t, h, rt.method, rt.path, rt.body), http.StatusServiceUnavailable, state.Error())
		}
	}
}

// A follower forwards service requests, body unread, to the leader.
func TestServiceRoutesForward(t *testing.T) {
	type seen struct{ method, uri, body string }
	var got seen
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.RequestURI(), string(b)}
		w.WriteHeader(http.StatusTeapot)
	})
	ctl := &apiservertest.Control{}
	strictServices(t, ctl)
	b := &apiservertest.Backend{ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
		return ctl, forward, nil
	}}
	h := apiserver.New(apiserver.Config{Backend: b})
	for _, rt := range serviceRoutes {
		got = seen{}
		res := serve(t, h, rt.method, rt.path, rt.body)
		if res.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s: status %d, want the leader's", rt.method, rt.path, res.StatusCode)
		}
		if want := (seen{rt.method, rt.path, rt.body}); got != want {
			t.Errorf("forwarded\n got %+v\nwant %+v", got, want)
		}
	}
}

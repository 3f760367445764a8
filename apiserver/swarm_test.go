package apiserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// The body `docker swarm init` sends with no flags (DOCKER-API.md §3).
const cliInitBody = `{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","DataPathAddr":"","DataPathPort":0,"ForceNewCluster":false,
 "Spec":{"Labels":null,"Orchestration":{},"Raft":{"ElectionTick":0,"HeartbeatTick":0},"Dispatcher":{},"CAConfig":{},
         "TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}},
 "AutoLockManagers":false,"Availability":"","DefaultAddrPool":[],"SubnetSize":24}`

func initBackend(got *apiserver.InitRequest) *apiservertest.Backend {
	return &apiservertest.Backend{InitFn: func(_ context.Context, req apiserver.InitRequest) (swarm.NodeID, error) {
		*got = req
		return leaderID, nil
	}}
}

func TestInitDefaults(t *testing.T) {
	want := apiserver.InitRequest{
		ListenAddr:   "0.0.0.0:2377",
		Spec:         swarm.DefaultClusterSpec(),
		Availability: swarm.AvailabilityActive,
	}
	for name, body := range map[string]string{"cli": cliInitBody, "empty object": "{}", "no body": ""} {
		t.Run(name, func(t *testing.T) {
			var got apiserver.InitRequest
			res := serve(t, apiserver.New(apiserver.Config{Backend: initBackend(&got)}), http.MethodPost, "/v1.50/swarm/init", body)
			if b := readBody(t, res); res.StatusCode != http.StatusOK || b != `"`+string(leaderID)+`"`+"\n" {
				t.Fatalf("answer %d %q, want 200 and the node ID as a JSON string", res.StatusCode, b)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("InitRequest\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestInitFlags(t *testing.T) {
	body := `{"ListenAddr":"127.0.0.1:4000","AdvertiseAddr":"eth0","ForceNewCluster":true,
	  "Spec":{"Orchestration":{"TaskHistoryRetentionLimit":3},"EncryptionConfig":{"AutoLockManagers":true}},
	  "AutoLockManagers":true,"Availability":"drain"}`
	var got apiserver.InitRequest
	res := serve(t, apiserver.New(apiserver.Config{Backend: initBackend(&got)}), http.MethodPost, "/swarm/init", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	spec := swarm.DefaultClusterSpec()
	spec.Orchestration.TaskHistoryRetentionLimit = 3
	spec.AutoLockManagers = true
	want := apiserver.InitRequest{
		ListenAddr: "127.0.0.1:4000", AdvertiseAddr: "eth0", Spec: spec,
		Availability: swarm.AvailabilityDrain, ForceNewCluster: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InitRequest\n got %+v\nwant %+v", got, want)
	}
}

func TestInitRefusals(t *testing.T) {
	tests := []struct {
		name, body, ct string
		status         int
		msg            string
	}{
		{"malformed", `{"ListenAddr":`, "application/json", 400, "invalid JSON: unexpected EOF"},
		{"not an object", `{bad`, "application/json", 400, "invalid JSON: invalid character 'b' looking for beginning of object key string"},
		{"trailing", `{} {}`, "application/json", 400, "unexpected content after JSON"},
		{"wrong type", `{"SubnetSize":"x"}`, "application/json", 400, "invalid JSON: json: cannot unmarshal string into Go struct field InitRequest.SubnetSize of type uint32"},
		{"content type", `{}`, "text/plain", 400, "unsupported Content-Type header (text/plain): must be 'application/json'"},
		{"availability", `{"Availability":"sleepy"}`, "application/json", 400, `invalid availability "sleepy", only active, pause and drain are supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &apiservertest.Backend{}
			req := httptest.NewRequest(http.MethodPost, "/v1.50/swarm/init", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			rec := httptest.NewRecorder()
			apiserver.New(apiserver.Config{Backend: b}).ServeHTTP(rec, req)
			wantError(t, rec.Result(), tt.status, tt.msg)
			if n := b.InitCalls.Load(); n != 0 {
				t.Errorf("Init called %d times", n)
			}
		})
	}
}

func TestInitAlreadyInSwarm(t *testing.T) {
	b := &apiservertest.Backend{InitFn: func(context.Context, apiserver.InitRequest) (swarm.NodeID, error) {
		return "", swarm.Errorf(swarm.ErrUnavailable, swarm.MsgAlreadyInSwarm)
	}}
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodPost, "/v1.50/swarm/init", cliInitBody)
	wantError(t, res, http.StatusServiceUnavailable, swarm.MsgAlreadyInSwarm)
}

func TestJoin(t *testing.T) {
	var got apiserver.JoinRequest
	b := &apiservertest.Backend{JoinFn: func(_ context.Context, req apiserver.JoinRequest) error {
		got = req
		return nil
	}}
	body := `{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","DataPathAddr":"","RemoteAddrs":["10.0.0.1"],"JoinToken":"SWMTKN-1-x","Availability":""}`
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodPost, "/v1.50/swarm/join", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	want := apiserver.JoinRequest{ListenAddr: "0.0.0.0:2377", RemoteAddrs: []string{"10.0.0.1"}, JoinToken: "SWMTKN-1-x", Availability: swarm.AvailabilityActive}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JoinRequest\n got %+v\nwant %+v", got, want)
	}
}

func TestJoinBadToken(t *testing.T) {
	b := &apiservertest.Backend{JoinFn: func(context.Context, apiserver.JoinRequest) error {
		return swarm.Errorf(swarm.ErrPermissionDenied, "invalid join token")
	}}
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodPost, "/swarm/join", `{"JoinToken":"x"}`)
	wantError(t, res, http.StatusForbidden, "invalid join token")
}

func TestLeaveForce(t *testing.T) {
	for query, want := range map[string]bool{"": false, "?force=1": true, "?force=true": true, "?force=0": false, "?force=false": false} {
		var got *bool
		b := &apiservertest.Backend{LeaveFn: func(_ context.Context, force bool) error {
			got = &force
			return nil
		}}
		res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodPost, "/v1.50/swarm/leave"+query, "")
		if res.StatusCode != http.StatusOK || got == nil || *got != want {
			t.Errorf("leave%s: status %d, force %v, want %v", query, res.StatusCode, got, want)
		}
	}
}

func TestLeaveLastManager(t *testing.T) {
	b := &apiservertest.Backend{LeaveFn: func(context.Context, bool) error {
		return swarm.Errorf(swarm.ErrUnavailable, swarm.MsgLeaveLastManager)
	}}
	res := serve(t, apiserver.New(apiserver.Config{Backend: b}), http.MethodPost, "/v1.50/swarm/leave", "")
	wantError(t, res, http.StatusServiceUnavailable, swarm.MsgLeaveLastManager)
}

func TestInspectSwarmShape(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/swarm", "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	m := decodeMap(t, body)
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, "clusteridccccccccccccccccc"},
		{[]string{"Version", "Index"}, 11.0},
		{[]string{"CreatedAt"}, "2025-06-01T12:00:00.000000123Z"},
		{[]string{"JoinTokens", "Worker"}, "SWMTKN-1-worker"},
		{[]string{"JoinTokens", "Manager"}, "SWMTKN-1-manager"},
		{[]string{"Spec", "Dispatcher", "HeartbeatPeriod"}, float64(swarm.DefaultHeartbeatPeriod)},
		{[]string{"Spec", "Raft", "ElectionTick"}, float64(swarm.DefaultElectionTick)},
	}
	for _, c := range checks {
		if got := lookup(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	subject, err := base64.StdEncoding.DecodeString(lookup(t, m, "TLSInfo", "CertIssuerSubject").(string))
	if err != nil || !bytes.Equal(subject, f.caCert.RawSubject) {
		t.Errorf("TLSInfo.CertIssuerSubject is not base64 of the CA subject (%v)", err)
	}
	if strings.Contains(body, "KEY") {
		t.Error("GET /swarm shows the CA key")
	}
}

func TestUpdateSwarm(t *testing.T) {
	f := newFakeLeader(t)
	var gotVersion uint64
	var gotSpec swarm.ClusterSpec
	var gotRot controlapi.Rotation
	f.ctl.UpdateClusterFn = func(_ context.Context, v uint64, spec swarm.ClusterSpec, rot controlapi.Rotation) error {
		gotVersion, gotSpec, gotRot = v, spec, rot
		return nil
	}
	// What `docker swarm update --dispatcher-heartbeat 2s` sends: the spec
	// read from GET /swarm with one field changed.
	current := decodeMap(t, readBody(t, serve(t, f.handler, http.MethodGet, "/v1.50/swarm", "")))
	spec := lookup(t, current, "Spec").(map[string]any)
	spec["Dispatcher"] = map[string]any{"HeartbeatPeriod": int64(2 * time.Second)}
	body := mustJSON(t, spec)

	res := serve(t, f.handler, http.MethodPost,
		"/v1.50/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=11", body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	want := f.cluster.Spec
	want.Labels = map[string]string{}
	want.Dispatcher.HeartbeatPeriod = 2 * time.Second
	if gotVersion != 11 || gotRot != (controlapi.Rotation{WorkerToken: true}) || !reflect.DeepEqual(gotSpec, want) {
		t.Errorf("UpdateCluster(%d, %+v, %+v)\nwant (11, %+v, {WorkerToken:true})", gotVersion, gotSpec, gotRot, want)
	}
	if gotSpec.Dispatcher.NodeDownGrace != 4*time.Second {
		t.Errorf("NodeDownGrace = %v, want the current 4s kept", gotSpec.Dispatcher.NodeDownGrace)
	}
}

func TestUpdateSwarmRefusals(t *testing.T) {
	tests := []struct {
		query, body string
		status      int
		msg         string
	}{
		{"", "{}", 400, `invalid swarm version '': strconv.ParseUint: parsing "": invalid syntax`},
		{"?version=abc", "{}", 400, `invalid swarm version 'abc': strconv.ParseUint: parsing "abc": invalid syntax`},
		{"?version=-1", "{}", 400, `invalid swarm version '-1': strconv.ParseUint: parsing "-1": invalid syntax`},
		{"?version=11&rotateWorkerToken=maybe", "{}", 400, "invalid value for rotateWorkerToken: maybe"},
		{"?version=11&rotateManagerToken=2", "{}", 400, "invalid value for rotateManagerToken: 2"},
		{"?version=11&rotateManagerUnlockKey=true", "{}", 400, "autolock is not supported"},
		{"?version=11", "{bad", 400, "invalid JSON: invalid character 'b' looking for beginning of object key string"},
		{"?version=10", "{}", 500, "update out of sequence"},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		wantError(t, serve(t, f.handler, http.MethodPost, "/v1.50/swarm/update"+tt.query, tt.body), tt.status, tt.msg)
		if n := f.ctl.UpdateClusterCalls.Load(); n != 0 {
			t.Errorf("%s: UpdateCluster called", tt.query)
		}
	}
}

func TestUnlockKey(t *testing.T) {
	f := newFakeLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/swarm/unlockkey", "")
	if body := readBody(t, res); res.StatusCode != http.StatusOK || body != `{"UnlockKey":""}`+"\n" {
		t.Errorf("unlock key without autolock: %d %q", res.StatusCode, body)
	}
	f.cluster.Spec.AutoLockManagers = true
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/swarm/unlockkey", ""), 400, "autolock is not supported")
}

// A follower forwards the request itself, body unread, to the leader.
func TestForwardToLeader(t *testing.T) {
	type seen struct{ method, uri, body, ct string }
	var got seen
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.RequestURI(), string(b), r.Header.Get("Content-Type")}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"from":"leader"}`)
	})
	ctl := &apiservertest.Control{}
	b := &apiservertest.Backend{ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
		return ctl, forward, nil
	}}
	h := apiserver.New(apiserver.Config{Backend: b})
	tests := []seen{
		{http.MethodPost, "/v1.50/nodes/worker1/update?version=7", `{"Labels":{},"Role":"manager","Availability":"active"}`, "application/json"},
		{http.MethodPost, "/swarm/update?version=3&rotateWorkerToken=true", `{"Name":"default"}`, "application/json"},
		{http.MethodPost, "/v1.44/nodes/x/update?version=1", `{not json at all`, "application/json"},
		{http.MethodGet, "/v1.50/nodes?filters=%7B%22role%22%3A%7B%22manager%22%3Atrue%7D%7D", "", ""},
		{http.MethodGet, "/v1.50/swarm", "", ""},
		{http.MethodDelete, "/v1.50/nodes/abc?force=1", "", ""},
	}
	for _, want := range tests {
		got = seen{}
		res := serve(t, h, want.method, want.uri, want.body)
		if body := readBody(t, res); res.StatusCode != http.StatusTeapot || body != `{"from":"leader"}` {
			t.Errorf("%s %s: answer %d %q, want the leader's", want.method, want.uri, res.StatusCode, body)
		}
		if got != want {
			t.Errorf("forwarded\n got %+v\nwant %+v", got, want)
		}
	}
	total := ctl.GetClusterCalls.Load() + ctl.UpdateClusterCalls.Load() + ctl.ListNodesCalls.Load() +
		ctl.GetNodeCalls.Load() + ctl.UpdateNodeCalls.Load() + ctl.RemoveNodeCalls.Load()
	if total != 0 {
		t.Errorf("the follower's Control was called %d times", total)
	}
}

package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/manager/scheduler"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// The fuzz targets below serve requests with the real handler over the
// real control API and store (storetest applies each command as a
// one-member Raft would), so what they check is what a daemon would do.

// fuzzStack is a leader's API over a store holding a cluster, a manager, a
// worker that runs images, and the replicated service "web". The handler
// is built once per target (building its routes is most of the cost of a
// request); reset gives it a fresh store for each input.
type fuzzStack struct {
	h   http.Handler
	p   *storetest.Proposer
	ctl *controlapi.Server
	// writes counts the commands the store accepted since reset.
	writes int
}

func newFuzzStack() *fuzzStack {
	s := &fuzzStack{}
	b := apiservertest.NewLeader(leaderID, nil) // init, join and leave succeed
	b.ControlFn = func(context.Context) (apiserver.Control, http.Handler, error) { return s.ctl, nil, nil }
	s.h = apiserver.New(apiserver.Config{Backend: b, Version: testVersion})
	return s
}

func (s *fuzzStack) reset(t *testing.T) {
	t.Helper()
	s.p, s.writes = storetest.NewProposer(), 0
	ctx := context.Background()
	c := &swarm.Cluster{ID: "clusteridccccccccccccccccc", Spec: swarm.DefaultClusterSpec(),
		JoinTokens: swarm.JoinTokens{Worker: "SWMTKN-1-w", Manager: "SWMTKN-1-m"}}
	web := swarm.ServiceSpec{Name: "web", Mode: swarm.ModeReplicated, Replicas: 2,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Args: []string{"sleep", "1d"}}}}
	for _, cmd := range []*store.Command{
		store.NewCreateCluster(c),
		store.NewCreateNode(&swarm.Node{ID: leaderID, Spec: swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive},
			Description: swarm.NodeDescription{Hostname: "mgr"}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}),
		store.NewCreateNode(&swarm.Node{ID: workerID, Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
			Description: swarm.NodeDescription{Hostname: "wrk", Runtime: "docker"}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}),
		store.NewCreateService(&swarm.Service{ID: "websvc000000000000000000", Spec: web}),
	} {
		if err := s.p.Propose(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	s.ctl = controlapi.New(controlapi.Config{
		Store: s.p.Store, Proposer: s, Raft: leaderRaft{},
		NewToken:         func(*swarm.Cluster) (string, error) { return "SWMTKN-1-new", nil },
		CheckConstraints: func(c []string) error { _, err := scheduler.ParseConstraints(c); return err },
	})
}

// Propose writes through the store's proposer and counts what it accepts.
// A refused command leaves the store as it was (FuzzApply checks that), so
// a request that got no write accepted changed nothing.
func (s *fuzzStack) Propose(ctx context.Context, cmd *store.Command) error {
	err := s.p.Propose(ctx, cmd)
	if err == nil {
		s.writes++
	}
	return err
}

// leaderRaft is a one-member Raft that always leads.
type leaderRaft struct{}

func (leaderRaft) Members() ([]controlapi.Member, error) {
	return []controlapi.Member{{ID: leaderID, Addr: "127.0.0.1:2377", Leader: true, Reachability: swarm.ReachabilityReachable}}, nil
}
func (leaderRaft) VerifyLeader(context.Context) error { return nil }

// serve sends a request as it comes off the socket; ok is false if net/http
// would not have read it as a request.
func (s *fuzzStack) serve(raw []byte) (rec *httptest.ResponseRecorder, ok bool) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, false
	}
	rec = httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec, true
}

func (s *fuzzStack) do(t *testing.T, method, target string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	rec, ok := s.serve(rawRequest(method, target, body))
	if !ok {
		t.Fatalf("%s %s: not a request", method, target)
	}
	return rec
}

// rawRequest is a request as the docker CLI writes it.
func rawRequest(method, target string, body []byte) []byte {
	return fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.0.1 (linux)\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", method, target, len(body), body)
}

// checkAnswer fails on a server error other than the one moby also
// answers with 500 (update out of sequence), and on a body that is not
// JSON where JSON is promised.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code == http.StatusInternalServerError && !bytes.Contains(body, []byte("update out of sequence")) {
		t.Fatalf("%s: 500 %s", what, body)
	}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && len(body) > 0 && !json.Valid(body) {
		t.Fatalf("%s: invalid JSON answer %q", what, body)
	}
}

// cliServiceCreate is what `docker service create --name api --replicas 3
// --env A=1 --label team=a --constraint node.role==worker
// --restart-condition on-failure --limit-memory 64m --update-parallelism 2
// busybox sleep 1d` sends (docker CLI 28).
const cliServiceCreate = `{"Name":"api","Labels":{"team":"a"},"TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","1d"],"Env":["A=1"],"Init":false,"DNSConfig":{},"Isolation":"default"},"Resources":{"Limits":{"MemoryBytes":67108864},"Reservations":{}},"RestartPolicy":{"Condition":"on-failure","MaxAttempts":0},"Placement":{"Constraints":["node.role==worker"]},"ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"RollbackConfig":{"Parallelism":1,"FailureAction":"pause","MaxFailureRatio":0,"Order":"stop-first"},"EndpointSpec":{"Mode":"vip"}}`

// FuzzServiceSpec posts a body as POST /services/create and as an update
// of the service "web". Neither may panic or fail with a server error; a
// refused one changes nothing; an accepted spec passes the domain's
// validation, converts to the wire form and back unchanged, and survives
// the docker CLI's read-modify-echo (GET, then POST update with the same
// spec) unchanged.
func FuzzServiceSpec(f *testing.F) {
	f.Add([]byte(cliServiceCreate))
	f.Add([]byte(`{"Name":"g","TaskTemplate":{"ContainerSpec":{"Image":"nginx:1.27","Command":["nginx"],"Hostname":"{{.Node.Hostname}}","StopGracePeriod":5000000000},"Placement":{"MaxReplicas":1}},"Mode":{"Global":{}}}`))
	f.Add([]byte(`{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","2d"]},"RestartPolicy":{"Condition":"any","Delay":1000000000,"MaxAttempts":3,"Window":60000000000}},"Mode":{"Replicated":{"Replicas":5}}}`))
	f.Add([]byte(`{"Name":"j","TaskTemplate":{"ContainerSpec":{"Image":"busybox"}},"Mode":{"ReplicatedJob":{"MaxConcurrent":1}}}`))
	f.Add([]byte(`{"TaskTemplate":{"Runtime":"plugin"}}`))
	f.Add([]byte(`{}`))
	s := newFuzzStack()
	f.Fuzz(func(t *testing.T, body []byte) {
		s.reset(t)
		rec := s.do(t, "POST", "/v1.50/services/create", body)
		checkAnswer(t, "create", rec)
		if rec.Code != http.StatusCreated {
			if s.writes != 0 {
				t.Fatalf("refused create (%d %s) changed the state", rec.Code, rec.Body)
			}
		} else {
			var out struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			checkStoredService(t, s, out.ID)
		}
		writes := s.writes
		svc, _ := store.GetServiceByName(s.p.Store.ReadTxn(), "web")
		rec = s.do(t, "POST", fmt.Sprintf("/v1.50/services/web/update?version=%d", svc.Version), body)
		checkAnswer(t, "update", rec)
		if rec.Code != http.StatusOK {
			if s.writes != writes {
				t.Fatalf("refused update (%d %s) changed the state", rec.Code, rec.Body)
			}
			return
		}
		checkStoredService(t, s, string(svc.ID))
	})
}

// checkStoredService checks an accepted service: its spec is valid, its
// wire form reads back to it, and the CLI's echo of it is accepted and
// changes nothing.
func checkStoredService(t *testing.T, s *fuzzStack, id string) {
	t.Helper()
	svc, err := store.GetService(s.p.Store.ReadTxn(), swarm.ServiceID(id))
	if err != nil {
		t.Fatalf("accepted service %q not stored: %v", id, err)
	}
	if err := svc.Spec.Validate(); err != nil {
		t.Fatalf("an invalid spec was stored: %v\n%+v", err, svc.Spec)
	}
	back, err := dockerapi.ServiceSpecFromWire(dockerapi.ServiceSpecToWire(svc.Spec))
	if err != nil || !reflect.DeepEqual(back, svc.Spec) {
		t.Fatalf("wire round trip: %v\nstored %+v\nback   %+v", err, svc.Spec, back)
	}
	rec := s.do(t, "GET", "/v1.50/services/"+id, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("inspect: %d %s", rec.Code, rec.Body)
	}
	var shown wire.Service
	if err := json.Unmarshal(rec.Body.Bytes(), &shown); err != nil {
		t.Fatal(err)
	}
	echo, err := json.Marshal(shown.Spec)
	if err != nil {
		t.Fatal(err)
	}
	rec = s.do(t, "POST", fmt.Sprintf("/v1.50/services/%s/update?version=%d", id, shown.Version.Index), echo)
	if rec.Code != http.StatusOK {
		t.Fatalf("the CLI's echo of an accepted spec was refused: %d %s\n%s", rec.Code, rec.Body, echo)
	}
	again, err := store.GetService(s.p.Store.ReadTxn(), swarm.ServiceID(id))
	if err != nil || !reflect.DeepEqual(again.Spec, svc.Spec) {
		t.Fatalf("the echo changed the spec: %v\nbefore %+v\nafter  %+v", err, svc.Spec, again.Spec)
	}
}

// FuzzAPIRequest sends a whole request (request line, headers, body) as
// it comes off the API socket. Seeds are the other requests whose query or
// body the server decodes: swarm init, join and update, node update, list
// filters, logs options. Nothing may panic or answer a server error; a
// refused request changes nothing; an accepted update leaves objects that
// pass validation.
func FuzzAPIRequest(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"POST", "/v1.50/swarm/init", `{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"192.168.1.10:2377","DataPathAddr":"","DataPathPort":0,"ForceNewCluster":false,"Spec":{"Labels":null,"Orchestration":{},"Raft":{"ElectionTick":0,"HeartbeatTick":0},"Dispatcher":{},"CAConfig":{},"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}},"AutoLockManagers":false,"Availability":"active","DefaultAddrPool":null,"SubnetSize":0}`},
		{"POST", "/v1.50/swarm/join", `{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","DataPathAddr":"","RemoteAddrs":["192.168.1.10:2377"],"JoinToken":"SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx","Availability":"drain"}`},
		{"POST", "/v1.50/swarm/update?version=1&rotateWorkerToken=true&rotateManagerToken=false&rotateManagerUnlockKey=false", `{"Name":"default","Labels":{},"Orchestration":{"TaskHistoryRetentionLimit":5},"Raft":{"SnapshotInterval":10000,"KeepOldSnapshots":0,"LogEntriesForSlowFollowers":500,"ElectionTick":10,"HeartbeatTick":1},"Dispatcher":{"HeartbeatPeriod":5000000000},"CAConfig":{"NodeCertExpiry":7776000000000000},"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}}`},
		{"POST", "/v1.50/nodes/wrk1bbbbbbbbbbbbbbbbbbbbb/update?version=3", `{"Labels":{"zone":"a"},"Role":"worker","Availability":"drain"}`},
		{"POST", "/v1.41/nodes/wrk/update?version=3", `{"Role":"manager","Availability":"active"}`},
		{"GET", `/v1.50/nodes?filters={"role":{"manager":true},"membership":{"accepted":true}}`, ""},
		{"GET", `/v1.50/services?filters={"name":["web"],"mode":["replicated"]}&status=true`, ""},
		{"GET", `/v1.50/tasks?filters={"service":{"web":true},"desired-state":{"running":true},"_up-to-date":{"true":true}}`, ""},
		{"GET", "/v1.50/services/web/logs?follow=0&stdout=1&stderr=1&since=1700000000.000000001&tail=100&timestamps=1", ""},
		{"DELETE", "/v1.24/nodes/wrk?force=1", ""},
		{"GET", "/v1.50/distribution/docker.io/library/busybox:latest/json", ""},
		{"POST", "/v1.50/swarm/leave?force=true", ""},
	} {
		target := strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D", " ", "%20").Replace(seed.target)
		f.Add(rawRequest(seed.method, target, []byte(seed.body)))
	}
	s := newFuzzStack()
	f.Fuzz(func(t *testing.T, raw []byte) {
		s.reset(t)
		rec, ok := s.serve(raw)
		if !ok {
			return
		}
		checkAnswer(t, "request", rec)
		if rec.Code >= 300 {
			if s.writes != 0 {
				t.Fatalf("refused request (%d %s) changed the state", rec.Code, rec.Body)
			}
			return
		}
		tx := s.p.Store.ReadTxn()
		c, err := store.GetCluster(tx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Spec.Validate(); err != nil {
			t.Fatalf("an invalid cluster spec was stored: %v", err)
		}
		nodes, err := store.ListNodes(tx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if err := n.Spec.Validate(); err != nil {
				t.Fatalf("an invalid node spec was stored: %v", err)
			}
		}
	})
}

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

// fakeDaemon is a stand-in shoal daemon speaking the Docker API on a unix
// socket, answering from the state it holds and recording every request.
type fakeDaemon struct {
	host string // unix:///.../fake.sock

	mu      sync.Mutex
	info    system.Info
	swarm   swarm.Swarm
	nodes   []swarm.Node
	version system.VersionResponse
	initID  string
	// fail answers "METHOD /route" (route without version prefix, e.g.
	// "DELETE /nodes/worker2") with an error instead.
	fail  map[string]apiFailure
	reqs  []string          // "METHOD /path?query", version prefix kept
	posts map[string]string // last body per "METHOD /route"
	auth  map[string]string // last X-Registry-Auth header per "METHOD /route"
	svc   serviceState      // services, tasks and their logs
}

type apiFailure struct {
	status int
	msg    string
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func startFake(t *testing.T, fd *fakeDaemon) *fakeDaemon {
	t.Helper()
	// Unix socket paths are limited to ~100 bytes; t.TempDir can be long.
	dir := t.TempDir()
	sock := filepath.Join(dir, "fake.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if fd.fail == nil {
		fd.fail = map[string]apiFailure{}
	}
	fd.posts = map[string]string{}
	fd.auth = map[string]string{}
	srv := httptest.NewUnstartedServer(fd)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	fd.host = "unix://" + sock
	return fd
}

func (fd *fakeDaemon) requests() []string {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return append([]string(nil), fd.reqs...)
}

func (fd *fakeDaemon) body(key string) string {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return fd.posts[key]
}

func (fd *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := versionPrefix.ReplaceAllString(r.URL.Path, "")
	fd.mu.Lock()
	defer fd.mu.Unlock()
	rec := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		rec += "?" + r.URL.RawQuery
	}
	fd.reqs = append(fd.reqs, rec)
	if r.Method == http.MethodPost {
		fd.posts[r.Method+" "+route] = string(body)
	}
	if a := r.Header.Get("X-Registry-Auth"); a != "" {
		fd.auth[r.Method+" "+route] = a
	}
	w.Header().Set("Api-Version", "1.50")
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Server", "shoal/test (linux)")
	if route == "/_ping" {
		w.Header().Set("Swarm", "active/manager")
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, "OK")
		}
		return
	}
	if f, ok := fd.fail[r.Method+" "+route]; ok {
		writeAPIError(w, f.status, f.msg)
		return
	}
	fd.route(w, r, route, body)
}

// route answers one request; fd.mu is held.
func (fd *fakeDaemon) route(w http.ResponseWriter, r *http.Request, route string, body []byte) {
	switch key := r.Method + " " + route; {
	case key == "GET /info":
		writeJSON(w, fd.info)
	case key == "GET /version":
		writeJSON(w, fd.version)
	case key == "GET /swarm":
		writeJSON(w, fd.swarm)
	case key == "POST /swarm/init":
		writeJSON(w, fd.initID)
	case key == "POST /swarm/join", key == "POST /swarm/leave":
		w.WriteHeader(http.StatusOK)
	case key == "POST /swarm/update":
		fd.updateSwarm(w, r, body)
	case key == "GET /nodes":
		writeJSON(w, fd.nodes)
	case r.Method == http.MethodGet && strings.HasPrefix(route, "/nodes/"):
		if n := fd.findNode(strings.TrimPrefix(route, "/nodes/")); n != nil {
			writeJSON(w, n)
			return
		}
		writeAPIError(w, http.StatusNotFound, "node "+strings.TrimPrefix(route, "/nodes/")+" not found")
	case r.Method == http.MethodPost && strings.HasPrefix(route, "/nodes/") && strings.HasSuffix(route, "/update"):
		fd.updateNode(w, r, strings.TrimSuffix(strings.TrimPrefix(route, "/nodes/"), "/update"), body)
	case r.Method == http.MethodDelete && strings.HasPrefix(route, "/nodes/"):
		fd.removeNode(w, strings.TrimPrefix(route, "/nodes/"))
	case fd.routeServices(w, r, route, body):
	default:
		writeAPIError(w, http.StatusNotFound, "page not found")
	}
}

// findNode resolves ref as moby does: ID, then name or hostname, then a
// unique ID prefix.
func (fd *fakeDaemon) findNode(ref string) *swarm.Node {
	for i := range fd.nodes {
		if fd.nodes[i].ID == ref {
			return &fd.nodes[i]
		}
	}
	for i := range fd.nodes {
		if n := &fd.nodes[i]; n.Spec.Name == ref || n.Description.Hostname == ref {
			return n
		}
	}
	var found *swarm.Node
	for i := range fd.nodes {
		if strings.HasPrefix(fd.nodes[i].ID, ref) {
			if found != nil {
				return nil
			}
			found = &fd.nodes[i]
		}
	}
	return found
}

func (fd *fakeDaemon) updateNode(w http.ResponseWriter, r *http.Request, id string, body []byte) {
	n := fd.findNode(id)
	if n == nil || n.ID != id {
		writeAPIError(w, http.StatusNotFound, "node "+id+" not found")
		return
	}
	if v, _ := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64); v != n.Version.Index {
		writeAPIError(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
		return
	}
	var spec swarm.NodeSpec
	if err := json.Unmarshal(body, &spec); err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	n.Spec = spec
	n.Version.Index++
	w.WriteHeader(http.StatusOK)
}

func (fd *fakeDaemon) removeNode(w http.ResponseWriter, ref string) {
	n := fd.findNode(ref)
	if n == nil {
		writeAPIError(w, http.StatusNotFound, "node "+ref+" not found")
		return
	}
	for i := range fd.nodes {
		if fd.nodes[i].ID == n.ID {
			fd.nodes = append(fd.nodes[:i], fd.nodes[i+1:]...)
			break
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (fd *fakeDaemon) updateSwarm(w http.ResponseWriter, r *http.Request, body []byte) {
	q := r.URL.Query()
	if v, _ := strconv.ParseUint(q.Get("version"), 10, 64); v != fd.swarm.Version.Index {
		writeAPIError(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
		return
	}
	var spec swarm.Spec
	if err := json.Unmarshal(body, &spec); err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	fd.swarm.Spec = spec
	fd.swarm.Version.Index++
	if q.Get("rotateWorkerToken") == "true" {
		fd.swarm.JoinTokens.Worker += "-rotated"
	}
	if q.Get("rotateManagerToken") == "true" {
		fd.swarm.JoinTokens.Manager += "-rotated"
	}
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = buf.WriteTo(w)
}

func writeAPIError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// Fixture data: a three-node swarm seen from its leader.

var (
	fixtureTime  = time.Date(2025, 6, 1, 10, 30, 0, 0, time.UTC)
	fixtureTrust = "-----BEGIN CERTIFICATE-----\nMIIBazCCARCgAwIBAgIUQ==\n-----END CERTIFICATE-----\n"
	fixtureTLS   = swarm.TLSInfo{TrustRoot: fixtureTrust, CertIssuerSubject: []byte("0\x131\x110\x0f"), CertIssuerPublicKey: []byte("0Y0\x13\x06\x07")}
)

const (
	idManager = "787yzy0kq095u7v8dskzd0xh5"
	idWorker2 = "knf6lsqn49s4rkucq3acpbq8c"
	idWorker1 = "a1b2c3d4e5f6g7h8i9j0k1l2m"
)

func ptr[T any](v T) *T { return &v }

func fixtureNodes() []swarm.Node {
	engine := swarm.EngineDescription{EngineVersion: "28.2.2", Plugins: []swarm.PluginDescription{
		{Type: "Log", Name: "json-file"}, {Type: "Network", Name: "overlay"}, {Type: "Log", Name: "local"}, {Type: "Volume", Name: "local"},
	}}
	return []swarm.Node{
		{
			ID: idWorker2, Meta: swarm.Meta{Version: swarm.Version{Index: 20}, CreatedAt: fixtureTime, UpdatedAt: fixtureTime},
			Spec:        swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{}}, Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityDrain},
			Description: swarm.NodeDescription{Hostname: "worker10", Engine: swarm.EngineDescription{EngineVersion: "28.2.2"}, TLSInfo: fixtureTLS},
			Status:      swarm.NodeStatus{State: swarm.NodeStateDown, Addr: "10.0.0.3"},
		},
		{
			ID: idManager, Meta: swarm.Meta{Version: swarm.Version{Index: 12}, CreatedAt: fixtureTime, UpdatedAt: fixtureTime},
			Spec: swarm.NodeSpec{Annotations: swarm.Annotations{Name: "lead", Labels: map[string]string{"zone": "a", "ssd": ""}},
				Role: swarm.NodeRoleManager, Availability: swarm.NodeAvailabilityActive},
			Description: swarm.NodeDescription{
				Hostname: "fake-manager", Platform: swarm.Platform{Architecture: "x86_64", OS: "linux"},
				Resources: swarm.Resources{NanoCPUs: 4000000000, MemoryBytes: 8271892480},
				Engine:    engine, TLSInfo: fixtureTLS,
			},
			Status:        swarm.NodeStatus{State: swarm.NodeStateReady, Addr: "10.0.0.1"},
			ManagerStatus: &swarm.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"},
		},
		{
			ID: idWorker1, Meta: swarm.Meta{Version: swarm.Version{Index: 15}, CreatedAt: fixtureTime, UpdatedAt: fixtureTime},
			Spec:        swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{}}, Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive},
			Description: swarm.NodeDescription{Hostname: "worker2", Engine: swarm.EngineDescription{EngineVersion: "28.2.2"}},
			Status:      swarm.NodeStatus{State: swarm.NodeStateReady, Message: "HEARTBEAT OK", Addr: "10.0.0.2"},
		},
	}
}

func fixtureSpec() swarm.Spec {
	return swarm.Spec{
		Annotations:   swarm.Annotations{Name: "default", Labels: map[string]string{}},
		Orchestration: swarm.OrchestrationConfig{TaskHistoryRetentionLimit: ptr[int64](5)},
		Raft: swarm.RaftConfig{SnapshotInterval: 10000, KeepOldSnapshots: ptr[uint64](0),
			LogEntriesForSlowFollowers: 500, ElectionTick: 5, HeartbeatTick: 1},
		Dispatcher: swarm.DispatcherConfig{HeartbeatPeriod: time.Second},
		CAConfig:   swarm.CAConfig{NodeCertExpiry: 90 * 24 * time.Hour},
	}
}

func fixtureSwarm() swarm.Swarm {
	return swarm.Swarm{
		ClusterInfo: swarm.ClusterInfo{
			ID: "tq8hyk3yxbxdd6pdagd3qbxgv", Meta: swarm.Meta{Version: swarm.Version{Index: 11}, CreatedAt: fixtureTime, UpdatedAt: fixtureTime},
			Spec: fixtureSpec(), TLSInfo: fixtureTLS, SubnetSize: 24, DataPathPort: 4789,
		},
		JoinTokens: swarm.JoinTokens{Worker: "SWMTKN-1-worker", Manager: "SWMTKN-1-manager"},
	}
}

func managerInfo() system.Info {
	sw := fixtureSwarm()
	return system.Info{
		ID: "3c1e6a4f-node", Name: "fake-manager", ServerVersion: "0.1.0", OSType: "linux", Architecture: "x86_64",
		NCPU: 4, MemTotal: 8271892480, DockerRootDir: "/var/lib/shoal", OperatingSystem: "Debian GNU/Linux 12 (bookworm)",
		KernelVersion: "6.1.0", InitBinary: "", Plugins: system.PluginsInfo{Log: []string{"json-file", "local"}},
		Swarm: swarm.Info{
			NodeID: idManager, NodeAddr: "10.0.0.1", LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true,
			RemoteManagers: []swarm.Peer{{NodeID: "m3", Addr: "10.0.0.9:2377"}, {NodeID: idManager, Addr: "10.0.0.1:2377"}},
			Nodes:          3, Managers: 1, Cluster: &sw.ClusterInfo,
		},
	}
}

func workerInfo() system.Info {
	return system.Info{
		Name: "worker2", OSType: "linux", NCPU: 2, MemTotal: 2147483648, DockerRootDir: "/var/lib/shoal",
		Swarm: swarm.Info{
			NodeID: idWorker1, NodeAddr: "10.0.0.2", LocalNodeState: swarm.LocalNodeStateActive,
			RemoteManagers: []swarm.Peer{{NodeID: idManager, Addr: "10.0.0.1:2377"}},
		},
	}
}

// newFixtureDaemon serves the fixture swarm from its leader.
func newFixtureDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	return startFake(t, &fakeDaemon{
		info: managerInfo(), swarm: fixtureSwarm(), nodes: fixtureNodes(), initID: idManager,
		version: system.VersionResponse{
			Platform: system.PlatformInfo{Name: "shoal"}, Version: "0.1.0", APIVersion: "1.50", MinAPIVersion: "1.24",
			Os: "linux", Arch: "amd64", GitCommit: "abc1234", GoVersion: "go1.26.8", BuildTime: "2025-06-01T10:30:00.000000000+00:00",
		},
	})
}

// runCLI runs the CLI against hosts and returns its outputs and status.
func runCLI(t *testing.T, hosts string, args ...string) (string, string, int) {
	t.Helper()
	root := NewRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	if hosts != "" {
		args = append([]string{"-H", hosts}, args...)
	}
	root.SetArgs(args)
	code := Execute(root)
	return out.String(), errOut.String(), code
}

func fmtRequests(reqs []string) string { return fmt.Sprintf("%q", reqs) }

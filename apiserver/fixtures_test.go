package apiserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testVersion = "1.2.3"
	leaderID    = swarm.NodeID("mgr1aaaaaaaaaaaaaaaaaaaaa")
	workerID    = swarm.NodeID("wrk1bbbbbbbbbbbbbbbbbbbbb")
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 123, time.UTC)

// testCAPEM returns a fresh self-signed CA certificate in PEM and parsed form.
func testCAPEM(t *testing.T) ([]byte, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "swarm-ca"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

func testCluster(caPEM []byte) *swarm.Cluster {
	spec := swarm.DefaultClusterSpec()
	spec.Dispatcher.NodeDownGrace = 4 * time.Second
	return &swarm.Cluster{
		ID:         "clusteridccccccccccccccccc",
		Meta:       swarm.Meta{Version: 11, CreatedAt: t0, UpdatedAt: t0},
		Spec:       spec,
		RootCA:     swarm.RootCA{CertPEM: caPEM, KeyPEM: []byte("KEY")},
		JoinTokens: swarm.JoinTokens{Worker: "SWMTKN-1-worker", Manager: "SWMTKN-1-manager"},
	}
}

func testNodes() []controlapi.NodeView {
	mgr := &swarm.Node{
		ID:   leaderID,
		Meta: swarm.Meta{Version: 12, CreatedAt: t0, UpdatedAt: t0},
		Spec: swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive},
		Description: swarm.NodeDescription{
			Hostname: "fake-manager", OS: "linux", Architecture: "amd64",
			NanoCPUs: 4e9, MemoryBytes: 8 << 30,
		},
		Status:  swarm.NodeStatus{State: swarm.NodeStateReady, Addr: "10.0.0.1"},
		Manager: &swarm.ManagerInfo{Addr: "10.0.0.1:2377"},
	}
	wrk := &swarm.Node{
		ID:          workerID,
		Meta:        swarm.Meta{Version: 13, CreatedAt: t0, UpdatedAt: t0},
		Spec:        swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityDrain, Labels: map[string]string{"zone": "a"}},
		Description: swarm.NodeDescription{Hostname: "worker1", OS: "linux", Architecture: "x86_64", EngineVersion: "0.9.0"},
		Status:      swarm.NodeStatus{State: swarm.NodeStateDown, Addr: "10.0.0.2"},
	}
	return []controlapi.NodeView{
		{Node: mgr, ManagerStatus: &controlapi.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"}},
		{Node: wrk},
	}
}

// fakeLeader is a leader backend over a fake control that knows testNodes
// and testCluster.
type fakeLeader struct {
	backend *apiservertest.Backend
	ctl     *apiservertest.Control
	cluster *swarm.Cluster
	caCert  *x509.Certificate
	handler http.Handler
}

func newFakeLeader(t *testing.T) *fakeLeader {
	t.Helper()
	caPEM, cert := testCAPEM(t)
	f := &fakeLeader{cluster: testCluster(caPEM), caCert: cert, ctl: &apiservertest.Control{}}
	nodes := testNodes()
	f.ctl.GetClusterFn = func(context.Context) (*swarm.Cluster, error) { return f.cluster, nil }
	f.ctl.ListNodesFn = func(context.Context, map[string][]string) ([]controlapi.NodeView, error) { return nodes, nil }
	f.ctl.GetNodeFn = func(_ context.Context, ref string) (controlapi.NodeView, error) {
		for _, n := range nodes {
			if string(n.ID) == ref || n.Name() == ref {
				return n, nil
			}
		}
		return controlapi.NodeView{}, swarm.Errorf(swarm.ErrNotFound, "node %s not found", ref)
	}
	f.backend = apiservertest.NewLeader(leaderID, f.ctl)
	f.backend.InfoFn = func(context.Context) apiserver.Info {
		return apiserver.Info{
			Name: "fake-manager", NCPU: 4, MemTotal: 8 << 30, OSType: "linux", Architecture: "x86_64",
			KernelVersion: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)",
			Swarm: apiserver.SwarmInfo{
				NodeID: leaderID, NodeAddr: "10.0.0.1", State: apiserver.StateActive, ControlAvailable: true,
				RemoteManagers: []apiserver.Peer{{NodeID: leaderID, Addr: "10.0.0.1:2377"}},
				Nodes:          2, Managers: 1, Cluster: f.cluster,
			},
		}
	}
	f.handler = apiserver.New(apiserver.Config{Backend: f.backend, Version: testVersion})
	return f
}

// serve sends one request through h, with Content-Type: application/json
// when there is a body, as the docker CLI does.
func serve(t *testing.T, h http.Handler, method, target, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantError checks an error answer: status, exact content type and exact body.
func wantError(t *testing.T, res *http.Response, status int, msg string) {
	t.Helper()
	body := readBody(t, res)
	if res.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want exactly application/json", ct)
	}
	// moby encodes without HTML escaping: "<" stays "<".
	var want strings.Builder
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{"message": msg}); err != nil {
		t.Fatal(err)
	}
	if body != want.String() {
		t.Errorf("body = %q, want %q", body, want.String())
	}
}

// decodeMap decodes a JSON object body generically.
func decodeMap(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return m
}

func lookup(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: %v is not an object", keys, v)
		}
		if v, ok = obj[k]; !ok {
			t.Fatalf("%v: no key %q in %v", keys, k, obj)
		}
	}
	return v
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package dockerapi

import (
	"reflect"
	"testing"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

func testNode(role swarm.NodeRole) *swarm.Node {
	t0 := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	return &swarm.Node{
		ID:   "n1",
		Meta: swarm.Meta{Version: 12, CreatedAt: t0, UpdatedAt: t0},
		Spec: swarm.NodeSpec{Role: role, Availability: swarm.AvailabilityActive},
		Description: swarm.NodeDescription{
			Hostname: "host1", OS: "linux", Architecture: "amd64",
			NanoCPUs: 4e9, MemoryBytes: 8 << 30,
		},
		Status: swarm.NodeStatus{State: swarm.NodeStateReady, Addr: "10.0.0.1"},
	}
}

func TestNodeFromDomainWorker(t *testing.T) {
	caPEM, _ := testCA(t)
	tls, err := TLSInfoFromPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	n := NodeFromDomain(testNode(swarm.RoleWorker), nil, NodeEnv{TLSInfo: tls, EngineVersion: "0.1.0"})
	m := toMap(t, n)
	if _, ok := m["ManagerStatus"]; ok {
		t.Error("worker has a ManagerStatus")
	}
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, "n1"},
		{[]string{"Version", "Index"}, 12.0},
		{[]string{"CreatedAt"}, "2025-05-06T07:08:09Z"},
		{[]string{"Spec", "Role"}, "worker"},
		{[]string{"Spec", "Availability"}, "active"},
		{[]string{"Spec", "Labels"}, map[string]any{}},
		{[]string{"Description", "Hostname"}, "host1"},
		{[]string{"Description", "Platform", "Architecture"}, "x86_64"},
		{[]string{"Description", "Platform", "OS"}, "linux"},
		{[]string{"Description", "Resources", "NanoCPUs"}, 4e9},
		{[]string{"Description", "Engine", "EngineVersion"}, "0.1.0"},
		{[]string{"Description", "TLSInfo", "TrustRoot"}, string(caPEM)},
		{[]string{"Status", "State"}, "ready"},
		{[]string{"Status", "Addr"}, "10.0.0.1"},
	}
	for _, c := range checks {
		if got := path(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
}

func TestNodeFromDomainManager(t *testing.T) {
	node := testNode(swarm.RoleManager)
	node.Description.EngineVersion = "0.0.9"
	ms := &ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"}
	n := NodeFromDomain(node, ms, NodeEnv{EngineVersion: "0.1.0"})
	want := &wire.ManagerStatus{Leader: true, Reachability: "reachable", Addr: "10.0.0.1:2377"}
	if !reflect.DeepEqual(n.ManagerStatus, want) {
		t.Errorf("ManagerStatus = %+v, want %+v", n.ManagerStatus, want)
	}
	if got := n.Description.Engine.EngineVersion; got != "0.0.9" {
		t.Errorf("EngineVersion = %q, want the node's own 0.0.9", got)
	}
	if got := path(t, toMap(t, n), "Description", "TLSInfo"); !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("TLSInfo without a CA = %#v, want {}", got)
	}
}

func TestNodeSpecFromWire(t *testing.T) {
	w := wire.NodeSpec{
		Annotations:  wire.Annotations{Name: "n", Labels: map[string]string{"a": "b"}},
		Role:         wire.NodeRoleManager,
		Availability: wire.NodeAvailabilityDrain,
	}
	want := swarm.NodeSpec{Name: "n", Labels: map[string]string{"a": "b"}, Role: swarm.RoleManager, Availability: swarm.AvailabilityDrain}
	got := NodeSpecFromWire(w)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if back := NodeSpecFromWire(NodeSpecFromDomain(got)); !reflect.DeepEqual(back, want) {
		t.Errorf("round trip = %+v", back)
	}
}

func TestUnameArch(t *testing.T) {
	for in, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "x86_64": "x86_64", "riscv64": "riscv64", "": ""} {
		if got := unameArch(in); got != want {
			t.Errorf("unameArch(%q) = %q, want %q", in, got, want)
		}
	}
}

package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// fresh encodes views the way the node list did before it kept encodings.
func fresh(t *testing.T, views []controlapi.NodeView, env dockerapi.NodeEnv) []byte {
	t.Helper()
	out := make([]wire.Node, 0, len(views))
	for _, v := range views {
		out = append(out, nodeToWire(v, env))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testViews(n int) []controlapi.NodeView {
	views := make([]controlapi.NodeView, n)
	for i := range views {
		node := &swarm.Node{ID: swarm.NodeID(fmt.Sprintf("node%021d", i))}
		node.Version = uint64(10 + i)
		node.Spec.Role, node.Spec.Availability = swarm.RoleWorker, swarm.AvailabilityActive
		node.Spec.Labels = map[string]string{"rack": "<a&b>"} // not HTML-escaped on the wire
		node.Description.Hostname = fmt.Sprintf("host-%d", i)
		node.Status.State = swarm.NodeStateReady
		views[i] = controlapi.NodeView{Node: node}
	}
	views[0].ManagerStatus = &controlapi.ManagerStatus{Leader: true, Reachability: swarm.ReachabilityReachable, Addr: "10.0.0.1:2377"}
	return views
}

// TestNodeListEncodingFollowsChanges checks that a kept encoding is used
// only while its node, manager status and environment are unchanged: after
// each change the list is byte for byte what a fresh encoding gives.
func TestNodeListEncodingFollowsChanges(t *testing.T) {
	var c nodeJSON
	env := dockerapi.NodeEnv{TLSInfo: wire.TLSInfo{TrustRoot: "root-1"}, EngineVersion: "1.0"}
	views := testViews(4)
	check := func(step string, all bool) {
		t.Helper()
		got, err := c.list(views, env, all)
		if err != nil {
			t.Fatal(err)
		}
		if want := fresh(t, views, env); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", step, got, want)
		}
	}
	check("first list", true)
	check("same list again", true)

	updated := *views[2].Node
	updated.Version++
	updated.Status.State = swarm.NodeStateDown
	views[2].Node = &updated
	check("a node's status changed", true)

	views[0].ManagerStatus = &controlapi.ManagerStatus{Leader: false, Reachability: swarm.ReachabilityUnreachable, Addr: "10.0.0.1:2377"}
	check("the manager's status changed", true)
	views[0].ManagerStatus = nil
	check("the manager was demoted", true)

	env.EngineVersion = "1.1"
	check("the engine version changed", true)
	env.TLSInfo.TrustRoot = "root-2"
	check("the root CA changed", true)
	env.TLSInfo.CertIssuerPublicKey = []byte{1, 2, 3}
	check("the root CA's key changed", true)

	views = views[1:3]
	check("a filtered list", false)
	if len(c.byID) != 4 {
		t.Errorf("a filtered list dropped kept encodings: %d left of 4", len(c.byID))
	}
	check("a full list of fewer nodes", true)
	if len(c.byID) != 2 {
		t.Errorf("%d encodings kept for a swarm of 2 nodes", len(c.byID))
	}
	views = nil
	check("no node", true)
}

// An unchanged full list is answered with the last body as it is, without
// allocating; a node replaced by another (same count) is not.
func TestNodeListUnchangedAllocatesNothing(t *testing.T) {
	var c nodeJSON
	env := dockerapi.NodeEnv{TLSInfo: wire.TLSInfo{TrustRoot: "root-1"}, EngineVersion: "1.0"}
	views := testViews(100)
	if _, err := c.list(views, env, true); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(10, func() { _, _ = c.list(views, env, true) }); allocs != 0 {
		t.Errorf("an unchanged list of 100 nodes made %v allocations, want 0", allocs)
	}
	other := testViews(101)[100]
	views[50] = other
	got, err := c.list(views, env, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := fresh(t, views, env); !bytes.Equal(got, want) {
		t.Errorf("after a node was replaced:\n got %s\nwant %s", got, want)
	}
}

// BenchmarkNodeList is the manager's part of node ls at 1,000 nodes: from
// the store's views to the JSON body, with nothing or one node changed
// since the last list.
func BenchmarkNodeList(b *testing.B) {
	env := dockerapi.NodeEnv{TLSInfo: wire.TLSInfo{TrustRoot: string(bytes.Repeat([]byte("A"), 600))}, EngineVersion: "1.0"}
	for _, kept := range []bool{false, true} {
		b.Run(fmt.Sprintf("kept=%v", kept), func(b *testing.B) {
			views := testViews(1000)
			var c nodeJSON
			i := 0
			for b.Loop() {
				if !kept {
					c = nodeJSON{}
				} else { // one node changes between lists
					n := *views[i%len(views)].Node
					n.Version++
					views[i%len(views)].Node = &n
					i++
				}
				body, err := c.list(views, env, true)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(body)))
			}
		})
	}
}

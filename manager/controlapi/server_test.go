package controlapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeRaft reports a fixed membership and is always the leader.
type fakeRaft struct{ members []Member }

func (f *fakeRaft) Members() ([]Member, error)         { return f.members, nil }
func (f *fakeRaft) VerifyLeader(context.Context) error { return nil }

type fixture struct {
	p   *storetest.Proposer
	r   *fakeRaft
	srv *Server
}

func newFixture(t *testing.T, managers ...swarm.NodeID) *fixture {
	t.Helper()
	p := storetest.NewProposer()
	ctx := context.Background()
	c := &swarm.Cluster{ID: "c", Spec: swarm.DefaultClusterSpec(), JoinTokens: swarm.JoinTokens{Worker: "w0", Manager: "m0"}}
	if err := p.Propose(ctx, store.NewCreateCluster(c)); err != nil {
		t.Fatal(err)
	}
	r := &fakeRaft{}
	for i, id := range managers {
		r.members = append(r.members, Member{ID: id, Addr: string(id) + ":2377", Leader: i == 0, Reachability: swarm.ReachabilityReachable})
		addNode(t, p, id, "host-"+string(id), swarm.RoleManager, swarm.NodeStateReady)
	}
	n := 0
	srv := New(Config{Store: p.Store, Proposer: p, Raft: r, NewToken: func(*swarm.Cluster) (string, error) {
		n++
		return "tok" + strings.Repeat("x", n), nil
	}})
	return &fixture{p: p, r: r, srv: srv}
}

func addNode(t *testing.T, p *storetest.Proposer, id swarm.NodeID, host string, role swarm.NodeRole, st swarm.NodeState) {
	t.Helper()
	n := &swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: role, Availability: swarm.AvailabilityActive},
		Description: swarm.NodeDescription{Hostname: host}, Status: swarm.NodeStatus{State: st}}
	if err := p.Propose(context.Background(), store.NewCreateNode(n)); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, class error, text string) {
	t.Helper()
	if !errors.Is(err, class) || !strings.Contains(err.Error(), text) {
		t.Fatalf("got error %v, want class %v containing %q", err, class, text)
	}
}

func TestDemoteLastManagerRefused(t *testing.T) {
	f := newFixture(t, "m1")
	before := f.p.Calls
	err := f.srv.UpdateNode(context.Background(), "m1", 0, swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive})
	wantErr(t, err, swarm.ErrFailedPrecondition, "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")
	if f.p.Calls != before {
		t.Fatal("a refused demotion wrote something")
	}
}

func TestDemoteThatLosesQuorumRefused(t *testing.T) {
	f := newFixture(t, "m1", "m2", "m3")
	f.r.members[2].Reachability = swarm.ReachabilityUnreachable
	err := f.srv.UpdateNode(context.Background(), "m2", 0, swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive})
	wantErr(t, err, swarm.ErrFailedPrecondition, "loss of quorum")
	// With everyone reachable the same demotion is fine.
	f.r.members[2].Reachability = swarm.ReachabilityReachable
	if err := f.srv.UpdateNode(context.Background(), "m2", nodeVersion(t, f, "m2"), swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive}); err != nil {
		t.Fatal(err)
	}
}

func TestResolveNode(t *testing.T) {
	f := newFixture(t, "abc111")
	addNode(t, f.p, "abd222", "worker1", swarm.RoleWorker, swarm.NodeStateReady)
	ctx := context.Background()
	for ref, want := range map[string]swarm.NodeID{"abc111": "abc111", "worker1": "abd222", "abd": "abd222", "host-abc111": "abc111"} {
		v, err := f.srv.GetNode(ctx, ref)
		if err != nil || v.ID != want {
			t.Errorf("GetNode(%q) = %v, %v; want %s", ref, v.Node, err, want)
		}
	}
	_, err := f.srv.GetNode(ctx, "ab")
	wantErr(t, err, swarm.ErrInvalidArgument, "node ab is ambiguous (2 matches found)")
	_, err = f.srv.GetNode(ctx, "nosuch")
	wantErr(t, err, swarm.ErrNotFound, "node nosuch not found")
	v, _ := f.srv.GetNode(ctx, "abc111")
	if v.ManagerStatus == nil || !v.ManagerStatus.Leader || v.ManagerStatus.Addr != "abc111:2377" {
		t.Errorf("manager status %+v", v.ManagerStatus)
	}
	if w, _ := f.srv.GetNode(ctx, "worker1"); w.ManagerStatus != nil {
		t.Error("a worker has a manager status")
	}
}

func TestRemoveNodeRules(t *testing.T) {
	f := newFixture(t, "m1")
	addNode(t, f.p, "w1", "worker1", swarm.RoleWorker, swarm.NodeStateReady)
	ctx := context.Background()
	wantErr(t, f.srv.RemoveNode(ctx, "m1", true), swarm.ErrFailedPrecondition, "is a cluster manager and is a member of the raft cluster")
	wantErr(t, f.srv.RemoveNode(ctx, "worker1", false), swarm.ErrFailedPrecondition, "node w1 is not down and can't be removed")
	if _, err := f.srv.GetNode(ctx, "w1"); err != nil {
		t.Fatal("refused removal removed the node")
	}
	if err := f.srv.RemoveNode(ctx, "worker1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.GetNode(ctx, "w1"); !errors.Is(err, swarm.ErrNotFound) {
		t.Fatalf("removed node still found: %v", err)
	}
}

func TestListNodesFilters(t *testing.T) {
	f := newFixture(t, "m1")
	addNode(t, f.p, "w1", "worker1", swarm.RoleWorker, swarm.NodeStateReady)
	ctx := context.Background()
	spec := swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive, Labels: map[string]string{"zone": "a"}}
	if err := f.srv.UpdateNode(ctx, "w1", nodeVersion(t, f, "w1"), spec); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filters map[string][]string
		want    string
	}{
		{map[string][]string{"role": {"manager"}}, "m1"},
		{map[string][]string{"role": {"worker"}}, "w1"},
		{map[string][]string{"node.label": {"zone=a"}}, "w1"},
		{map[string][]string{"node.label": {"zone"}, "role": {"manager"}}, ""},
		{map[string][]string{"name": {"worker"}}, "w1"},
		{nil, "m1,w1"},
	}
	for _, c := range cases {
		got, err := f.srv.ListNodes(ctx, c.filters)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range got {
			ids = append(ids, string(v.ID))
		}
		if strings.Join(ids, ",") != c.want {
			t.Errorf("filters %v: got %v, want %s", c.filters, ids, c.want)
		}
	}
	_, err := f.srv.ListNodes(ctx, map[string][]string{"bogus": {"x"}})
	wantErr(t, err, swarm.ErrInvalidArgument, "invalid filter 'bogus'")
}

func TestUpdateClusterVersionAndRotation(t *testing.T) {
	f := newFixture(t, "m1")
	ctx := context.Background()
	c, _ := f.srv.GetCluster(ctx)
	spec := c.Spec
	spec.Orchestration.TaskHistoryRetentionLimit = 3
	if err := f.srv.UpdateCluster(ctx, c.Version, spec, Rotation{WorkerToken: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.srv.GetCluster(ctx)
	if got.Spec.Orchestration.TaskHistoryRetentionLimit != 3 || got.JoinTokens.Worker == "w0" || got.JoinTokens.Manager != "m0" {
		t.Fatalf("after update: %+v %+v", got.Spec.Orchestration, got.JoinTokens)
	}
	err := f.srv.UpdateCluster(ctx, c.Version, spec, Rotation{})
	wantErr(t, err, swarm.ErrOutOfSequence, "update out of sequence")
	bad := got.Spec
	bad.Dispatcher.HeartbeatPeriod = 0
	wantErr(t, f.srv.UpdateCluster(ctx, got.Version, bad, Rotation{}), swarm.ErrInvalidArgument, "heartbeat period")
	after, _ := f.srv.GetCluster(ctx)
	if after.Version != got.Version {
		t.Fatal("a refused update changed the cluster")
	}
}

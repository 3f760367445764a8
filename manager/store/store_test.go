package store

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// applier feeds commands with increasing indexes, as Raft would, and runs
// each through Encode/Decode so the log format is exercised too.
type applier struct {
	t     testing.TB
	st    *Store
	index uint64
}

func (a *applier) apply(cmd *Command) error {
	a.t.Helper()
	b, err := cmd.Encode()
	if err != nil {
		a.t.Fatal(err)
	}
	dec, err := Decode(b)
	if err != nil {
		a.t.Fatal(err)
	}
	a.index++
	return a.st.Apply(a.index, dec)
}

func seeded(t *testing.T) *applier {
	a := &applier{t: t, st: New()}
	c := &swarm.Cluster{ID: "c1", Spec: swarm.DefaultClusterSpec()}
	if err := a.apply(NewCreateCluster(c)); err != nil {
		t.Fatal(err)
	}
	n := &swarm.Node{ID: "n1", Spec: swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive}}
	if err := a.apply(NewCreateNode(n)); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestVersionCheckRefusesStaleUpdate(t *testing.T) {
	a := seeded(t)
	n, _ := GetNode(a.st.ReadTxn(), "n1")
	spec := n.Spec
	spec.Availability = swarm.AvailabilityDrain
	if err := a.apply(NewUpdateNodeSpec("n1", spec, n.Version)); err != nil {
		t.Fatal(err)
	}
	spec.Availability = swarm.AvailabilityPause
	err := a.apply(NewUpdateNodeSpec("n1", spec, n.Version)) // stale now
	if !errors.Is(err, swarm.ErrOutOfSequence) {
		t.Fatalf("stale update: got %v, want out of sequence", err)
	}
	got, _ := GetNode(a.st.ReadTxn(), "n1")
	if got.Spec.Availability != swarm.AvailabilityDrain {
		t.Fatalf("refused update changed state: %s", got.Spec.Availability)
	}
	if n.Spec.Availability != swarm.AvailabilityActive {
		t.Fatal("an object read before the update was modified in place")
	}
}

func TestRemovedNodeCannotReturn(t *testing.T) {
	a := seeded(t)
	if err := a.apply(NewCreateNode(&swarm.Node{ID: "w1"})); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(NewRemoveNode("w1")); err != nil {
		t.Fatal(err)
	}
	err := a.apply(NewCreateNode(&swarm.Node{ID: "w1"}))
	if !errors.Is(err, swarm.ErrPermissionDenied) {
		t.Fatalf("re-create removed node: got %v", err)
	}
	c, _ := GetCluster(a.st.ReadTxn())
	if !c.IsRemoved("w1") {
		t.Fatal("removed node not revoked")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	a := seeded(t)
	var buf bytes.Buffer
	if err := a.st.Save(&buf); err != nil {
		t.Fatal(err)
	}
	other := New()
	changed := other.Changes()
	if err := other.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("restore did not signal a change")
	}
	if other.Index() != a.index {
		t.Fatalf("index %d, want %d", other.Index(), a.index)
	}
	nodes, _ := ListNodes(other.ReadTxn())
	if len(nodes) != 1 || nodes[0].ID != "n1" || nodes[0].Spec.Role != swarm.RoleManager {
		t.Fatalf("nodes after restore: %+v", nodes)
	}
	if _, err := GetCluster(other.ReadTxn()); err != nil {
		t.Fatal(err)
	}
}

func TestUnchangedStatusKeepsVersion(t *testing.T) {
	a := seeded(t)
	st := swarm.NodeStatus{State: swarm.NodeStateReady}
	if err := a.apply(NewUpdateNodeStatus("n1", st)); err != nil {
		t.Fatal(err)
	}
	v1, _ := GetNode(a.st.ReadTxn(), "n1")
	if err := a.apply(NewUpdateNodeStatus("n1", st)); err != nil {
		t.Fatal(err)
	}
	v2, _ := GetNode(a.st.ReadTxn(), "n1")
	if v1.Version != v2.Version {
		t.Fatal("a status write that changes nothing bumped the version")
	}
}

// A batched liveness verdict applies to nodes still in the state it saw,
// and skips the others (a heartbeat got there first) and removed ones.
func TestUpdateNodeStatusesSkipsStaleVerdicts(t *testing.T) {
	a := seeded(t)
	n2 := &swarm.Node{ID: "n2", Spec: swarm.NodeSpec{Role: swarm.RoleWorker}, Status: swarm.NodeStatus{State: swarm.NodeStateReady}}
	if err := a.apply(NewCreateNode(n2)); err != nil {
		t.Fatal(err)
	}
	if err := a.apply(NewUpdateNodeStatus("n1", swarm.NodeStatus{State: swarm.NodeStateUnknown})); err != nil {
		t.Fatal(err)
	}
	down := swarm.NodeStatus{State: swarm.NodeStateDown, Message: "heartbeat failure"}
	err := a.apply(NewUpdateNodeStatuses([]NodeChange{
		{ID: "n1", From: swarm.NodeStateUnknown, Status: down},
		{ID: "n2", From: swarm.NodeStateUnknown, Status: down}, // n2 is Ready: skipped
		{ID: "gone", From: swarm.NodeStateUnknown, Status: down},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[swarm.NodeID]swarm.NodeState{"n1": swarm.NodeStateDown, "n2": swarm.NodeStateReady} {
		n, err := GetNode(a.st.ReadTxn(), id)
		if err != nil {
			t.Fatal(err)
		}
		if n.Status.State != want {
			t.Errorf("%s is %s, want %s", id, n.Status.State, want)
		}
	}
}

// A node's certificate floor only rises, and raising it is not a change of
// the node a user sees: its version stays, so an update read before it
// still applies.
func TestCertFloorKeepsTheVersion(t *testing.T) {
	s := New()
	index := uint64(0)
	must := func(cmd *Command) {
		t.Helper()
		index++
		if err := s.Apply(index, cmd); err != nil {
			t.Fatal(err)
		}
	}
	must(NewCreateNode(&swarm.Node{ID: "n1", Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive}}))
	n, _ := GetNode(s.ReadTxn(), "n1")
	floor := time.Now().Add(time.Minute).Truncate(time.Second).UTC()
	must(NewSetNodeCertFloor("n1", floor))
	must(NewSetNodeCertFloor("n1", floor.Add(-time.Hour))) // never lowered
	got, _ := GetNode(s.ReadTxn(), "n1")
	if !got.CertFloor.Equal(floor) || got.Version != n.Version {
		t.Fatalf("floor %v version %d, want %v and the version %d kept", got.CertFloor, got.Version, floor, n.Version)
	}
	spec := got.Spec
	spec.Role = swarm.RoleManager
	must(NewUpdateNodeSpec("n1", spec, n.Version))
}

package manager

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// trustFixture is a manager (no Raft: nothing is a member) whose store
// holds a manager m1, a demoted manager d1, a worker w1, a node f1 whose
// certificate floor is in the future (every certificate signed now is
// older), and a removed node r1.
func trustFixture(t *testing.T) (*Manager, *ca.RootCA) {
	t.Helper()
	root, err := ca.NewRootCA()
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.NewProposer()
	ctx := context.Background()
	c := &swarm.Cluster{ID: "c1", RemovedNodes: []swarm.NodeID{"r1"}}
	cmds := []*store.Command{store.NewCreateCluster(c)}
	for id, role := range map[swarm.NodeID]swarm.NodeRole{"m1": swarm.RoleManager, "d1": swarm.RoleWorker, "w1": swarm.RoleWorker, "f1": swarm.RoleManager} {
		cmds = append(cmds, store.NewCreateNode(&swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: role, Availability: swarm.AvailabilityActive}}))
	}
	cmds = append(cmds, store.NewSetNodeCertFloor("f1", time.Now().Add(time.Hour)))
	for _, cmd := range cmds {
		if err := p.Propose(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	return &Manager{store: p.Store, log: slog.New(slog.DiscardHandler)}, root
}

// A request names the node it is for: its peer, or the node that a
// current manager names. A worker, a demoted manager's kept certificate, a
// removed node's certificate or a replaced certificate cannot speak for
// another node, and the last two get nothing at all.
func TestCallerTrustsTheStateNotTheCertificate(t *testing.T) {
	m, root := trustFixture(t)
	cases := []struct {
		peer     swarm.NodeID
		certRole swarm.NodeRole
		header   string
		want     swarm.NodeID
		wantRole swarm.NodeRole
		wantErr  error
	}{
		{"w1", swarm.RoleWorker, "", "w1", swarm.RoleWorker, nil},
		{"w1", swarm.RoleWorker, "m1", "", "", swarm.ErrUnavailable},
		{"w1", swarm.RoleWorker, "w1", "w1", swarm.RoleWorker, nil}, // naming itself
		{"m1", swarm.RoleManager, "", "m1", swarm.RoleManager, nil},
		{"m1", swarm.RoleManager, "w1", "w1", swarm.RoleWorker, nil},
		{"m1", swarm.RoleManager, "r1", "", "", swarm.ErrPermissionDenied}, // (refused by the leader only)
		// a demoted manager's kept certificate: a worker now
		{"d1", swarm.RoleManager, "", "d1", swarm.RoleWorker, nil},
		{"d1", swarm.RoleManager, "m1", "", "", swarm.ErrUnavailable},
		{"d1", swarm.RoleManager, "d1", "d1", swarm.RoleWorker, nil},
		// a removed manager's certificate, alone or naming the leader
		{"r1", swarm.RoleManager, "", "", "", swarm.ErrPermissionDenied},
		{"r1", swarm.RoleManager, "m1", "", "", swarm.ErrUnavailable},
		{"r1", swarm.RoleManager, "r1", "", "", swarm.ErrPermissionDenied},
		// a certificate older than its node's floor
		{"f1", swarm.RoleManager, "", "", "", swarm.ErrUnavailable},
		{"f1", swarm.RoleManager, "m1", "", "", swarm.ErrUnavailable},
		// a manager certificate the state does not know (not a member)
		{"u1", swarm.RoleManager, "m1", "", "", swarm.ErrUnavailable},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/rpc/heartbeat", nil)
		r.TLS = peerState(t, root, c.peer, c.certRole)
		if c.header != "" {
			r.Header.Set(dispatchapi.HeaderForwardedNode, c.header)
		}
		got, err := m.caller(r)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s certificate of %s naming %q: %v, %v; want %v", c.certRole, c.peer, c.header, got.NodeID, err, c.wantErr)
			}
		} else if err != nil || got.NodeID != c.want || got.Role != c.wantRole {
			t.Errorf("%s certificate of %s naming %q: %s %s, %v; want %s %s", c.certRole, c.peer, c.header, got.NodeID, got.Role, err, c.want, c.wantRole)
		}
		// A follower passing the request on decides alike, except about the
		// node a manager names, which its store may not know yet.
		fwd, err := m.forwardedFor(r)
		if c.peer == "m1" && c.header == "r1" {
			if err != nil || fwd.node != "r1" {
				t.Errorf("a manager naming r1 forwarded as %q, %v", fwd, err)
			}
		} else if (err != nil) != (c.wantErr != nil) || (err == nil && fwd.node != c.want) {
			t.Errorf("%s certificate of %s naming %q forwarded as %q, %v", c.certRole, c.peer, c.header, fwd, err)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/rpc/heartbeat", nil)
	r.TLS = &tls.ConnectionState{}
	if _, err := m.forwardedFor(r); err == nil {
		t.Error("a TLS peer without a certificate was forwarded")
	}
}

// A current manager forwarding for a node passes on the NotBefore of the
// node's certificate: one older than the node's floor is refused, as if
// the node had come directly.
func TestForwardedCertificateBelowTheFloor(t *testing.T) {
	m, root := trustFixture(t)
	for nb, wantErr := range map[time.Time]bool{time.Now().Add(-time.Hour): true, time.Now().Add(2 * time.Hour): false} {
		r := httptest.NewRequest(http.MethodPost, "/rpc/heartbeat", nil)
		r.TLS = peerState(t, root, "m1", swarm.RoleManager)
		r.Header.Set(dispatchapi.HeaderForwardedNode, "f1")
		r.Header.Set(dispatchapi.HeaderForwardedNotBefore, nb.UTC().Format(time.RFC3339))
		_, err := m.caller(r)
		if got := errors.Is(err, swarm.ErrUnavailable); got != wantErr {
			t.Errorf("f1 forwarded with a certificate of %v: %v", nb, err)
		}
	}
	// The follower tells the leader its peer's certificate's NotBefore.
	r := httptest.NewRequest(http.MethodPost, "/rpc/heartbeat", nil)
	r.TLS = peerState(t, root, "w1", swarm.RoleWorker)
	fwd, err := m.forwardedFor(r)
	if err != nil || fwd.notBefore != r.TLS.PeerCertificates[0].NotBefore.UTC().Format(time.RFC3339) {
		t.Errorf("forwarded for w1: %+v, %v", fwd, err)
	}
}

// Raft is spoken only with current managers.
func TestRaftAdmitsCurrentManagersOnly(t *testing.T) {
	m, _ := trustFixture(t)
	now := time.Now()
	// u1: unknown to this store (a new member's empty store, or one that
	// lags behind the membership).
	for id, ok := range map[swarm.NodeID]bool{"m1": true, "d1": false, "r1": false, "f1": false, "u1": true} {
		err := m.admitRaft(ca.Identity{NodeID: id, Role: swarm.RoleManager, NotBefore: now.Add(-time.Hour)})
		if (err == nil) != ok {
			t.Errorf("raft from %s: %v, want admitted=%v", id, err, ok)
		}
	}
}

// A renewed certificate is signed after its node's floor even when the
// signer's clock is behind the last signer's.
func TestSignTimeAfterTheFloor(t *testing.T) {
	now := time.Now()
	floor := now.Add(2 * time.Hour)
	if at := ca.SignTimeAfter(now, floor); !at.Add(-time.Hour).After(floor) {
		t.Fatalf("signing at %v gives NotBefore %v, not after the floor %v", at, at.Add(-time.Hour), floor)
	}
	if at := ca.SignTimeAfter(now, time.Time{}); !at.Equal(now) {
		t.Fatalf("without a floor the signing time moved: %v", at)
	}
}

package catest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/swarm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPairHandshake(t *testing.T) {
	_, manager, worker := catest.Pair(t)
	if manager.Identity().ClusterID != catest.ClusterID || manager.Identity().Role != swarm.RoleManager {
		t.Fatalf("manager identity %+v", manager.Identity())
	}
	r := catest.Handshake(t, manager.ServerTLSConfig(), worker.ClientTLSConfig())
	if !r.OK() {
		t.Fatalf("handshake: server %v, client %v", r.ServerErr, r.ClientErr)
	}
	if id, err := ca.PeerIdentity(r.Server); err != nil || id != worker.Identity() {
		t.Fatalf("server saw %+v, %v", id, err)
	}
}

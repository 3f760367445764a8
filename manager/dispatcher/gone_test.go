package dispatcher

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// A previous leader that Raft knows to be gone is Unknown from the start of
// the term (MarkGone), not Ready until two heartbeat periods of silence;
// it keeps when it was last heard from, goes Down counting from then, and
// a node that is not gone is left alone.
func TestGoneLeaderIsUnknownAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		spec := swarm.DefaultClusterSpec().Dispatcher
		time.Sleep(time.Second) // the nodes joined before the leader fell silent
		silentSince := time.Now().Add(-700 * time.Millisecond)
		d.cfg.LastSeen = map[swarm.NodeID]time.Time{"m1": silentSince}
		d.cfg.Gone = []swarm.NodeID{"m1", "nosuch"}
		must(t, d.MarkGone(context.Background()))
		n, err := store.GetNode(p.Store.ReadTxn(), "m1")
		must(t, err)
		if n.Status.State != swarm.NodeStateUnknown || !n.Status.LastSeen.Equal(silentSince) {
			t.Fatalf("gone leader: %+v, want unknown, last seen %v", n.Status, silentSince)
		}
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateReady {
			t.Fatalf("w1 is %s, want ready", got)
		}
		calls := p.Calls
		must(t, d.MarkGone(context.Background())) // already Unknown: nothing to write
		if p.Calls != calls {
			t.Errorf("MarkGone wrote again for a node already Unknown")
		}

		ctx := start(t, d)
		for time.Since(silentSince) < spec.NodeDownGrace-spec.HeartbeatPeriod/2 {
			_, err := d.Heartbeat(ctx, "w1", dispatchapi.HeartbeatRequest{Addr: "10.0.0.2"})
			must(t, err)
			time.Sleep(spec.HeartbeatPeriod / 2)
		}
		time.Sleep(spec.HeartbeatPeriod/2 + verdictBatch + time.Millisecond)
		synctest.Wait()
		n, err = store.GetNode(p.Store.ReadTxn(), "m1")
		must(t, err)
		if n.Status.State != swarm.NodeStateDown || !n.Status.LastSeen.Equal(silentSince) {
			t.Errorf("gone leader %v after it fell silent: %+v, want down, last seen %v", time.Since(silentSince), n.Status, silentSince)
		}
	})
}

// The liveness loop records when a node it marks Unknown was last heard
// from, and keeps it when the node goes Down; Ready clears it.
func TestVerdictsRecordLastSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		beat := func(id swarm.NodeID) {
			_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: "10.0.0.2"})
			must(t, err)
		}
		time.Sleep(spec.HeartbeatPeriod / 4)
		beat("w1")
		last := time.Now()
		lastSeen := func(want swarm.NodeState) time.Time {
			t.Helper()
			n, err := store.GetNode(p.Store.ReadTxn(), "w1")
			must(t, err)
			if n.Status.State != want {
				t.Fatalf("w1 is %s, want %s", n.Status.State, want)
			}
			return n.Status.LastSeen
		}
		time.Sleep(2*spec.HeartbeatPeriod + verdictBatch)
		synctest.Wait()
		if got := lastSeen(swarm.NodeStateUnknown); !got.Equal(last) {
			t.Errorf("unknown: last seen %v, want %v", got, last)
		}
		time.Sleep(spec.NodeDownGrace)
		synctest.Wait()
		if got := lastSeen(swarm.NodeStateDown); !got.Equal(last) {
			t.Errorf("down: last seen %v, want %v", got, last)
		}
		beat("w1")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := lastSeen(swarm.NodeStateReady); !got.IsZero() {
			t.Errorf("ready again: last seen %v, want none", got)
		}
	})
}

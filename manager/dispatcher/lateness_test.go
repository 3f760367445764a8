package dispatcher

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// Lateness is measured against each node's own fastest heartbeat, so
// clocks set apart do not count as delay; a few slow nodes do not move
// the estimate, most nodes slowed together do.
func TestLatenessIgnoresClockOffsetsAndOutliers(t *testing.T) {
	l := newLateness()
	t0 := time.Unix(1000, 0)
	offsets := map[swarm.NodeID]time.Duration{"a": 5 * time.Second, "b": -3 * time.Second, "c": 0, "d": time.Hour, "e": 0}
	round := func(at time.Time, delay func(swarm.NodeID) time.Duration) {
		for id, off := range offsets {
			sent := at.Add(-off) // the node's clock
			l.observe(id, sent, at.Add(delay(id)))
		}
		l.observe("old", time.Time{}, at) // a node that does not say: ignored
		l.tick()
	}
	round(t0, func(swarm.NodeID) time.Duration { return 2 * time.Millisecond })
	if l.current != 0 {
		t.Fatalf("heartbeats as fast as ever: lateness %v", l.current)
	}
	round(t0.Add(time.Second), func(id swarm.NodeID) time.Duration {
		if id == "d" || id == "e" {
			return 5 * time.Second // two slow nodes of five
		}
		return 2 * time.Millisecond
	})
	if l.current != 0 {
		t.Fatalf("two slow nodes of five: lateness %v, want 0", l.current)
	}
	round(t0.Add(2*time.Second), func(swarm.NodeID) time.Duration { return 1500 * time.Millisecond })
	if want := 1498 * time.Millisecond; l.current != want {
		t.Fatalf("every heartbeat 1.5 s late: lateness %v, want %v", l.current, want)
	}
	l.tick() // a window with no heartbeats keeps the estimate
	if l.slack(time.Second) != time.Second || l.slack(3*time.Second) != 1498*time.Millisecond {
		t.Fatalf("slack is the lateness capped at the grace period: %v, %v", l.slack(time.Second), l.slack(3*time.Second))
	}
}

// When every heartbeat reaches the leader late, a silent node's silence is
// counted net of that lateness: it is not marked Down at the grace period,
// but it still is once it has been silent for the grace period plus the
// lateness.
func TestLateHeartbeatsStretchTheGracePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ids := append([]swarm.NodeID{"m1"}, addWorkers(t, p, "n", 4)...)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		const late = 2 * time.Second
		step := spec.HeartbeatPeriod / 2
		beat := func(id swarm.NodeID, delay time.Duration) {
			_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: "10.0.0.9:2377", Sent: time.Now().Add(-delay)})
			must(t, err)
		}
		var silentSince time.Time // w1's last heartbeat
		for range 4 {             // everyone on time, w1 included
			for _, id := range append(ids, "w1") {
				beat(id, 0)
			}
			silentSince = time.Now()
			time.Sleep(step)
			synctest.Wait()
		}
		downAt := time.Duration(0)
		for time.Since(silentSince) < spec.NodeDownGrace+late+2*spec.HeartbeatPeriod {
			for _, id := range ids {
				beat(id, late) // w1 is silent; the others arrive late
			}
			time.Sleep(step)
			synctest.Wait()
			if downAt == 0 && state(t, p.Store, "w1") == swarm.NodeStateDown {
				downAt = time.Since(silentSince)
			}
		}
		if downAt == 0 {
			t.Fatal("a node silent for the grace period plus the lateness and more is not Down")
		}
		if downAt < spec.NodeDownGrace+late {
			t.Fatalf("silent node marked Down after %v with heartbeats %v late, want at least %v", downAt, late, spec.NodeDownGrace+late)
		}
		for _, id := range ids {
			if got := state(t, p.Store, id); got != swarm.NodeStateReady {
				t.Errorf("late but heartbeating node %s is %s", id, got)
			}
		}
	})
}

// A node whose heartbeats say they were sent centuries ahead (a broken or
// hostile clock) does not upset the liveness verdicts: a node that keeps
// heartbeating stays Ready, a silent one goes Down after its grace period.
// (The relative delays overflowed: the forgiven silence went to about
// -292 years, and silence minus that overflowed again: a silent node was
// never Down, and with other values a node heard a moment ago was.)
func TestFarOffSendingTimesDoNotUpsetVerdicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ids := addWorkers(t, p, "n", 2)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		beat := func(id swarm.NodeID, sent time.Time) {
			_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: "10.0.0.9:2377", Sent: sent})
			must(t, err)
		}
		far := time.Now().AddDate(400, 0, 0)
		for _, id := range ids {
			beat(id, far)
		}
		start := time.Now() // w1 is silent from here
		for time.Since(start) < spec.NodeDownGrace+2*spec.HeartbeatPeriod {
			for _, id := range append(ids, "m1") {
				beat(id, time.Now())
			}
			time.Sleep(spec.HeartbeatPeriod / 2)
			synctest.Wait()
			for _, id := range append(ids, "m1") {
				if got := state(t, p.Store, id); got != swarm.NodeStateReady {
					t.Fatalf("heartbeating node %s is %s after %v", id, got, time.Since(start))
				}
			}
		}
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateDown {
			t.Fatalf("silent node is %s after its grace period", got)
		}
	})
}

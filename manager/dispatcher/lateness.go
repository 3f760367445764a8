package dispatcher

import (
	"slices"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// lateness estimates how late heartbeats reach the liveness loop now,
// compared with how fast they can: when the leader (or the path to it) is
// so loaded that every heartbeat waits a second in queues, a node silent
// for the grace period may have sent its heartbeats all along. Silence is
// then counted net of that lateness (slack), so an overloaded leader does
// not mark live nodes Down and reschedule their tasks, which would load it
// further. On a 2-core machine running three managers and 1,000 simulated
// nodes with 35 % of its CPU taken away, that feedback had turned a
// 10,000-task create into thousands of Down verdicts.
//
// Each heartbeat says when it was sent by its node's clock. Clocks differ,
// so a node's delay is measured against the smallest it has shown this
// term (arrival minus sending time, offset included); the loop's estimate
// is the median of those relative delays over the heartbeats of the last
// tick (a few slow nodes do not move it: only a leader or network that
// delays most of them does). It is owned by the liveness loop.
type lateness struct {
	fastest map[swarm.NodeID]time.Duration // smallest arrival - sent per node
	window  []time.Duration                // relative delays since the last tick
	current time.Duration                  // median of the last window with heartbeats
}

func newLateness() *lateness {
	return &lateness{fastest: map[swarm.NodeID]time.Duration{}}
}

// maxClockOffset bounds how far a heartbeat's sending time may be from
// the leader's clock to count. Beyond it the time says nothing useful, and
// a node sending times centuries off (now.Sub saturates) made relative
// delays overflow: a negative lateness that put every node Down at once.
const maxClockOffset = time.Hour

// observe records a heartbeat of node id sent at sent (its clock; zero or
// more than maxClockOffset away: unknown) that arrived at now.
func (l *lateness) observe(id swarm.NodeID, sent, now time.Time) {
	if sent.IsZero() {
		return
	}
	d := now.Sub(sent)
	if d < -maxClockOffset || d > maxClockOffset {
		return
	}
	best, ok := l.fastest[id]
	if !ok || d < best {
		l.fastest[id], best = d, d
	}
	l.window = append(l.window, d-best)
}

// tick ends a window: the current lateness becomes its median. A window
// without heartbeats keeps the last estimate (when none arrive at all,
// mass silence holds Down verdicts instead).
func (l *lateness) tick() {
	if len(l.window) == 0 {
		return
	}
	slices.Sort(l.window)
	l.current = l.window[len(l.window)/2]
	l.window = l.window[:0]
}

// slack is how much of a node's silence to forgive now: the current
// lateness, at most grace (so a silent node is Down after twice the grace
// period at the latest).
func (l *lateness) slack(grace time.Duration) time.Duration {
	return min(l.current, grace)
}

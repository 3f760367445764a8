package consensus

import (
	"sync/atomic"
	"time"
)

// pauseClock notices that this process stopped running for a while (SIGSTOP,
// a frozen VM, a long stall). After such a pause, replies to heartbeats sent
// before it may still wait in the sockets, and hashicorp/raft counts each as
// a vote for whatever leadership check is pending when it is read: a leader
// deposed during the pause would confirm itself and serve a stale read (the
// chaos suite's freeze-leader scenario caught one). VerifyLeader therefore
// commits a barrier instead while a pause is suspected; no stale reply can
// commit an entry of this term.
//
// Its ticker runs on the member's observer goroutine; the checks are atomic
// reads from any goroutine.
type pauseClock struct {
	lastTick atomic.Int64 // unix nanoseconds of the last tick
	pausedAt atomic.Int64 // when the last pause was noticed; 0: never
}

// pauseTick is how often the clock ticks.
const pauseTick = 50 * time.Millisecond

// tick records that the process ran at now, and a pause if the previous
// tick is more than threshold ago.
func (p *pauseClock) tick(now time.Time, threshold time.Duration) {
	if last := p.lastTick.Swap(now.UnixNano()); last != 0 && now.Sub(time.Unix(0, last)) > threshold {
		p.pausedAt.Store(now.UnixNano())
	}
}

// suspect reports whether a pause may have just happened: the clock has not
// ticked for threshold (the ticker itself has not run since), or a pause
// ended less than window ago.
func (p *pauseClock) suspect(now time.Time, threshold, window time.Duration) bool {
	if last := p.lastTick.Load(); last != 0 && now.Sub(time.Unix(0, last)) > threshold {
		return true
	}
	paused := p.pausedAt.Load()
	return paused != 0 && now.Sub(time.Unix(0, paused)) < window
}

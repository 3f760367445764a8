package consensus

import (
	"context"
	"testing"
	"time"
)

// A gap between ticks longer than the threshold is a pause, suspected for
// the window after it; so is a clock that has not ticked for the threshold
// (the check may run before the ticker does, on waking).
func TestPauseClockSuspectsAPauseJustEnded(t *testing.T) {
	var p pauseClock
	t0 := time.Unix(1000, 0)
	threshold, window := 250*time.Millisecond, time.Second
	if p.suspect(t0, threshold, window) {
		t.Fatal("a clock that never ticked suspects a pause")
	}
	for i := range 10 {
		p.tick(t0.Add(time.Duration(i)*pauseTick), threshold)
	}
	now := t0.Add(9 * pauseTick)
	if p.suspect(now.Add(pauseTick), threshold, window) {
		t.Fatal("regular ticks: a pause is suspected")
	}
	woke := now.Add(10 * time.Second) // stopped for ten seconds
	if !p.suspect(woke, threshold, window) {
		t.Fatal("on waking, before the next tick: no pause suspected")
	}
	p.tick(woke, threshold)
	if !p.suspect(woke.Add(pauseTick), threshold, window) {
		t.Fatal("just after the tick that saw the gap: no pause suspected")
	}
	for i := 1; i <= 25; i++ {
		p.tick(woke.Add(time.Duration(i)*pauseTick), threshold)
	}
	if p.suspect(woke.Add(25*pauseTick), threshold, window) {
		t.Fatal("more than the window after the pause: still suspected")
	}
}

// While a pause is suspected, the leader confirms itself with a barrier (a
// new entry committed by a quorum), not with heartbeat replies that may be
// stale; otherwise it appends nothing.
func TestVerifyLeaderCommitsABarrierAfterAPause(t *testing.T) {
	ms := cluster(t)
	ctx := context.Background()
	l := ms[0].r
	if err := l.VerifyLeader(ctx); err != nil { // the term's first barrier
		t.Fatal(err)
	}
	var before uint64
	for attempt := 0; ; attempt++ {
		l.pauses.pausedAt.Store(0)
		before = l.raft.LastIndex()
		if err := l.VerifyLeader(ctx); err != nil {
			t.Fatal(err)
		}
		got := l.raft.LastIndex()
		if got == before {
			break
		}
		if l.pauses.pausedAt.Load() == 0 || attempt == 5 { // not a real stall of this test's process
			t.Fatalf("a plain check appended %d entries", got-before)
		}
	}
	before = l.raft.LastIndex()
	l.pauses.pausedAt.Store(time.Now().UnixNano()) // as the ticker records a pause
	if err := l.VerifyLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if got := l.raft.LastIndex(); got != before+1 {
		t.Fatalf("after a pause the check appended %d entries, want 1 (a barrier)", got-before)
	}
}

package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// countingProposer records the most proposals it saw in flight at once and
// fails the commands named in fail.
type countingProposer struct {
	mu           sync.Mutex
	now, peak, n int
	fail         map[*Command]error
	release      chan struct{}
}

func (c *countingProposer) Propose(_ context.Context, cmd *Command) error {
	c.mu.Lock()
	c.now++
	c.n++
	c.peak = max(c.peak, c.now)
	c.mu.Unlock()
	c.mu.Lock()
	c.mu.Unlock()
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return c.fail[cmd]
}

func TestProposeAllRunsEveryCommandBoundedAndReportsAnError(t *testing.T) {
	cmds := make([]*Command, 20)
	for i := range cmds {
		cmds[i] = NewDeleteTasks(nil)
	}
	bad := errors.New("refused")
	p := &countingProposer{fail: map[*Command]error{cmds[7]: bad}}
	if err := ProposeAll(context.Background(), p, cmds, 4); !errors.Is(err, bad) {
		t.Fatalf("ProposeAll returned %v, want the refusal", err)
	}
	if p.n != len(cmds) {
		t.Errorf("%d of %d commands proposed", p.n, len(cmds))
	}
	if p.peak > 4 {
		t.Errorf("%d proposals in flight, want at most 4", p.peak)
	}
}

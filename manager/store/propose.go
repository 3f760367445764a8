package store

import (
	"context"
	"sync"
)

// Proposer writes a command through consensus (as the leader components'
// own Proposer interfaces do).
type Proposer interface {
	Propose(ctx context.Context, cmd *Command) error
}

// ProposeAll proposes independent commands concurrently, at most inFlight
// at a time, and returns the first error once all have returned. Raft then
// carries them in shared appends, replications and disk syncs instead of
// one round trip each. The commands must not depend on each other's order.
func ProposeAll(ctx context.Context, p Proposer, cmds []*Command, inFlight int) error {
	if len(cmds) == 1 {
		return p.Propose(ctx, cmds[0])
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, max(inFlight, 1))
	)
	for _, cmd := range cmds {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := p.Propose(ctx, cmd); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

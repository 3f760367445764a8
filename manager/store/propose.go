package store

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"

	"github.com/shoal-project/shoal/swarm"
)

// Proposer writes a command through consensus (as the leader components'
// own Proposer interfaces do).
type Proposer interface {
	Propose(ctx context.Context, cmd *Command) error
}

// ProposeAll proposes independent commands concurrently, at most inFlight
// at a time (each split if too large, see ProposeSplit), and returns the
// first error once all have returned (one failure cancels none of the
// others). Raft then carries them in shared appends, replications and disk
// syncs instead of one round trip each. The commands must not depend on each
// other's order.
func ProposeAll(ctx context.Context, p Proposer, cmds []*Command, inFlight int) error {
	if len(cmds) == 1 {
		return ProposeSplit(ctx, p, cmds[0])
	}
	var g errgroup.Group
	g.SetLimit(max(inFlight, 1))
	for _, cmd := range cmds {
		g.Go(func() error { return ProposeSplit(ctx, p, cmd) })
	}
	return g.Wait()
}

// ProposeSplit proposes cmd and, if it is larger than a Raft entry may be
// (swarm.ErrTooLarge: nothing was written) and is a batch of independent
// items, proposes its two halves instead, each split again if need be: a
// batch cut by count (status reports of a thousand nodes, history
// deletions) stays under the size limit whatever its items hold.
func ProposeSplit(ctx context.Context, p Proposer, cmd *Command) error {
	err := p.Propose(ctx, cmd)
	if !errors.Is(err, swarm.ErrTooLarge) {
		return err
	}
	a, b, ok := cmd.split()
	if !ok {
		return err
	}
	if err := ProposeSplit(ctx, p, a); err != nil {
		return err
	}
	return ProposeSplit(ctx, p, b)
}

// split cuts a batch command in two halves; ok is false if cmd is not a
// batch of independent items, or holds only one.
func (c *Command) split() (a, b *Command, ok bool) {
	x, y := *c, *c
	switch c.Op {
	case OpAssignTasks, OpSetTasksDesired, OpUpdateTaskStatus, OpRefreshTasks:
		x.Changes, y.Changes, ok = halves(c.Changes)
	case OpCreateServiceTasks:
		x.NewTasks, y.NewTasks, ok = halves(c.NewTasks)
	case OpCreateTasks:
		x.Tasks, y.Tasks, ok = halves(c.Tasks)
	case OpDeleteTasks:
		x.TaskIDs, y.TaskIDs, ok = halves(c.TaskIDs)
	case OpUpdateNodeStatuses:
		x.NodeChanges, y.NodeChanges, ok = halves(c.NodeChanges)
	}
	return &x, &y, ok
}

func halves[T any](s []T) (a, b []T, ok bool) {
	if len(s) < 2 {
		return s, nil, false
	}
	h := len(s) / 2
	return s[:h:h], s[h:], true
}

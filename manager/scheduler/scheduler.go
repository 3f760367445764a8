package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Proposer writes a command through consensus. Run calls it from its own
// goroutine, one call at a time; the error is the command's outcome or
// why it could not be committed (not leader, ctx ended).
type Proposer interface {
	Propose(ctx context.Context, cmd *store.Command) error
}

// Config holds the scheduler's dependencies and settings. Zero settings
// take their defaults (DefaultConfig).
type Config struct {
	Store    *store.Store
	Proposer Proposer
	Logger   *slog.Logger
	// Debounce is how long a pass waits after the first change it sees,
	// so that a burst of changes is handled in one pass.
	Debounce time.Duration
	// Retry is how long the loop waits before another pass when a
	// proposal failed and no change came to wake it.
	Retry time.Duration
	// BatchSize caps the task changes in one proposed command.
	BatchSize int
}

// DefaultConfig returns the default settings, without dependencies.
func DefaultConfig() Config {
	return Config{Debounce: 25 * time.Millisecond, Retry: time.Second, BatchSize: 1000}
}

// Validate checks that the dependencies are set and the settings sane.
func (c Config) Validate() error {
	switch {
	case c.Store == nil || c.Proposer == nil:
		return errors.New("scheduler: config needs a store and a proposer")
	case c.Debounce < 0 || c.Retry < 0 || c.BatchSize < 0:
		return fmt.Errorf("scheduler: negative setting (debounce %v, retry %v, batch size %d)", c.Debounce, c.Retry, c.BatchSize)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Debounce == 0 {
		c.Debounce = d.Debounce
	}
	if c.Retry == 0 {
		c.Retry = d.Retry
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	return c
}

// Scheduler is the placement loop of one leadership term.
type Scheduler struct {
	cfg Config
}

// New returns a scheduler; Run starts it.
func New(cfg Config) *Scheduler {
	return &Scheduler{cfg: cfg.withDefaults()}
}

// Run places tasks until ctx ends, then returns nil; it returns an error
// only for a bad Config. It is the scheduler's only goroutine: it makes a
// pass at once, then one pass Debounce after each change of the store
// (changes that come meanwhile join that pass), and retries a failed pass
// after Retry. A Scheduler runs once; make a new one for the next term.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	// Take the change channel before each read, so a change made while a
	// pass reads is never missed: it closes the channel already held.
	changes := s.cfg.Store.Changes()
	timer := time.NewTimer(0)
	defer timer.Stop()
	armed := true
	pause := s.cfg.Debounce
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changes:
			changes = s.cfg.Store.Changes()
			if !armed {
				timer.Reset(pause)
				armed = true
			}
		case <-timer.C:
			armed = false
			busy, err := s.pass(ctx)
			// Under a stream of changes, wait at least as long as the last
			// pass computed: the loop then uses at most about half a core,
			// and each pass handles a larger batch.
			pause = max(s.cfg.Debounce, busy)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("scheduling pass failed, will retry", "err", err, "retry", s.cfg.Retry)
				timer.Reset(s.cfg.Retry)
				armed = true
			}
		}
	}
}

// pass schedules every task that waits for a node, and proposes the
// placements and new reasons. busy is the time it spent computing (not
// waiting for commits).
func (s *Scheduler) pass(ctx context.Context) (busy time.Duration, err error) {
	start := time.Now()
	tx := s.cfg.Store.ReadTxn()
	// Most changes leave nothing to place (a task reported running): an
	// index answers that without reading every task.
	if w, err := store.WaitingTasks(tx); err != nil || len(w) == 0 {
		return time.Since(start), err
	}
	snap, waiting, err := ReadSnapshot(tx)
	if err != nil {
		return time.Since(start), fmt.Errorf("scheduler: read state: %w", err)
	}
	decisions := Schedule(snap, waiting)
	changes, placed := changesFor(decisions, waiting)
	busy = time.Since(start)
	s.cfg.Logger.Debug("scheduling pass", "waiting", len(waiting), "placed", placed, "changes", len(changes))
	// Schedule spreads: consecutive decisions go to different nodes, so a
	// command cut from them in that order would touch as many nodes as it
	// holds tasks, and wake each of their assignment polls once per
	// command. Grouped by node, a command wakes a node once for all its new
	// tasks (10,000 tasks on 1,000 nodes: about 1,000 answers, not 10,000).
	slices.SortStableFunc(changes, func(a, b store.TaskChange) int { return strings.Compare(string(a.NodeID), string(b.NodeID)) })
	var cmds []*store.Command
	for i := 0; i < len(changes); i += s.cfg.BatchSize {
		cmds = append(cmds, store.NewAssignTasks(changes[i:min(i+s.cfg.BatchSize, len(changes))]))
	}
	// Placements of different tasks are independent: proposed together.
	proposed := time.Now()
	if err := store.ProposeAll(ctx, s.cfg.Proposer, cmds, 8); err != nil {
		return busy, fmt.Errorf("scheduler: propose %d task changes: %w", len(changes), err)
	}
	s.cfg.Logger.Debug("placements committed", "commands", len(cmds), "took", time.Since(proposed))
	return busy, nil
}

// changesFor turns decisions into assign-task changes. A task that stays
// pending for the reason it already shows is left out: writing it again
// would change nothing but would wake every watcher, this loop included.
func changesFor(decisions []Decision, waiting []*swarm.Task) (changes []store.TaskChange, placed int) {
	byID := make(map[swarm.TaskID]*swarm.Task, len(waiting))
	for _, t := range waiting {
		byID[t.ID] = t
	}
	for _, d := range decisions {
		if d.Node != "" {
			changes = append(changes, store.TaskChange{ID: d.Task, NodeID: d.Node})
			placed++
			continue
		}
		if t := byID[d.Task]; t != nil && t.Status.State == swarm.TaskPending && t.Status.Err == d.Reason {
			continue
		}
		changes = append(changes, store.TaskChange{ID: d.Task, Status: &swarm.TaskStatus{Err: d.Reason}})
	}
	return changes, placed
}

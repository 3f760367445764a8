package orchestrator

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Proposer writes a command through consensus.
type Proposer interface {
	Propose(ctx context.Context, cmd *store.Command) error
}

// Config holds the orchestrator's dependencies.
type Config struct {
	Store    *store.Store
	Proposer Proposer
	// Fits returns, for a task spec, whether a node satisfies its
	// placement constraints (read once per spec); global services use it
	// to pick their nodes. Nil: every node fits.
	Fits func(*swarm.TaskSpec) func(*swarm.Node) bool
	// Debounce lets a burst of store changes become one pass.
	Debounce time.Duration
	Logger   *slog.Logger
}

// Orchestrator reconciles services into tasks on the leader.
type Orchestrator struct {
	cfg Config
}

// New returns an orchestrator; Run starts it.
func New(cfg Config) *Orchestrator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 10 * time.Millisecond
	}
	return &Orchestrator{cfg: cfg}
}

// Run reconciles until ctx ends: a pass at once, then one after each change
// of the store that is not routine (store.WorkChanges: reports of tasks on
// their way to running need no pass), and when a delayed action is due.
func (o *Orchestrator) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		changed := o.cfg.Store.WorkChanges()
		wake, busy := o.pass(ctx)
		var due <-chan time.Time
		if !wake.IsZero() {
			timer.Reset(time.Until(wake))
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-due:
		}
		// Let a burst settle; under a stream of changes, for at least as
		// long as the last pass computed, so that this loop uses at most
		// about half a core and each pass handles a larger batch.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(max(o.cfg.Debounce, busy)):
		}
	}
}

// pass reconciles every service once and returns when a delayed action is
// due (zero: none), and the time it spent computing (not waiting for
// commits).
func (o *Orchestrator) pass(ctx context.Context) (wake time.Time, busy time.Duration) {
	start := time.Now()
	p := newPlan(o.cfg.Store.ReadTxn(), start)
	p.fits = o.cfg.Fits
	p.reconcileAll()
	o.logFailures(p.failures)
	phases := p.commands()
	busy = time.Since(start)
	for _, cmds := range phases {
		proposed := time.Now()
		if err := store.ProposeAll(ctx, o.cfg.Proposer, cmds, inFlight); errors.Is(err, swarm.ErrTooLarge) {
			// One service's write beyond the limit (a spec stored before
			// the limits existed): the phase's other commands were
			// written; the next phases go on, or no service would move.
			o.cfg.Logger.Error("orchestrator write refused", "op", cmds[0].Op, "err", err)
		} else if err != nil {
			o.cfg.Logger.Debug("orchestrator write failed", "op", cmds[0].Op, "err", err)
			return time.Now().Add(200 * time.Millisecond), busy // retry soon
		}
		o.cfg.Logger.Debug("orchestrator phase committed", "op", cmds[0].Op, "commands", len(cmds), "busy", busy, "took", time.Since(proposed))
	}
	return p.wake, busy
}

// inFlight is how many commands of one phase are proposed at once.
const inFlight = 8

// defaultRestartDelay is Docker's restart delay when the policy sets none.
const defaultRestartDelay = 5 * time.Second

// retention is the number of tasks a slot keeps, history included.
func retention(tx store.ReadTxn) int {
	c, err := store.GetCluster(tx)
	if err != nil {
		return int(swarm.DefaultTaskHistoryRetention)
	}
	return int(c.Spec.Orchestration.TaskHistoryRetentionLimit)
}

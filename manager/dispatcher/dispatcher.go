package dispatcher

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Proposer writes a command through consensus.
type Proposer interface {
	Propose(ctx context.Context, cmd *store.Command) error
}

// Config holds the dispatcher's dependencies.
type Config struct {
	Store    *store.Store
	Proposer Proposer
	// Managers returns the current managers (the Raft voters), for
	// heartbeat responses and to tell who is still a member.
	Managers func() []dispatchapi.Peer
	// LastSeen gives what the new leader already knows of some nodes'
	// silence (the previous leader's, from Raft); other nodes count as
	// seen when the dispatcher starts.
	LastSeen map[swarm.NodeID]time.Time
	Logger   *slog.Logger
}

// Dispatcher tracks node liveness on the leader.
type Dispatcher struct {
	cfg     Config
	beatCh  chan swarm.NodeID
	reports chan statusReport // to statusWriter
	doneCh  chan struct{}     // closed when Run returns
	// runCtx ends when Run returns, for request goroutines that wait on
	// contexts.
	runCtx  context.Context
	runDone context.CancelFunc
}

// New returns a dispatcher; Run starts it.
func New(cfg Config) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	runCtx, runDone := context.WithCancel(context.Background())
	return &Dispatcher{cfg: cfg, beatCh: make(chan swarm.NodeID, 256), reports: make(chan statusReport, 1024),
		doneCh: make(chan struct{}), runCtx: runCtx, runDone: runDone}
}

// Run owns the liveness table until ctx ends. A dispatcher runs once (one
// leadership term); make a new one for the next.
//
// The loop never waits for a commit: a write of liveness verdicts runs in
// its own goroutine, one at a time, while heartbeats go on being recorded.
// (Waiting here once let a slow commit delay heartbeats past the grace
// period, which marked more nodes down, which made more writes.)
func (d *Dispatcher) Run(ctx context.Context) error {
	defer close(d.doneCh)
	defer d.runDone()
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	wg.Add(1)
	go func() { defer wg.Done(); d.statusWriter(wctx) }()
	seen := map[swarm.NodeID]time.Time{}
	for id, at := range d.cfg.LastSeen {
		seen[id] = at
	}
	start := time.Now()
	spec := d.spec()
	tick := time.NewTicker(spec.HeartbeatPeriod / 2)
	defer tick.Stop()
	var writing chan struct{} // non-nil while a verdict write is in flight
	for {
		select {
		case <-ctx.Done():
			if writing != nil {
				<-writing // the write ends with ctx
			}
			return nil
		case id := <-d.beatCh:
			seen[id] = time.Now()
		case <-writing:
			writing = nil
		case <-tick.C:
			if s := d.spec(); s != spec {
				spec = s
				tick.Reset(spec.HeartbeatPeriod / 2)
			}
			if writing != nil {
				continue
			}
			if changes := d.verdicts(seen, start, spec); len(changes) > 0 {
				writing = make(chan struct{})
				go func() { defer close(writing); d.write(ctx, changes) }()
			}
		}
	}
}

func (d *Dispatcher) spec() swarm.DispatcherSpec {
	c, err := store.GetCluster(d.cfg.Store.ReadTxn())
	if err != nil {
		return swarm.DefaultClusterSpec().Dispatcher
	}
	return c.Spec.Dispatcher
}

// verdicts lists the silent nodes to mark Unknown, then Down. A node never
// heard from by this leader counts as seen when the leader started.
func (d *Dispatcher) verdicts(seen map[swarm.NodeID]time.Time, start time.Time, spec swarm.DispatcherSpec) []store.NodeChange {
	nodes, err := store.ListNodes(d.cfg.Store.ReadTxn())
	if err != nil {
		return nil
	}
	now := time.Now()
	var out []store.NodeChange
	for _, n := range nodes {
		last, ok := seen[n.ID]
		if !ok {
			last = start
		}
		next := nextState(n.Status.State, now.Sub(last), spec)
		if next == n.Status.State {
			continue
		}
		st := n.Status
		st.State, st.Message = next, "heartbeat failure"
		out = append(out, store.NodeChange{ID: n.ID, From: n.Status.State, Status: st})
	}
	return out
}

// write proposes liveness verdicts as one command.
func (d *Dispatcher) write(ctx context.Context, changes []store.NodeChange) {
	if err := d.cfg.Proposer.Propose(ctx, store.NewUpdateNodeStatuses(changes)); err != nil {
		d.cfg.Logger.Debug("node status write failed", "nodes", len(changes), "err", err)
		return
	}
	for _, c := range changes {
		d.cfg.Logger.Info("node liveness changed", "node", c.ID, "state", c.Status.State)
	}
}

// nextState is the liveness rule: silent for two periods is Unknown,
// silent for the grace period is Down.
func nextState(cur swarm.NodeState, silent time.Duration, spec swarm.DispatcherSpec) swarm.NodeState {
	switch {
	case cur == swarm.NodeStateDown:
		return cur
	case silent >= spec.NodeDownGrace:
		return swarm.NodeStateDown
	case silent >= 2*spec.HeartbeatPeriod && cur == swarm.NodeStateReady:
		return swarm.NodeStateUnknown
	}
	return cur
}

// Heartbeat records a node's heartbeat and tells it how to go on. Called
// from request goroutines.
func (d *Dispatcher) Heartbeat(ctx context.Context, id swarm.NodeID, req dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
	n, err := store.GetNode(d.cfg.Store.ReadTxn(), id)
	if err != nil {
		return dispatchapi.HeartbeatResponse{}, swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a member of the swarm", id)
	}
	select {
	case <-d.doneCh: // checked first: the buffered channel would take it
		return dispatchapi.HeartbeatResponse{}, swarm.ErrNoLeader
	default:
	}
	select {
	case d.beatCh <- id:
	case <-d.doneCh:
		return dispatchapi.HeartbeatResponse{}, swarm.ErrNoLeader
	case <-ctx.Done():
		return dispatchapi.HeartbeatResponse{}, ctx.Err()
	}
	// A verdict written after n was read is fine: it only applies to a node
	// still in the state it saw, and the next heartbeat repairs the rest.
	if n.Status.State != swarm.NodeStateReady || n.Status.ClusterAddr != req.Addr {
		st := swarm.NodeStatus{State: swarm.NodeStateReady, Addr: dispatchapi.Host(req.Addr), ClusterAddr: req.Addr}
		if err := d.cfg.Proposer.Propose(ctx, store.NewUpdateNodeStatus(id, st)); err != nil {
			return dispatchapi.HeartbeatResponse{}, err
		}
	}
	managers := d.cfg.Managers() // one read of the Raft membership per heartbeat
	return dispatchapi.HeartbeatResponse{
		Period:   d.spec().HeartbeatPeriod,
		Managers: managers,
		Role:     roleFor(n, managers),
	}, nil
}

// roleFor is the role the node should hold. A demoted node stays a manager
// until it has left the Raft membership, so that it never stops its Raft
// member while still counted in the quorum.
func roleFor(n *swarm.Node, managers []dispatchapi.Peer) swarm.NodeRole {
	member := slices.ContainsFunc(managers, func(p dispatchapi.Peer) bool { return p.NodeID == n.ID })
	if n.Spec.Role == swarm.RoleManager || member {
		return swarm.RoleManager
	}
	return swarm.RoleWorker
}

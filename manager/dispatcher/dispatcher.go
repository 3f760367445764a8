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
	// Gone are nodes of LastSeen that Raft already knows to be gone (the
	// previous leader, when the managers elected another for want of its
	// heartbeats): MarkGone writes them Unknown at once.
	Gone   []swarm.NodeID
	Logger *slog.Logger
}

// Dispatcher tracks node liveness on the leader.
type Dispatcher struct {
	cfg     Config
	beatCh  chan beat
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
	return &Dispatcher{cfg: cfg, beatCh: make(chan beat, 256), reports: make(chan statusReport, 1024),
		doneCh: make(chan struct{}), runCtx: runCtx, runDone: runDone}
}

// MarkGone writes the Gone nodes still stored Ready as Unknown, in one
// command. The new leader calls it before it serves anyone: without it, a
// dead former leader read Ready (with its manager status Unreachable) until
// its silence reached two heartbeat periods, about a second after the
// election. A node heard from again goes back to Ready as any other.
func (d *Dispatcher) MarkGone(ctx context.Context) error {
	tx := d.cfg.Store.ReadTxn()
	var changes []store.NodeChange
	for _, id := range d.cfg.Gone {
		n, err := store.GetNode(tx, id)
		if err != nil || n.Status.State != swarm.NodeStateReady {
			continue
		}
		st := n.Status
		st.State, st.Message = swarm.NodeStateUnknown, "heartbeat failure"
		st.LastSeen = later(d.cfg.LastSeen[id], n.CreatedAt).UTC()
		changes = append(changes, store.NodeChange{ID: id, From: swarm.NodeStateReady, Status: st})
	}
	if len(changes) == 0 {
		return nil
	}
	if err := store.ProposeSplit(ctx, d.cfg.Proposer, store.NewUpdateNodeStatuses(changes)); err != nil {
		return err
	}
	for _, c := range changes {
		d.cfg.Logger.Info("node liveness changed", "node", c.ID, "state", c.Status.State, "reason", "the previous leader, gone at the election")
	}
	return nil
}

// beat is one heartbeat, as the liveness loop records it.
type beat struct {
	id   swarm.NodeID
	addr string    // the cluster address the node reported
	sent time.Time // by the node's clock; zero if it did not say
	// revive: the node's stored status is not Ready at that address.
	revive bool
}

// Run owns the liveness table until ctx ends. A dispatcher runs once (one
// leadership term); make a new one for the next.
//
// The loop never waits for a commit: a write of liveness changes runs in
// its own goroutine, one at a time, while heartbeats go on being recorded;
// changes due meanwhile go into the next write. (Waiting here once let a
// slow commit delay heartbeats past the grace period, which marked more
// nodes down, which made more writes.) Both directions are written so: a
// silent node going Unknown or Down, and a node heard from again going
// Ready. A heartbeat never waits for a write: under load, a thousand nodes
// coming back each with a Raft entry of its own, and each heartbeat
// waiting for it, had kept nodes silent and Unknown in a loop.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer close(d.doneCh)
	defer d.runDone()
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	wg.Add(1)
	go func() { defer wg.Done(); d.statusWriter(wctx) }()
	lv := &liveness{seen: map[swarm.NodeID]time.Time{}, addrs: map[swarm.NodeID]string{}, start: time.Now(),
		lateness: newLateness()}
	for id, at := range d.cfg.LastSeen {
		lv.seen[id] = at
	}
	spec := d.spec()
	tick := time.NewTicker(spec.HeartbeatPeriod / 2)
	defer tick.Stop()
	// verdict fires when the next node's silence reaches a threshold (plus
	// verdictBatch), so that a dead node is marked Down when its grace
	// period ends rather than at the next tick (up to half a period later).
	verdict := time.NewTimer(time.Hour)
	verdict.Stop()
	defer verdict.Stop()
	var writing chan struct{} // non-nil while a write is in flight
	due := false              // changes may be due: look when no write is in flight
	for {
		select {
		case <-ctx.Done():
			if writing != nil {
				<-writing // the write ends with ctx
			}
			return nil
		case b := <-d.beatCh:
			now := time.Now()
			lv.seen[b.id], lv.addrs[b.id] = now, b.addr
			lv.lateness.observe(b.id, b.sent, now)
			due = due || b.revive
		case <-writing:
			writing = nil
		case <-tick.C:
			if s := d.spec(); s != spec {
				spec = s
				tick.Reset(spec.HeartbeatPeriod / 2)
			}
			lv.lateness.tick()
			due = true
		case <-verdict.C:
			due = true
		}
		if due && writing == nil {
			due = false
			changes, next := d.changes(lv, spec)
			if !next.IsZero() {
				verdict.Reset(time.Until(next) + verdictBatch)
			}
			if len(changes) > 0 {
				writing = make(chan struct{})
				go func() { defer close(writing); d.write(ctx, changes) }()
			}
		}
	}
}

// verdictBatch is how long the loop waits past the first node's threshold,
// so that the verdicts of nodes that died together (their last heartbeats
// spread over a period) go out in a few writes rather than one each: each
// write wakes the orchestrator for a pass over every task.
const verdictBatch = 100 * time.Millisecond

// liveness is what the loop knows of heartbeats: when each node was last
// heard from, and at which address.
type liveness struct {
	seen  map[swarm.NodeID]time.Time
	addrs map[swarm.NodeID]string
	start time.Time // a node never heard from counts as seen then
	// holding: Down verdicts are held back (mass silence).
	holding bool
	// lateness: how late heartbeats arrive now (see slack).
	lateness *lateness
}

// lastSeen is when the node was last heard from; a node never heard from
// counts from this term's start or the node's creation.
func (lv *liveness) lastSeen(n *swarm.Node) time.Time {
	if last, ok := lv.seen[n.ID]; ok {
		return last
	}
	return later(lv.start, n.CreatedAt)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (d *Dispatcher) spec() swarm.DispatcherSpec {
	c, err := store.GetCluster(d.cfg.Store.ReadTxn())
	if err != nil {
		return swarm.DefaultClusterSpec().Dispatcher
	}
	return c.Spec.Dispatcher
}

// changes lists the nodes heard from lately that are not stored as Ready
// at the address they report, and the silent nodes to mark Unknown, then
// Down (see massSilence). next is when the silence of a node not changed
// now reaches its next threshold, if it stays silent (zero: none).
func (d *Dispatcher) changes(lv *liveness, spec swarm.DispatcherSpec) (out []store.NodeChange, next time.Time) {
	nodes, err := store.ListNodes(d.cfg.Store.ReadTxn())
	if err != nil {
		return nil, time.Time{}
	}
	now := time.Now()
	slack := lv.lateness.slack(spec.NodeDownGrace)
	silence := make([]time.Duration, len(nodes))
	heard := make([]time.Time, len(nodes))
	live, silent := 0, 0 // nodes not stored as Down, and those of them silent
	for i, n := range nodes {
		heard[i] = lv.lastSeen(n)
		silence[i] = max(0, now.Sub(heard[i])-slack)
		if n.Status.State != swarm.NodeStateDown {
			live++
			if silence[i] >= 2*spec.HeartbeatPeriod {
				silent++
			}
		}
	}
	lv.hold(d.cfg.Logger, live >= massSilenceMin && 2*silent >= live, silent, live)
	for i, n := range nodes {
		if at, ok := nextThreshold(n.Status.State, silence[i], spec); ok {
			if t := now.Add(at); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		if addr, heard := lv.addrs[n.ID]; heard && silence[i] < 2*spec.HeartbeatPeriod {
			if n.Status.State != swarm.NodeStateReady || n.Status.ClusterAddr != addr {
				st := swarm.NodeStatus{State: swarm.NodeStateReady, Addr: dispatchapi.Host(addr), ClusterAddr: addr}
				out = append(out, store.NodeChange{ID: n.ID, From: n.Status.State, Status: st})
			}
			continue
		}
		next := nextState(n.Status.State, silence[i], spec)
		if next == swarm.NodeStateDown && lv.holding {
			next = swarm.NodeStateUnknown
		}
		if next == n.Status.State {
			continue
		}
		st := n.Status
		st.State, st.Message = next, "heartbeat failure"
		if n.Status.State == swarm.NodeStateReady || st.LastSeen.IsZero() {
			st.LastSeen = heard[i].UTC()
		}
		out = append(out, store.NodeChange{ID: n.ID, From: n.Status.State, Status: st})
	}
	return out, next
}

// nextThreshold is how much longer a node in state cur, silent for
// silent, must stay silent before nextState gives another state; false
// when it already would, or never will.
func nextThreshold(cur swarm.NodeState, silent time.Duration, spec swarm.DispatcherSpec) (time.Duration, bool) {
	switch {
	case cur == swarm.NodeStateDown || silent >= spec.NodeDownGrace:
		return 0, false
	case cur == swarm.NodeStateReady && silent < 2*spec.HeartbeatPeriod:
		return 2*spec.HeartbeatPeriod - silent, true
	}
	return spec.NodeDownGrace - silent, true
}

// massSilenceMin is the number of nodes (not already Down) from which
// mass silence holds back Down verdicts.
//
// When at least half of those nodes are silent at once, the likelier cause
// is this leader (overloaded, or cut off from them) rather than that half
// the swarm died together: the silent nodes go Unknown but not Down, so
// their tasks are not rescheduled, until fewer than half are silent. On a
// loaded 2-core machine with 1,000 nodes, a burst of work on the leader
// kept heartbeats waiting past the grace period; marking those nodes Down
// rescheduled thousands of tasks, which loaded the leader further: tasks
// per second fell from 2,000 to under 200. (Kubernetes' node lifecycle
// controller stops evictions in a zone whose nodes mostly fail together,
// for the same reason.) Smaller swarms, and a tenth of the nodes dying,
// are handled as before.
const massSilenceMin = 10

// hold records whether Down verdicts are held back, and says so when
// that changes.
func (lv *liveness) hold(log *slog.Logger, hold bool, silent, live int) {
	if hold == lv.holding {
		return
	}
	lv.holding = hold
	if hold {
		log.Warn("most nodes are silent at once: not marking them down while that lasts (this leader may be overloaded or cut off)",
			"silent", silent, "nodes", live)
	} else {
		log.Info("most nodes are heard from again: silent nodes are marked down as usual", "silent", silent, "nodes", live)
	}
}

// write proposes liveness changes as one command.
func (d *Dispatcher) write(ctx context.Context, changes []store.NodeChange) {
	if err := store.ProposeSplit(ctx, d.cfg.Proposer, store.NewUpdateNodeStatuses(changes)); err != nil {
		d.cfg.Logger.Debug("node status write failed", "nodes", len(changes), "err", err)
		return
	}
	for _, c := range changes {
		d.cfg.Logger.Info("node liveness changed", "node", c.ID, "state", c.Status.State)
	}
}

// nextState is the liveness rule: silent for two periods is Unknown,
// silent for the grace period is Down. nextThreshold tells when it next
// changes its answer; the two must keep the same thresholds.
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
	if err := swarm.CheckAddr(req.Addr); err != nil {
		return dispatchapi.HeartbeatResponse{}, err
	}
	select {
	case <-d.doneCh: // checked first: the buffered channel would take it
		return dispatchapi.HeartbeatResponse{}, swarm.ErrNoLeader
	default:
	}
	// A node to bring back to Ready is written by the loop, with the others
	// due (see Run).
	revive := n.Status.State != swarm.NodeStateReady || n.Status.ClusterAddr != req.Addr
	select {
	case d.beatCh <- beat{id: id, addr: req.Addr, sent: req.Sent, revive: revive}:
	case <-d.doneCh:
		return dispatchapi.HeartbeatResponse{}, swarm.ErrNoLeader
	case <-ctx.Done():
		return dispatchapi.HeartbeatResponse{}, ctx.Err()
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

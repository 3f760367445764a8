package consensus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Config configures a manager's Raft member.
type Config struct {
	ID   swarm.NodeID
	Addr string // advertised cluster address, host:port
	Dir  string // where the log, stable store and snapshots live
	// Bootstrap makes a one-member cluster if Dir holds no Raft state yet.
	Bootstrap bool
	Spec      swarm.RaftSpec
	Logger    *slog.Logger
	// RaftLogOutput receives hashicorp/raft's own log; nil discards it.
	RaftLogOutput io.Writer
	// SnapshotBytes, if not zero, replaces DefaultSnapshotBytes (tests).
	SnapshotBytes int
}

// DefaultSnapshotBytes: a member also takes a snapshot once the commands
// applied since its last one reach this size, whatever their number
// (Docker's SnapshotInterval counts entries). shoal's entries are batches
// (up to 2,000 new tasks, a thousand nodes' status reports), so 10,000 of
// them can be hundreds of MiB, and a restarted member replays every entry
// after its last snapshot before it can lead or serve reads: on a loaded
// 2-core machine a member restarted a few seconds before its election
// needed a second to catch up, and failovers took 2 s in the median,
// against 1.4 s with snapshots every 500 entries.
const DefaultSnapshotBytes = 4 << 20

// Member is a Raft voter as the local node knows it.
type Member struct {
	ID           swarm.NodeID
	Addr         string
	Leader       bool
	Reachability swarm.Reachability
}

// Raft is one manager's consensus member.
type Raft struct {
	cfg       Config
	raft      *raft.Raft
	transport *raft.NetworkTransport
	bolt      *raftboltdb.BoltStore
	log       *slog.Logger

	observerCh chan raft.Observation
	observer   *raft.Observer
	stopCh     chan struct{}
	snapshots  sync.WaitGroup // snapshotWhenDue
	doneCh     chan struct{}
	changes    chan struct{} // coalescing: one pending signal at most

	// appliedTerm is the latest term in which a barrier of this member's
	// was applied: as leader of that term, its store is complete.
	appliedTerm atomic.Uint64
	// pauses tells VerifyLeader when this process may just have been
	// stopped (see pauseClock).
	pauses pauseClock

	mu sync.Mutex
	// failing: since when the leader's heartbeats to each member have
	// failed (absent: they succeed); reset on leader change. See
	// unreachableAfter.
	failing    map[raft.ServerID]time.Time
	lastLeader raft.ServerID // the last leader other than this member
}

// New opens (or creates) the Raft state in cfg.Dir and starts the member.
func New(cfg Config, st *store.Store, layer raft.StreamLayer) (*Raft, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(cfg.Dir, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("consensus: open log: %w", err)
	}
	r, err := start(cfg, st, layer, bolt)
	if err != nil {
		bolt.Close()
		return nil, err
	}
	return r, nil
}

func raftConfig(cfg Config) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	applySpec(rc, cfg.Spec)
	out := cfg.RaftLogOutput
	if out == nil {
		out = io.Discard
	}
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: out})
	return rc
}

// applySpec maps Docker's Raft settings onto hashicorp/raft's.
func applySpec(rc *raft.Config, spec swarm.RaftSpec) {
	timeout := spec.ElectionTimeout()
	rc.HeartbeatTimeout = timeout
	rc.ElectionTimeout = timeout
	// A leader steps down when it has not heard from a quorum for this
	// long; a longer lease rides out scheduling hiccups on a loaded machine
	// without slowing failover (followers act on HeartbeatTimeout).
	rc.LeaderLeaseTimeout = timeout
	rc.CommitTimeout = 20 * time.Millisecond
	rc.SnapshotThreshold = spec.SnapshotInterval
	// How often the threshold is checked (a comparison of two indexes): at
	// hashicorp/raft's 120 s default, or the 30 s used before, a manager
	// restarted soon after the log crossed the threshold still replayed it
	// all.
	rc.SnapshotInterval = 5 * time.Second
	rc.TrailingLogs = spec.LogEntriesForSlowFollowers
}

func start(cfg Config, st *store.Store, layer raft.StreamLayer, bolt *raftboltdb.BoltStore) (*Raft, error) {
	rc := raftConfig(cfg)
	logs, err := raft.NewLogCache(512, bolt)
	if err != nil {
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, int(cfg.Spec.KeepOldSnapshots)+1, rc.Logger)
	if err != nil {
		return nil, fmt.Errorf("consensus: snapshots: %w", err)
	}
	trans := raft.NewNetworkTransportWithLogger(layer, 3, 2*time.Second, rc.Logger)
	if cfg.Bootstrap {
		if err := bootstrap(rc, bolt, logs, snaps, trans); err != nil {
			trans.Close()
			return nil, err
		}
	}
	limit := cfg.SnapshotBytes
	if limit == 0 {
		limit = DefaultSnapshotBytes
	}
	f := &fsm{st: st, log: cfg.Logger, snapshotBytes: limit, due: make(chan struct{}, 1)}
	ra, err := raft.NewRaft(rc, f, logs, bolt, snaps, trans)
	if err != nil {
		trans.Close()
		return nil, fmt.Errorf("consensus: start raft: %w", err)
	}
	r := &Raft{
		cfg: cfg, raft: ra, transport: trans, bolt: bolt, log: cfg.Logger,
		observerCh: make(chan raft.Observation, 64),
		stopCh:     make(chan struct{}),
		doneCh:     make(chan struct{}),
		changes:    make(chan struct{}, 1),
		failing:    map[raft.ServerID]time.Time{},
	}
	r.observer = raft.NewObserver(r.observerCh, false, nil)
	ra.RegisterObserver(r.observer)
	go r.observe()
	r.snapshots.Go(func() { r.snapshotWhenDue(f.due) })
	return r, nil
}

func bootstrap(rc *raft.Config, bolt *raftboltdb.BoltStore, logs raft.LogStore, snaps raft.SnapshotStore, trans raft.Transport) error {
	has, err := raft.HasExistingState(logs, bolt, snaps)
	if err != nil || has {
		return err
	}
	conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: trans.LocalAddr()}}}
	if err := raft.BootstrapCluster(rc, logs, bolt, snaps, trans, conf); err != nil {
		return fmt.Errorf("consensus: bootstrap: %w", err)
	}
	return nil
}

// snapshotWhenDue takes a snapshot each time the FSM says enough bytes
// were applied since the last one, until Shutdown. One at a time: a
// signal that arrives during a snapshot asks for the next.
func (r *Raft) snapshotWhenDue(due <-chan struct{}) {
	for {
		select {
		case <-r.stopCh:
			return
		case <-due:
			if err := r.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
				r.log.Debug("snapshot by size failed", "err", err)
			}
		}
	}
}

// observe owns the reachability map's updates and turns Raft observations
// into coalesced change signals.
func (r *Raft) observe() {
	defer close(r.doneCh)
	tick := time.NewTicker(pauseTick)
	defer tick.Stop()
	r.pauses.tick(time.Now(), r.pauseThreshold())
	for {
		select {
		case <-r.stopCh:
			return
		case o := <-r.observerCh:
			r.record(o)
		case now := <-tick.C:
			r.pauses.tick(now, r.pauseThreshold())
		}
	}
}

// pauseThreshold is the gap between ticks taken for a pause: half the
// election timeout (followers can elect another leader only after that
// long without this member's heartbeats).
func (r *Raft) pauseThreshold() time.Duration { return r.spec().ElectionTimeout() / 2 }

func (r *Raft) record(o raft.Observation) {
	switch d := o.Data.(type) {
	case raft.FailedHeartbeatObservation:
		r.setUnreachable(d.PeerID, true)
	case raft.ResumedHeartbeatObservation:
		r.setUnreachable(d.PeerID, false)
	case raft.LeaderObservation:
		r.mu.Lock()
		r.failing = map[raft.ServerID]time.Time{}
		if d.LeaderID != "" && d.LeaderID != raft.ServerID(r.cfg.ID) {
			r.lastLeader = d.LeaderID
		}
		r.mu.Unlock()
	case raft.RaftState:
		r.mu.Lock()
		r.failing = map[raft.ServerID]time.Time{}
		r.mu.Unlock()
	case raft.PeerObservation:
	default:
		return
	}
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

func (r *Raft) setUnreachable(id raft.ServerID, v bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !v {
		delete(r.failing, id)
	} else if _, ok := r.failing[id]; !ok {
		r.failing[id] = time.Now()
	}
}

// unreachableAfter is how long the leader's heartbeats to a member must
// have failed before it reads Unreachable: one failure that the next
// heartbeat makes good (a connection closed under it, as when a member
// renews its certificate and its old connections are closed) is not a
// member gone. A dead member reads Unreachable this long after its
// first failed heartbeat.
const unreachableAfter = 250 * time.Millisecond

// unreachable says whether the leader's heartbeats to id have failed for
// unreachableAfter. The caller holds r.mu.
func (r *Raft) unreachable(id raft.ServerID, now time.Time) bool {
	since, ok := r.failing[id]
	return ok && now.Sub(since) >= unreachableAfter
}

// Changes delivers a signal after leadership, membership or reachability
// changed. Signals coalesce: re-read the state after each.
func (r *Raft) Changes() <-chan struct{} { return r.changes }

// IsLeader reports whether this member is the leader now.
func (r *Raft) IsLeader() bool { return r.raft.State() == raft.Leader }

// Term is the member's current Raft term.
func (r *Raft) Term() uint64 { return r.raft.CurrentTerm() }

// ApplyLag is how many entries of this member's log its store has not
// applied yet (a restarted member replays its whole log after the last
// snapshot).
func (r *Raft) ApplyLag() uint64 {
	last, applied := r.raft.LastIndex(), r.raft.AppliedIndex()
	if applied >= last {
		return 0
	}
	return last - applied
}

// Leader returns the current leader as this member knows it, or empty
// values if there is none.
func (r *Raft) Leader() (swarm.NodeID, string) {
	addr, id := r.raft.LeaderWithID()
	return swarm.NodeID(id), string(addr)
}

// PreviousLeader returns the last leader other than this member and when
// this member last heard from a leader: on a new leader, that is when the
// old one went silent.
func (r *Raft) PreviousLeader() (swarm.NodeID, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return swarm.NodeID(r.lastLeader), r.raft.LastContact()
}

// Shutdown stops the member and closes its log. It waits for Raft to stop.
func (r *Raft) Shutdown() error {
	err := r.raft.Shutdown().Error()
	r.raft.DeregisterObserver(r.observer)
	close(r.stopCh)
	<-r.doneCh
	r.snapshots.Wait()
	r.transport.Close()
	if cerr := r.bolt.Close(); err == nil {
		err = cerr
	}
	return err
}

// mapErr turns Raft's errors into the swarm error a user should see.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrRaftShutdown),
		errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, context.DeadlineExceeded):
		return swarm.ErrNoLeader
	}
	return fmt.Errorf("consensus: %w", err)
}

package consensus

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// future is what every hashicorp/raft call returns.
type future interface{ Error() error }

// wait waits for f, or for ctx. A future abandoned on ctx is still resolved
// by Raft later (commit, or leadership loss), so its goroutine ends.
func wait(ctx context.Context, f future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Propose writes cmd through Raft and returns once it is committed and
// applied here, with the store's verdict. Only the leader may propose.
func (r *Raft) Propose(ctx context.Context, cmd *store.Command) error {
	if !r.IsLeader() {
		return swarm.ErrNoLeader
	}
	b, err := cmd.Encode()
	if err != nil {
		return err
	}
	f := r.raft.Apply(b, r.spec().ElectionTimeout())
	if err := wait(ctx, f); err != nil {
		r.log.Debug("propose failed", "op", cmd.Op, "err", err)
		return mapErr(err)
	}
	if res, ok := f.Response().(applyResult); ok {
		return res.err
	}
	return nil
}

// VerifyLeader confirms with a quorum that this member is still the leader,
// and that its store holds every entry committed before its term, so that
// a read served here is not stale. A new leader may not have applied its
// predecessor's last entries yet (the followers learn that an entry is
// committed only from the next append): until a barrier of its own term
// has been applied, it waits for one. Just after this process was paused,
// it commits a barrier instead of asking for heartbeats (see pauseClock).
func (r *Raft) VerifyLeader(ctx context.Context) error {
	if r.appliedTerm.Load() != r.raft.CurrentTerm() {
		if err := r.Barrier(ctx); err != nil {
			return err
		}
	}
	// Just after a pause, stale heartbeat replies could confirm a deposed
	// leader (see pauseClock): commit a barrier instead.
	if r.pauses.suspect(time.Now(), r.pauseThreshold(), 2*r.spec().ElectionTimeout()) {
		return r.Barrier(ctx)
	}
	return mapErr(wait(ctx, r.raft.VerifyLeader()))
}

// Barrier waits until every committed entry is applied to the store here.
// On the leader, it also marks the term as readable (see VerifyLeader).
func (r *Raft) Barrier(ctx context.Context) error {
	term := r.raft.CurrentTerm()
	if err := mapErr(wait(ctx, r.raft.Barrier(r.spec().ElectionTimeout()))); err != nil {
		return err
	}
	// The barrier entry was appended by the leader of some term >= term
	// and is applied here; if that is still term, everything committed
	// before this term is in the store.
	if r.raft.CurrentTerm() == term {
		r.appliedTerm.Store(term)
	}
	return nil
}

// AddVoter makes id at addr a voting member. The new member must already be
// running, or the cluster may lose its quorum while it is unreachable.
func (r *Raft) AddVoter(ctx context.Context, id swarm.NodeID, addr string) error {
	return mapErr(wait(ctx, r.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, r.timeout())))
}

// RemoveServer removes id from the membership.
func (r *Raft) RemoveServer(ctx context.Context, id swarm.NodeID) error {
	return mapErr(wait(ctx, r.raft.RemoveServer(raft.ServerID(id), 0, r.timeout())))
}

// TransferLeadership hands leadership to another voter and waits until it
// took it.
func (r *Raft) TransferLeadership(ctx context.Context) error {
	return mapErr(wait(ctx, r.raft.LeadershipTransfer()))
}

func (r *Raft) timeout() time.Duration { return 4 * r.spec().ElectionTimeout() }

func (r *Raft) spec() swarm.RaftSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.Spec
}

// Members lists the voters with their health as this member sees it: the
// leader knows who answers its heartbeats; a follower reports every other
// member as unknown.
func (r *Raft) Members() ([]Member, error) {
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, mapErr(err)
	}
	leaderAddr, leaderID := r.raft.LeaderWithID()
	isLeader := r.IsLeader()
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Member
	for _, s := range f.Configuration().Servers {
		m := Member{ID: swarm.NodeID(s.ID), Addr: string(s.Address), Leader: s.ID == leaderID && leaderAddr != ""}
		switch {
		case m.Leader || s.ID == raft.ServerID(r.cfg.ID):
			m.Reachability = swarm.ReachabilityReachable
		case !isLeader:
			m.Reachability = swarm.ReachabilityUnknown
		case r.unreachable(s.ID, now):
			m.Reachability = swarm.ReachabilityUnreachable
		default:
			m.Reachability = swarm.ReachabilityReachable
		}
		out = append(out, m)
	}
	return out, nil
}

// UpdateSpec applies changed Raft settings without a restart.
func (r *Raft) UpdateSpec(spec swarm.RaftSpec) error {
	rc := r.raft.ReloadableConfig()
	timeout := spec.ElectionTimeout()
	rc.HeartbeatTimeout, rc.ElectionTimeout = timeout, timeout
	rc.SnapshotThreshold = spec.SnapshotInterval
	rc.TrailingLogs = spec.LogEntriesForSlowFollowers
	if err := r.raft.ReloadConfig(rc); err != nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "raft settings: %v", err)
	}
	r.mu.Lock()
	r.cfg.Spec = spec
	r.mu.Unlock()
	return nil
}

// Stats exposes hashicorp/raft's counters for diagnostics.
func (r *Raft) Stats() map[string]string { return r.raft.Stats() }

package swarm

import (
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// RaftTick is the unit of the Raft settings' ticks: HeartbeatTick and
// ElectionTick are counted in it. Swarm's tick is one second; shoal's is
// shorter so that a leader's death is noticed in well under two seconds.
const RaftTick = 100 * time.Millisecond

// Defaults of a new cluster's spec.
const (
	DefaultTaskHistoryRetention int64  = 5
	DefaultSnapshotInterval     uint64 = 10000
	DefaultKeepOldSnapshots     uint64 = 0
	DefaultLogEntriesForSlow    uint64 = 500
	DefaultHeartbeatTick               = 1
	DefaultElectionTick                = 5
	DefaultHeartbeatPeriod             = time.Second
	DefaultNodeDownGrace               = 3 * time.Second
	DefaultNodeCertExpiry              = 90 * 24 * time.Hour
	// MinNodeCertExpiry is the shortest certificate lifetime a cluster
	// accepts, swarmkit's (ca.MinNodeCertExpiration).
	MinNodeCertExpiry  = time.Hour
	minHeartbeatPeriod = 100 * time.Millisecond
)

// OrchestrationSpec holds settings of the orchestrator.
type OrchestrationSpec struct {
	// TaskHistoryRetentionLimit is how many tasks each slot keeps.
	TaskHistoryRetentionLimit int64
}

// RaftSpec holds the managers' consensus settings.
type RaftSpec struct {
	// SnapshotInterval is the number of log entries between snapshots.
	SnapshotInterval uint64
	// KeepOldSnapshots is how many snapshots are kept besides the newest.
	KeepOldSnapshots uint64
	// LogEntriesForSlowFollowers is how many entries are kept after a
	// snapshot so that a slow follower can catch up without it.
	LogEntriesForSlowFollowers uint64
	// HeartbeatTick is the leader's heartbeat interval, in RaftTick units.
	HeartbeatTick int
	// ElectionTick is how long a follower waits without hearing from the
	// leader before it stands for election, in RaftTick units.
	ElectionTick int
}

// ElectionTimeout is ElectionTick as a duration.
func (r RaftSpec) ElectionTimeout() time.Duration {
	return time.Duration(r.ElectionTick) * RaftTick
}

// DispatcherSpec holds the settings of worker sessions.
type DispatcherSpec struct {
	// HeartbeatPeriod is how often a node reports to the managers.
	HeartbeatPeriod time.Duration
	// NodeDownGrace is how long a node may stay silent before it is
	// declared down. It is a shoal setting; Swarm derives it from the period.
	NodeDownGrace time.Duration
}

// CASpec holds the certificate authority's settings.
type CASpec struct {
	// NodeCertExpiry is the validity of issued node certificates.
	NodeCertExpiry time.Duration
}

// ClusterSpec is the part of the cluster users change with swarm update.
type ClusterSpec struct {
	Name          string
	Labels        map[string]string
	Orchestration OrchestrationSpec
	Raft          RaftSpec
	Dispatcher    DispatcherSpec
	CA            CASpec
	// AutoLockManagers is recorded but not supported yet.
	AutoLockManagers bool
}

// DefaultClusterSpec returns the spec of a new cluster.
func DefaultClusterSpec() ClusterSpec {
	return ClusterSpec{
		Name:          "default",
		Orchestration: OrchestrationSpec{TaskHistoryRetentionLimit: DefaultTaskHistoryRetention},
		Raft: RaftSpec{
			SnapshotInterval:           DefaultSnapshotInterval,
			KeepOldSnapshots:           DefaultKeepOldSnapshots,
			LogEntriesForSlowFollowers: DefaultLogEntriesForSlow,
			HeartbeatTick:              DefaultHeartbeatTick,
			ElectionTick:               DefaultElectionTick,
		},
		Dispatcher: DispatcherSpec{HeartbeatPeriod: DefaultHeartbeatPeriod, NodeDownGrace: DefaultNodeDownGrace},
		CA:         CASpec{NodeCertExpiry: DefaultNodeCertExpiry},
	}
}

// Validate checks a cluster spec, with Docker's wording where it has one.
func (s ClusterSpec) Validate() error {
	switch {
	case s.Orchestration.TaskHistoryRetentionLimit < 0:
		return Errorf(ErrInvalidArgument, "task history retention limit must be non-negative")
	case s.Raft.SnapshotInterval == 0:
		return Errorf(ErrInvalidArgument, "raft snapshot interval must be positive")
	case s.Raft.HeartbeatTick < 1:
		return Errorf(ErrInvalidArgument, "heartbeat tick must be at least 1")
	case s.Raft.ElectionTick <= s.Raft.HeartbeatTick:
		return Errorf(ErrInvalidArgument, "election tick must be greater than heartbeat tick")
	case s.Dispatcher.HeartbeatPeriod < minHeartbeatPeriod:
		return Errorf(ErrInvalidArgument, "heartbeat period must be at least %s", minHeartbeatPeriod)
	case s.Dispatcher.NodeDownGrace < s.Dispatcher.HeartbeatPeriod:
		return Errorf(ErrInvalidArgument, "node down grace period must be at least the heartbeat period")
	case s.CA.NodeCertExpiry < minNodeCertExpiry():
		return Errorf(ErrInvalidArgument, "minimum certificate expiry time is: %s", minNodeCertExpiry())
	}
	if err := checkName("cluster", s.Name); err != nil {
		return err
	}
	return checkLabels("cluster", s.Labels)
}

// RootCA is the cluster's certificate authority, replicated so that any
// manager can sign node certificates.
type RootCA struct {
	CertPEM []byte
	KeyPEM  []byte
}

// JoinTokens are the secrets a node presents to join as a worker or manager.
type JoinTokens struct {
	Worker  string
	Manager string
}

// Cluster is the swarm itself: one object per store.
type Cluster struct {
	ID ClusterID
	Meta
	Spec       ClusterSpec
	RootCA     RootCA
	JoinTokens JoinTokens
	// RemovedNodes lists nodes removed with node rm: their certificates are
	// refused from then on.
	RemovedNodes []NodeID
}

// IsRemoved reports whether id was removed from the cluster.
func (c *Cluster) IsRemoved(id NodeID) bool { return slices.Contains(c.RemovedNodes, id) }

// Copy returns a deep copy that may be modified.
func (c *Cluster) Copy() *Cluster {
	d := *c
	d.Spec.Labels = maps.Clone(c.Spec.Labels)
	d.RemovedNodes = slices.Clone(c.RemovedNodes)
	d.RootCA.CertPEM = slices.Clone(c.RootCA.CertPEM)
	d.RootCA.KeyPEM = slices.Clone(c.RootCA.KeyPEM)
	return &d
}

// testMinNodeCertExpiry, when positive, replaces MinNodeCertExpiry: see
// SetTestMinNodeCertExpiry.
var testMinNodeCertExpiry atomic.Int64

// SetTestMinNodeCertExpiry lets this process accept certificate lifetimes
// down to d, for tests only: the daemon calls it when started with
// SHOAL_TEST_MIN_CERT_EXPIRY (node.EnvTestMinCertExpiry). A test of
// renewal across several certificate lifetimes with real daemons then
// takes a minute instead of three hours. A short real lifetime was chosen
// over an injectable clock: the daemons are separate processes, and a
// clock they all follow would have to reach crypto/tls's verification in
// each, the signer, and every timer of Raft, sessions and the renewal
// schedule; with a short lifetime the code that runs is exactly the code
// that runs in production, only sooner. d <= 0 restores the minimum.
func SetTestMinNodeCertExpiry(d time.Duration) { testMinNodeCertExpiry.Store(int64(d)) }

func minNodeCertExpiry() time.Duration {
	if d := time.Duration(testMinNodeCertExpiry.Load()); d > 0 {
		return d
	}
	return MinNodeCertExpiry
}

package dockerapi

import (
	"maps"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// MetaFromDomain gives an object's version and times in wire form: the
// version is Version.Index, the times are in UTC.
func MetaFromDomain(m swarm.Meta) wire.Meta {
	return wire.Meta{
		Version:   wire.Version{Index: m.Version},
		CreatedAt: m.CreatedAt.UTC(),
		UpdatedAt: m.UpdatedAt.UTC(),
	}
}

// SwarmFromDomain is the answer to GET /swarm: the cluster with its join
// tokens. It fails only if the stored root CA certificate cannot be parsed.
func SwarmFromDomain(c *swarm.Cluster) (wire.Swarm, error) {
	info, err := ClusterInfoFromDomain(c)
	if err != nil {
		return wire.Swarm{}, err
	}
	return wire.Swarm{
		ClusterInfo: info,
		JoinTokens:  wire.JoinTokens{Worker: c.JoinTokens.Worker, Manager: c.JoinTokens.Manager},
	}, nil
}

// ClusterInfoFromDomain is the cluster as GET /info shows it: the swarm
// without its join tokens. shoal has no overlay networks, so the address pool,
// subnet size and data path port stay zero.
func ClusterInfoFromDomain(c *swarm.Cluster) (wire.ClusterInfo, error) {
	tls, err := TLSInfoFromPEM(c.RootCA.CertPEM)
	if err != nil {
		return wire.ClusterInfo{}, err
	}
	return wire.ClusterInfo{
		ID:      string(c.ID),
		Meta:    MetaFromDomain(c.Meta),
		Spec:    SpecFromDomain(c.Spec),
		TLSInfo: tls,
	}, nil
}

// SpecFromDomain gives a cluster spec in wire form. Raft ticks are passed
// through as counts of swarm.RaftTick. NodeDownGrace has no wire field and is
// not shown; ClusterSpecFromWire keeps it across a round trip.
func SpecFromDomain(s swarm.ClusterSpec) wire.Spec {
	retention := s.Orchestration.TaskHistoryRetentionLimit
	keepOld := s.Raft.KeepOldSnapshots
	labels := labelsToWire(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelNodeDownGrace] = s.Dispatcher.NodeDownGrace.String()
	return wire.Spec{
		Annotations:   wire.Annotations{Name: s.Name, Labels: labels},
		Orchestration: wire.OrchestrationConfig{TaskHistoryRetentionLimit: &retention},
		Raft: wire.RaftConfig{
			SnapshotInterval:           s.Raft.SnapshotInterval,
			KeepOldSnapshots:           &keepOld,
			LogEntriesForSlowFollowers: s.Raft.LogEntriesForSlowFollowers,
			ElectionTick:               s.Raft.ElectionTick,
			HeartbeatTick:              s.Raft.HeartbeatTick,
		},
		Dispatcher:       wire.DispatcherConfig{HeartbeatPeriod: s.Dispatcher.HeartbeatPeriod},
		CAConfig:         wire.CAConfig{NodeCertExpiry: s.CA.NodeCertExpiry},
		EncryptionConfig: wire.EncryptionConfig{AutoLockManagers: s.AutoLockManagers},
	}
}

// LabelNodeDownGrace carries the dispatcher's NodeDownGrace in the cluster
// spec's labels: the Docker API has no field for it, and a label survives
// the docker CLI's read-modify-write of the spec. `shoal swarm update
// --node-down-grace` sets it.
const LabelNodeDownGrace = "com.shoal.dispatcher.node-down-grace"

// ClusterSpecFromWire overlays a spec read from the wire on base: a field that
// is absent or zero on the wire keeps base's value. It serves both swarm init
// (base = swarm.DefaultClusterSpec()) and swarm update (base = the current
// spec), so that settings the docker CLI does not know, such as
// NodeDownGrace, survive a docker round trip.
//
// Labels replace base's when the wire carries a map, even an empty one.
// AutoLockManagers is a plain bool on the wire and is always taken from it.
// Fields shoal does not support (external CAs, signing certificates, task
// defaults) are ignored.
func ClusterSpecFromWire(w wire.Spec, base swarm.ClusterSpec) swarm.ClusterSpec {
	s := base
	s.Labels = maps.Clone(base.Labels)
	if w.Name != "" {
		s.Name = w.Name
	}
	if w.Labels != nil {
		s.Labels = maps.Clone(w.Labels)
		if v, ok := s.Labels[LabelNodeDownGrace]; ok {
			if d, err := time.ParseDuration(v); err == nil {
				s.Dispatcher.NodeDownGrace = d
			} else {
				s.Dispatcher.NodeDownGrace = -1 // fails validation with a clear message
			}
			delete(s.Labels, LabelNodeDownGrace)
		}
	}
	if v := w.Orchestration.TaskHistoryRetentionLimit; v != nil {
		s.Orchestration.TaskHistoryRetentionLimit = *v
	}
	s.Raft = raftFromWire(w.Raft, base.Raft)
	if v := w.Dispatcher.HeartbeatPeriod; v != 0 {
		s.Dispatcher.HeartbeatPeriod = v
	}
	if v := w.CAConfig.NodeCertExpiry; v != 0 {
		s.CA.NodeCertExpiry = v
	}
	s.AutoLockManagers = w.EncryptionConfig.AutoLockManagers
	return s
}

func raftFromWire(w wire.RaftConfig, base swarm.RaftSpec) swarm.RaftSpec {
	r := base
	if w.SnapshotInterval != 0 {
		r.SnapshotInterval = w.SnapshotInterval
	}
	if w.KeepOldSnapshots != nil {
		r.KeepOldSnapshots = *w.KeepOldSnapshots
	}
	if w.LogEntriesForSlowFollowers != 0 {
		r.LogEntriesForSlowFollowers = w.LogEntriesForSlowFollowers
	}
	if w.ElectionTick != 0 {
		r.ElectionTick = w.ElectionTick
	}
	if w.HeartbeatTick != 0 {
		r.HeartbeatTick = w.HeartbeatTick
	}
	return r
}

// labelsToWire copies labels into a non-nil map: Docker shows "Labels": {}
// rather than null, and `docker node update` relies on a map to add to.
func labelsToWire(l map[string]string) map[string]string {
	out := make(map[string]string, len(l))
	maps.Copy(out, l)
	return out
}

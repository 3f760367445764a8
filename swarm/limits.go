package swarm

import (
	"encoding/json"
	"unicode/utf8"
)

// Limits on what a user or a joining node may store. Docker has none of
// these but the 63-character service name (swarmkit bounds only the whole
// Raft entry, MaxCommandBytes); shoal refuses more than these before
// anything is written, because whatever is stored is replayed by every
// manager at every restart, listed by every `ls`, and copied into every
// task. Each limit is far above what a real spec needs.
const (
	// MaxReplicas is the most tasks a replicated service may ask for: ten
	// times the largest service benchmarked (10,000 tasks on 1,000 nodes).
	// A task costs every manager about 2 KB of memory: 100,000 tasks are
	// 205 MB of heap, created in one 5 s orchestrator pass (53 commands),
	// then 0.2 s a pass. 2^64-1 replicas made the orchestrator panic, 10^9
	// ran it out of memory. Docker has no limit.
	MaxReplicas = 100_000
	// MaxLabelBytes bounds one object's labels: keys and values together.
	MaxLabelBytes = 64 << 10
	// MaxNameBytes bounds node and cluster names (service names follow
	// Docker's 63-character DNS rule).
	MaxNameBytes = 255
	// MaxDescriptionBytes bounds each string a joining node reports about
	// itself (hostname, OS, architecture, engine version, runtime): a
	// hostname is at most 253 bytes in DNS, 64 on Linux.
	MaxDescriptionBytes = 255
	// MaxAddrBytes bounds a node's advertised address (host:port).
	MaxAddrBytes = 512
	// MaxSpecBytes bounds a service spec encoded as JSON: an update stores
	// the spec with its previous one, and both must fit in one Raft entry
	// (MaxCommandBytes) with room to spare.
	MaxSpecBytes = 512 << 10
	// MaxCommandBytes bounds one encoded Raft command, as swarmkit bounds
	// its proposals (1.5 MB): a larger entry slows every append,
	// replication and replay, and no legitimate command needs it.
	MaxCommandBytes = 1536 << 10
	// MaxStatusTextBytes bounds each text of a task status a node reports
	// (message, error, container ID); longer ones are cut.
	MaxStatusTextBytes = 1 << 10
)

// checkLimits refuses a service spec beyond the limits above, and negative
// restart delays and windows (in swarmkit's words).
func (s ServiceSpec) checkLimits() error {
	if s.Replicas > MaxReplicas {
		return Errorf(ErrInvalidArgument, "invalid replicas value %d: a service may have at most %d replicas", s.Replicas, MaxReplicas)
	}
	rp := s.Task.RestartPolicy
	if rp.Delay != nil && *rp.Delay < 0 {
		return Errorf(ErrInvalidArgument, "TaskSpec: restart-delay cannot be negative")
	}
	if rp.Window != nil && *rp.Window < 0 {
		return Errorf(ErrInvalidArgument, "TaskSpec: restart-window cannot be negative")
	}
	if err := checkLabels("service", s.Labels); err != nil {
		return err
	}
	if err := checkLabels("container", s.Task.Container.Labels); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return Errorf(ErrInvalidArgument, "service spec: %v", err)
	}
	if len(b) > MaxSpecBytes {
		return Errorf(ErrInvalidArgument, "service spec is too large: %d bytes encoded, at most %d", len(b), MaxSpecBytes)
	}
	return nil
}

// checkLabels refuses labels larger than MaxLabelBytes in all.
func checkLabels(of string, labels map[string]string) error {
	n := 0
	for k, v := range labels {
		n += len(k) + len(v)
	}
	if n > MaxLabelBytes {
		return Errorf(ErrInvalidArgument, "%s labels are too large: %d bytes (keys and values), at most %d", of, n, MaxLabelBytes)
	}
	return nil
}

// checkName refuses a node or cluster name longer than MaxNameBytes.
func checkName(of, name string) error {
	if len(name) > MaxNameBytes {
		return Errorf(ErrInvalidArgument, "%s name is too long: %d bytes, at most %d", of, len(name), MaxNameBytes)
	}
	return nil
}

// Validate checks what a joining node says about itself.
func (d NodeDescription) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"hostname", d.Hostname}, {"OS", d.OS}, {"architecture", d.Architecture},
		{"engine version", d.EngineVersion}, {"runtime", d.Runtime},
	} {
		if len(f.value) > MaxDescriptionBytes {
			return Errorf(ErrInvalidArgument, "node %s is too long: %d bytes, at most %d", f.name, len(f.value), MaxDescriptionBytes)
		}
	}
	if d.NanoCPUs < 0 || d.MemoryBytes < 0 {
		return Errorf(ErrInvalidArgument, "node resources must not be negative")
	}
	return nil
}

// CheckAddr refuses an advertised address longer than MaxAddrBytes.
func CheckAddr(addr string) error {
	if len(addr) > MaxAddrBytes {
		return Errorf(ErrInvalidArgument, "node address is too long: %d bytes, at most %d", len(addr), MaxAddrBytes)
	}
	return nil
}

// CutStatusText shortens a text a node reported to MaxStatusTextBytes,
// marking the cut.
func CutStatusText(s string) string {
	if len(s) <= MaxStatusTextBytes {
		return s
	}
	const mark = "... (cut)"
	end := MaxStatusTextBytes - len(mark)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + mark
}

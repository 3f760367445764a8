package process

import (
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// Defaults.
const (
	// DefaultLogMaxBytes caps the output kept per task (both files).
	DefaultLogMaxBytes = 20 << 20
	// MinLogMaxBytes is the smallest cap accepted.
	MinLogMaxBytes = 4 << 10
	// DefaultCgroupParent is the group, in each cgroup hierarchy, under
	// which tasks get their own groups.
	DefaultCgroupParent = "shoal"
)

// Config is the process runtime's configuration.
type Config struct {
	// StateDir holds a directory per task: its state file, its output and
	// its scratch working directory. Required; it should survive a daemon
	// restart (the runtime finds there the tasks a previous daemon ran).
	StateDir string
	// LogMaxBytes caps each task's kept output: the current file is rotated
	// to a single ".1" file when it reaches half of it, so the newest
	// output, about LogMaxBytes of it, is kept. 0 means the default.
	LogMaxBytes int64
	// CgroupParent is the group under which tasks get a group each, as a
	// path from the root of the cgroup hierarchy (a leading "/" is
	// optional): with DefaultCgroupParent, "shoal", a task's group is
	// <cgroup2 mount>/shoal/<task id> on cgroup v2, and on v1
	// <memory mount>/shoal/<task id> and <cpu mount>/shoal/<task id>, the
	// mounts as found in /proc/self/mountinfo. Empty means
	// DefaultCgroupParent.
	CgroupParent string
	// DisableCgroups runs every task without limits, with a warning.
	DisableCgroups bool
	// Logger receives warnings (limits not applied, processes found after
	// a restart). Nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults, with StateDir to fill in.
func DefaultConfig() Config {
	return Config{LogMaxBytes: DefaultLogMaxBytes, CgroupParent: DefaultCgroupParent}
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.LogMaxBytes == 0 {
		c.LogMaxBytes = DefaultLogMaxBytes
	}
	if c.CgroupParent == "" {
		c.CgroupParent = DefaultCgroupParent
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate checks the configuration (after defaults are applied).
func (c Config) Validate() error {
	switch {
	case c.StateDir == "":
		return swarm.Errorf(swarm.ErrInvalidArgument, "process runtime: a state directory is required")
	case c.LogMaxBytes != 0 && c.LogMaxBytes < MinLogMaxBytes:
		return swarm.Errorf(swarm.ErrInvalidArgument, "process runtime: log size cap %d is below the minimum of %d bytes", c.LogMaxBytes, MinLogMaxBytes)
	case c.CgroupParent != "" && !validCgroupParent(c.CgroupParent):
		return swarm.Errorf(swarm.ErrInvalidArgument, "process runtime: cgroup parent %q must be a clean path of groups from the hierarchy's root, such as %q", c.CgroupParent, DefaultCgroupParent)
	}
	return nil
}

// validCgroupParent accepts a clean path of one group or more, with or
// without a leading "/", that stays inside the hierarchy.
func validCgroupParent(p string) bool {
	p = strings.TrimPrefix(p, "/")
	return p != "" && p != "." && p == filepath.Clean(p) && p != ".." && !strings.HasPrefix(p, "../")
}

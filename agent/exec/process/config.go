package process

import (
	"log/slog"
	"path/filepath"

	"github.com/shoal-project/shoal/swarm"
)

// Defaults.
const (
	// DefaultLogMaxBytes caps the output kept per task (both files).
	DefaultLogMaxBytes = 20 << 20
	// MinLogMaxBytes is the smallest cap accepted.
	MinLogMaxBytes = 4 << 10
	// DefaultCgroupParent is the cgroup v2 group under which each task with
	// resource limits gets its own group.
	DefaultCgroupParent = "/sys/fs/cgroup/shoal"
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
	// CgroupParent is the cgroup v2 directory under which tasks with memory
	// or CPU limits get a group each. Empty means DefaultCgroupParent.
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
	case c.CgroupParent != "" && !filepath.IsAbs(c.CgroupParent):
		return swarm.Errorf(swarm.ErrInvalidArgument, "process runtime: cgroup parent %q must be an absolute path", c.CgroupParent)
	}
	return nil
}

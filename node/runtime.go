package node

import (
	"path/filepath"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/process"
)

// newProcessExecutor makes the process runtime, and settles the processes
// a previous run of this daemon left (see process.Executor.Adopt).
func newProcessExecutor(cfg Config) (exec.Executor, error) {
	pc := process.DefaultConfig()
	pc.StateDir = filepath.Join(cfg.DataRoot, "tasks")
	pc.Logger = cfg.Logger.With("component", "runtime")
	e, err := process.New(pc)
	if err != nil {
		return nil, err
	}
	if ids, err := e.Adopt(); err != nil {
		cfg.Logger.Warn("settling tasks of the previous run", "err", err)
	} else if len(ids) > 0 {
		cfg.Logger.Info("found tasks of the previous run", "tasks", len(ids))
	}
	if err := e.CgroupError(); err != nil {
		cfg.Logger.Info("tasks run without cgroup limits", "reason", err)
	}
	return e, nil
}

package node

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/docker"
	"github.com/shoal-project/shoal/agent/exec/process"
	"github.com/shoal-project/shoal/swarm"
)

// executorFor returns the task runtime chosen by --runtime for the node's
// current identity, making it on first use: the docker runtime labels
// containers with the node ID, so it is made once the node is in a swarm.
// Either runtime first settles what a previous run of this daemon left.
func (n *Node) executorFor(id swarm.NodeID) (exec.Executor, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.executor != nil && n.executorNode == id {
		return n.executor, nil
	}
	if c, ok := n.executor.(io.Closer); ok {
		_ = c.Close()
	}
	n.executor, n.executorNode = nil, ""
	var e exec.Executor
	var err error
	switch n.cfg.Runtime {
	case "docker":
		e, err = newDockerExecutor(n.cfg, id)
	default:
		e, err = newProcessExecutor(n.cfg)
	}
	if err != nil {
		return nil, err
	}
	n.executor, n.executorNode = e, id
	return e, nil
}

// closeExecutor releases the runtime when the daemon stops. It closes it
// under n.mu, as executorFor closes one it replaces, so that ReapOrphans
// never finds a child of a runtime that is gone from n but not yet done
// with its processes.
func (n *Node) closeExecutor() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.executor.(io.Closer); ok {
		_ = c.Close()
	}
	n.executor, n.executorNode = nil, ""
}

// newProcessExecutor makes the process runtime, and settles the processes
// a previous run of this daemon left (see process.Executor.Adopt).
func newProcessExecutor(cfg Config) (exec.Executor, error) {
	// A task run as another user (--user) must reach its work directory:
	// others may traverse the data root, not list it; what it holds stays
	// private by its own modes (0700 directories, 0600 keys and state).
	if fi, err := os.Stat(cfg.DataRoot); err == nil && fi.Mode().Perm()&0o011 != 0o011 {
		if err := os.Chmod(cfg.DataRoot, fi.Mode().Perm()|0o011); err != nil {
			cfg.Logger.Warn("tasks run as another user may not reach their directory", "err", err)
		}
	}
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

// newDockerExecutor makes the docker runtime on the local engine and
// removes the containers a previous run of this node left, so that a slot
// never runs twice (see docker.Executor.Adopt).
func newDockerExecutor(cfg Config, id swarm.NodeID) (exec.Executor, error) {
	e, err := docker.New(docker.Config{NodeID: id, Logger: cfg.Logger.With("component", "runtime")})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Adopt(ctx); err != nil {
		cfg.Logger.Warn("settling containers of the previous run", "err", err)
	}
	return e, nil
}

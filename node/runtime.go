package node

import "github.com/shoal-project/shoal/agent/exec"

// newProcessExecutor makes the process runtime.
// TODO(lead): switch to agent/exec/process once it lands.
func newProcessExecutor(cfg Config) (exec.Executor, error) { return nil, nil }

//go:build !linux

package process

import (
	"errors"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// errUnsupported: the runtime relies on Linux (Pdeathsig, /proc, cgroups).
var errUnsupported = errors.New("process runtime: supported on Linux only")

// ErrProcessLost is what Wait returns for a task whose process was lost
// across a daemon restart.
var ErrProcessLost = errors.New("task: process lost during daemon restart")

// Executor is the process runtime; on this system it cannot run tasks.
type Executor struct{}

// New fails: the process runtime needs Linux.
func New(cfg Config) (*Executor, error) { return nil, errUnsupported }

// Controller fails: the process runtime needs Linux.
func (e *Executor) Controller(t *swarm.Task) (exec.Controller, error) { return nil, errUnsupported }

// Adopt finds nothing.
func (e *Executor) Adopt() ([]swarm.TaskID, error) { return nil, errUnsupported }

// CgroupError says limits are not enforced.
func (e *Executor) CgroupError() error { return errUnsupported }

// CgroupVersion is 0: no limits are enforced.
func (e *Executor) CgroupVersion() int { return 0 }

// Close does nothing.
func (e *Executor) Close() error { return nil }

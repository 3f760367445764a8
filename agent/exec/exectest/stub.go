package exectest

import (
	"context"
	"sync"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// Calls counts the calls made to a stub Controller, per method.
type Calls struct {
	Prepare, Start, Wait, Shutdown, Terminate, Remove, Close, Status, Logs int
}

// Controller is a stub exec.Controller (also a ControllerStatuser and a
// ControllerLogs). Each method counts its call and then calls its Fn field;
// a nil Fn returns nil (zero values). Set the Fn fields before first use;
// the counts are safe to read from any goroutine.
type Controller struct {
	PrepareFn   func(ctx context.Context) error
	StartFn     func(ctx context.Context) error
	WaitFn      func(ctx context.Context) error
	ShutdownFn  func(ctx context.Context) error
	TerminateFn func(ctx context.Context) error
	RemoveFn    func(ctx context.Context) error
	CloseFn     func() error
	StatusFn    func() swarm.TaskStatus
	LogsFn      func(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error

	mu    sync.Mutex
	calls Calls
}

var (
	_ exec.Controller         = (*Controller)(nil)
	_ exec.ControllerStatuser = (*Controller)(nil)
	_ exec.ControllerLogs     = (*Controller)(nil)
)

// Calls returns how many times each method was called so far.
func (c *Controller) Calls() Calls {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *Controller) count(f func(*Calls)) {
	c.mu.Lock()
	f(&c.calls)
	c.mu.Unlock()
}

func call(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

// Prepare counts the call and calls PrepareFn.
func (c *Controller) Prepare(ctx context.Context) error {
	c.count(func(n *Calls) { n.Prepare++ })
	return call(ctx, c.PrepareFn)
}

// Start counts the call and calls StartFn.
func (c *Controller) Start(ctx context.Context) error {
	c.count(func(n *Calls) { n.Start++ })
	return call(ctx, c.StartFn)
}

// Wait counts the call and calls WaitFn.
func (c *Controller) Wait(ctx context.Context) error {
	c.count(func(n *Calls) { n.Wait++ })
	return call(ctx, c.WaitFn)
}

// Shutdown counts the call and calls ShutdownFn.
func (c *Controller) Shutdown(ctx context.Context) error {
	c.count(func(n *Calls) { n.Shutdown++ })
	return call(ctx, c.ShutdownFn)
}

// Terminate counts the call and calls TerminateFn.
func (c *Controller) Terminate(ctx context.Context) error {
	c.count(func(n *Calls) { n.Terminate++ })
	return call(ctx, c.TerminateFn)
}

// Remove counts the call and calls RemoveFn.
func (c *Controller) Remove(ctx context.Context) error {
	c.count(func(n *Calls) { n.Remove++ })
	return call(ctx, c.RemoveFn)
}

// Close counts the call and calls CloseFn.
func (c *Controller) Close() error {
	c.count(func(n *Calls) { n.Close++ })
	if c.CloseFn == nil {
		return nil
	}
	return c.CloseFn()
}

// Status counts the call and calls StatusFn.
func (c *Controller) Status() swarm.TaskStatus {
	c.count(func(n *Calls) { n.Status++ })
	if c.StatusFn == nil {
		return swarm.TaskStatus{}
	}
	return c.StatusFn()
}

// Logs counts the call and calls LogsFn.
func (c *Controller) Logs(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error {
	c.count(func(n *Calls) { n.Logs++ })
	if c.LogsFn == nil {
		return nil
	}
	return c.LogsFn(ctx, opts, w)
}

// Executor is a stub exec.Executor calling ControllerFn.
type Executor struct {
	ControllerFn func(t *swarm.Task) (exec.Controller, error)
}

// Controller calls ControllerFn; with none it returns a new stub Controller.
func (e *Executor) Controller(t *swarm.Task) (exec.Controller, error) {
	if e.ControllerFn == nil {
		return &Controller{}, nil
	}
	return e.ControllerFn(t)
}

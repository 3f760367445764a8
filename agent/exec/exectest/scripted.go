package exectest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// Environment variables of a task spec that script a task of the Scripted
// executor.
const (
	// EnvExit is the exit code (default 0).
	EnvExit = "SHOAL_SCRIPT_EXIT"
	// EnvRunFor is how long the task runs before it exits, as a Go duration
	// ("2s"). Without it the task runs until stopped, unless EnvExit is set:
	// then it exits as soon as it starts.
	EnvRunFor = "SHOAL_SCRIPT_RUN_FOR"
	// EnvPrepareError makes Prepare fail with this message (rejected).
	EnvPrepareError = "SHOAL_SCRIPT_PREPARE_ERROR"
	// EnvStartError makes Start fail with this message (failed).
	EnvStartError = "SHOAL_SCRIPT_START_ERROR"
	// EnvIgnoreStop, when "1" or "true", makes the task ignore its stop
	// signal: Shutdown kills it after the spec's grace period (10s default).
	EnvIgnoreStop = "SHOAL_SCRIPT_IGNORE_STOP"
	// EnvLog is a line the task writes to stdout when it starts.
	EnvLog = "SHOAL_SCRIPT_LOG"
)

// Exit codes of a scripted task that was stopped: killed by SIGTERM or by
// SIGKILL, as a shell reports them.
const (
	ExitCodeStopped = 128 + 15
	ExitCodeKilled  = 128 + 9
)

// defaultGrace is the grace period of a spec without one, as in Docker.
const defaultGrace = 10 * time.Second

// Script is how a scripted task behaves.
type Script struct {
	Exit int
	// RunFor is how long the task runs; negative means until stopped.
	RunFor       time.Duration
	PrepareError string
	StartError   string
	IgnoreStop   bool
	Log          string
}

// ParseScript reads a task's script from its spec's environment.
func ParseScript(spec swarm.ContainerSpec) (Script, error) {
	env := map[string]string{}
	for _, kv := range spec.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	s := Script{RunFor: -1, PrepareError: env[EnvPrepareError], StartError: env[EnvStartError], Log: env[EnvLog]}
	if v, ok := env[EnvExit]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			return s, swarm.Errorf(swarm.ErrInvalidArgument, "invalid %s %q: want an exit code 0-255", EnvExit, v)
		}
		s.Exit, s.RunFor = n, 0
	}
	if v, ok := env[EnvRunFor]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, swarm.Errorf(swarm.ErrInvalidArgument, "invalid %s %q: want a duration such as 2s", EnvRunFor, v)
		}
		s.RunFor = d
	}
	if v, ok := env[EnvIgnoreStop]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, swarm.Errorf(swarm.ErrInvalidArgument, "invalid %s %q: want true or false", EnvIgnoreStop, v)
		}
		s.IgnoreStop = b
	}
	return s, nil
}

// Scripted is an executor whose tasks run no process: each behaves as its
// script says (see ParseScript), on the clock of the caller (a
// testing/synctest bubble's, when run in one). It is safe for concurrent
// use. The controller of a task is the same until the task is removed.
type Scripted struct {
	mu      sync.Mutex
	tasks   map[swarm.TaskID]*ScriptedController
	nextPID int
}

var _ exec.Executor = (*Scripted)(nil)

// NewScripted returns an executor with no tasks.
func NewScripted() *Scripted {
	return &Scripted{tasks: map[swarm.TaskID]*ScriptedController{}, nextPID: 1000}
}

// Controller returns the task's controller, making it on first use.
func (s *Scripted) Controller(t *swarm.Task) (exec.Controller, error) {
	if t == nil || t.ID == "" {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "scripted runtime: task without an id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.tasks[t.ID]; ok {
		return c, nil
	}
	s.nextPID++
	c := &ScriptedController{exec: s, id: t.ID, spec: t.Spec.Container, pid: s.nextPID, started: make(chan struct{}), exited: make(chan struct{})}
	c.script, c.scriptErr = ParseScript(t.Spec.Container)
	s.tasks[t.ID] = c
	return c, nil
}

// Task returns the controller of a task, if it exists.
func (s *Scripted) Task(id swarm.TaskID) (*ScriptedController, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.tasks[id]
	return c, ok
}

// Len is how many tasks the executor holds a controller for (given to it
// and not yet removed).
func (s *Scripted) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

// Running returns the IDs of the tasks started and not exited, sorted.
func (s *Scripted) Running() []swarm.TaskID {
	s.mu.Lock()
	all := make([]*ScriptedController, 0, len(s.tasks))
	for _, c := range s.tasks {
		all = append(all, c)
	}
	s.mu.Unlock()
	var ids []swarm.TaskID
	for _, c := range all {
		if c.Running() {
			ids = append(ids, c.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Exit makes a running task exit now with code, as if it crashed (or
// finished). It reports whether the task was running.
func (s *Scripted) Exit(id swarm.TaskID, code int) bool {
	c, ok := s.Task(id)
	return ok && c.exit(code, false)
}

func (s *Scripted) forget(id swarm.TaskID) {
	s.mu.Lock()
	delete(s.tasks, id)
	s.mu.Unlock()
}

type phase int

const (
	phaseNew phase = iota
	phasePrepared
	phaseStarted
	phaseExited
)

// ScriptedController runs one scripted task. It implements exec.Controller,
// exec.ControllerStatuser and exec.ControllerLogs.
type ScriptedController struct {
	exec      *Scripted
	id        swarm.TaskID
	spec      swarm.ContainerSpec
	pid       int
	script    Script
	scriptErr error

	mu       sync.Mutex
	phase    phase
	deadline time.Time // when a started task exits by itself; zero: never
	result   *exec.ExitError
	logs     []exec.LogMessage
	started  chan struct{} // closed on start
	exited   chan struct{} // closed on exit
}

var (
	_ exec.Controller         = (*ScriptedController)(nil)
	_ exec.ControllerStatuser = (*ScriptedController)(nil)
	_ exec.ControllerLogs     = (*ScriptedController)(nil)
)

// Prepare fails as the script says.
func (c *ScriptedController) Prepare(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.scriptErr != nil:
		return c.scriptErr
	case c.phase >= phaseStarted:
		return exec.ErrTaskStarted
	case c.script.PrepareError != "":
		return errors.New(c.script.PrepareError)
	}
	c.phase = phasePrepared
	return nil
}

// Start starts the task's run time, or fails as the script says.
func (c *ScriptedController) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.phase >= phaseStarted:
		return exec.ErrTaskStarted
	case c.phase < phasePrepared:
		return errors.New("scripted runtime: start before prepare")
	case c.script.StartError != "":
		return errors.New(c.script.StartError)
	}
	now := time.Now()
	c.phase = phaseStarted
	close(c.started)
	if c.script.RunFor >= 0 {
		c.deadline = now.Add(c.script.RunFor)
	}
	if c.script.Log != "" {
		c.logs = append(c.logs, exec.LogMessage{Stream: exec.Stdout, Time: now, Line: []byte(c.script.Log)})
	}
	return nil
}

// Wait blocks until the task exits: its run time passed, it was stopped,
// or Scripted.Exit ended it.
func (c *ScriptedController) Wait(ctx context.Context) error {
	c.mu.Lock()
	started := c.phase >= phaseStarted
	c.mu.Unlock()
	if !started {
		return errors.New("scripted runtime: wait before start")
	}
	if err := c.waitExit(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.result == nil {
		return nil
	}
	return c.result
}

// waitExit blocks until the task exited or ctx ends.
func (c *ScriptedController) waitExit(ctx context.Context) error {
	for {
		c.mu.Lock()
		c.exitIfDue()
		deadline := c.deadline
		var started <-chan struct{}
		if c.phase < phaseStarted {
			started = c.started // not started yet: look again once it is
		}
		c.mu.Unlock()
		var timer *time.Timer
		var fired <-chan time.Time
		if !deadline.IsZero() {
			timer = time.NewTimer(time.Until(deadline))
			fired = timer.C
		}
		select {
		case <-c.exited:
		case <-fired:
		case <-started:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-c.exited:
			return nil
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Shutdown stops the task at once, or after the grace period if its script
// ignores the stop signal.
func (c *ScriptedController) Shutdown(ctx context.Context) error {
	if !c.Running() {
		return nil
	}
	if !c.script.IgnoreStop {
		c.exit(ExitCodeStopped, true)
		return nil
	}
	grace := defaultGrace
	if c.spec.StopGracePeriod != nil {
		grace = *c.spec.StopGracePeriod
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.exited:
		return nil
	case <-t.C:
		c.exit(ExitCodeKilled, true)
		return nil
	case <-ctx.Done():
		c.exit(ExitCodeKilled, true)
		return ctx.Err()
	}
}

// Terminate kills the task at once.
func (c *ScriptedController) Terminate(ctx context.Context) error {
	c.exit(ExitCodeKilled, true)
	return nil
}

// Remove kills the task if it runs and forgets it.
func (c *ScriptedController) Remove(ctx context.Context) error {
	c.exit(ExitCodeKilled, true)
	c.exec.forget(c.id)
	return nil
}

// Close does nothing: the task lives on in its executor.
func (c *ScriptedController) Close() error { return nil }

// Status returns the task's made-up PID, its ContainerID
// ("scripted-<task id>") and its exit code once exited.
func (c *ScriptedController) Status() swarm.TaskStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exitIfDue()
	st := swarm.TaskStatus{ContainerID: "scripted-" + string(c.id)}
	if c.phase >= phaseStarted {
		st.PID = c.pid
	}
	if c.result != nil {
		st.ExitCode = c.result.Code
	}
	return st
}

// Running reports whether the task started and has not exited.
func (c *ScriptedController) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exitIfDue()
	return c.phase == phaseStarted
}

// Logs writes the task's lines (the script's EnvLog line, written at
// start). Following, it waits for the start if need be, then the exit.
func (c *ScriptedController) Logs(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error {
	c.mu.Lock()
	lines := slices.Clone(c.logs)
	before := c.phase < phaseStarted
	c.mu.Unlock()
	seen := len(lines)
	lines = slices.DeleteFunc(lines, func(m exec.LogMessage) bool { return !opts.Wants(m.Stream, m.Time) })
	switch {
	case opts.Tail == exec.NoTail:
		lines = nil
	case opts.Tail > 0 && len(lines) > opts.Tail:
		lines = lines[len(lines)-opts.Tail:]
	}
	if !opts.Follow {
		return writeLogs(ctx, w, lines, opts)
	}
	if before {
		select {
		case <-c.started:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
		lines = append(lines, c.logs[seen:]...)
		c.mu.Unlock()
	}
	if err := writeLogs(ctx, w, lines, opts); err != nil {
		return err
	}
	return c.waitExit(ctx)
}

func writeLogs(ctx context.Context, w exec.LogWriter, lines []exec.LogMessage, opts exec.LogOptions) error {
	for _, m := range lines {
		if !opts.Wants(m.Stream, m.Time) {
			continue
		}
		if err := w.WriteLog(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// exit ends a started task with code; c.mu must not be held.
func (c *ScriptedController) exit(code int, stopped bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.exitIfDue()
	if c.phase != phaseStarted {
		return false
	}
	c.finish(code, stopped)
	return true
}

// exitIfDue ends a task whose run time passed; c.mu is held.
func (c *ScriptedController) exitIfDue() {
	if c.phase == phaseStarted && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		c.finish(c.script.Exit, false)
	}
}

func (c *ScriptedController) finish(code int, stopped bool) {
	c.phase = phaseExited
	if code != 0 || stopped {
		c.result = &exec.ExitError{Code: code, Stopped: stopped}
	}
	close(c.exited)
}

package docker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

// ErrContainerLost is what Wait (and Start) return, wrapped, for a task
// whose container is gone: removed by Adopt after a daemon restart, or by
// someone else. The agent reports such a task as failed.
var ErrContainerLost = errors.New("task: container lost")

// pingTimeout bounds New's first contact with the engine.
const pingTimeout = 10 * time.Second

// Executor runs tasks as containers of the local Docker Engine. It is safe
// for concurrent use.
type Executor struct {
	cfg        Config
	cli        *client.Client
	apiVersion string

	mu     sync.Mutex
	tasks  map[swarm.TaskID]*record // tasks asked about, until Remove
	closed bool
}

var _ exec.Executor = (*Executor)(nil)

// record is what the executor remembers of a task, shared by its
// controllers. The engine holds everything else.
type record struct {
	mu          sync.Mutex
	containerID string
	pid         int
	exitCode    int
	stopping    bool // Shutdown, Terminate or Remove asked for the exit
}

func (r *record) setContainer(id string) {
	r.mu.Lock()
	r.containerID = id
	r.mu.Unlock()
}

func (r *record) markStopping() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
}

func (r *record) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

// New connects to the engine at cfg.Host and negotiates the API version
// (the engine may be older than the client, down to API 1.40). It fails
// when the engine cannot be reached.
func New(cfg Config) (*Executor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "docker runtime: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return nil, swarm.Errorf(swarm.ErrUnavailable, "docker runtime: cannot reach the Docker engine: %w", err)
	}
	cfg.Logger.Debug("docker runtime: engine reached", "host", cli.DaemonHost(), "engine_api", ping.APIVersion, "api", cli.ClientVersion())
	return &Executor{cfg: cfg, cli: cli, apiVersion: cli.ClientVersion(), tasks: map[swarm.TaskID]*record{}}, nil
}

// APIVersion is the Engine API version in use, as negotiated with the
// engine (for `info` and logs).
func (e *Executor) APIVersion() string { return e.apiVersion }

// Controller returns a controller for t. It refuses a task without an ID
// or an image (Resolve then rejects the task). It does not talk to the
// engine; the controller finds the task's container by name when it needs
// it, so a controller asked for a task a previous controller prepared or
// started carries on with the same container.
func (e *Executor) Controller(t *swarm.Task) (exec.Controller, error) {
	switch {
	case t == nil || t.ID == "":
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "docker runtime: invalid task id")
	case t.Spec.Container.Image == "":
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "ContainerSpec: image reference must be provided")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("docker runtime: executor closed")
	}
	rec, ok := e.tasks[t.ID]
	if !ok {
		rec = &record{}
		e.tasks[t.ID] = rec
	}
	t = t.Copy()
	return &Controller{e: e, rec: rec, task: t, name: ContainerName(t)}, nil
}

// Adopt settles the containers a previous run of the daemon left on this
// node: every container with this node's ID and the runtime's mark whose
// task this executor has not been asked about is killed and removed (see
// the package documentation for why that never runs a slot twice). Call it
// once, at start, before the agent asks for controllers. It returns the
// errors of the containers it could not remove, joined.
func (e *Executor) Adopt(ctx context.Context) error {
	f := make(client.Filters).Add("label", LabelNodeID+"="+string(e.cfg.NodeID), LabelRuntime+"="+RuntimeName)
	list, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return engineError(ctx, "listing this node's containers", err)
	}
	var errs []error
	for _, c := range list.Items {
		id := swarm.TaskID(c.Labels[LabelTaskID])
		if e.known(id) {
			continue
		}
		e.cfg.Logger.Info("docker runtime: removing a container left by a previous run", "task", id, "container", c.ID, "state", c.State)
		_, err := e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, engineError(ctx, fmt.Sprintf("removing container %s of task %s", shortID(c.ID), id), err))
		}
	}
	return errors.Join(errs...)
}

// Close releases the engine connection. Containers keep running: the
// agent shuts its tasks down before, and the next daemon's Adopt removes
// what is left. Controllers stop working.
func (e *Executor) Close() error {
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if already {
		return nil
	}
	return e.cli.Close()
}

func (e *Executor) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

func (e *Executor) known(id swarm.TaskID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.tasks[id]
	return ok
}

func (e *Executor) forget(id swarm.TaskID) {
	e.mu.Lock()
	delete(e.tasks, id)
	e.mu.Unlock()
}

// engineError wraps an error of an engine call made while doing what: the
// end of ctx is returned as ctx's error (exec.Do retries), an engine that
// cannot be reached is temporary, anything else is final.
func engineError(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	err = fmt.Errorf("%s: %w", what, err)
	if client.IsErrConnectionFailed(err) {
		return exec.MakeTemporary(err)
	}
	return err
}

// shortID is a container ID as Docker shows it.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

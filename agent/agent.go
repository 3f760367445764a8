package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// Config holds the agent's settings and the node's callbacks.
type Config struct {
	Addr     string // this node's advertised address
	Managers []dispatchapi.Peer
	Creds    *ca.Credentials
	// OnManagers is called (on the agent's goroutine) when the manager list
	// changed, so the node can persist it.
	OnManagers func([]dispatchapi.Peer)
	// OnRenewed is called with a new certificate and key after the role
	// the cluster wants changed; the node installs them and starts or stops
	// its manager role. An error is retried at the next heartbeat.
	OnRenewed func(ctx context.Context, role swarm.NodeRole, certPEM, keyPEM []byte) error
	// LocalManagers, if set, lists the managers this node knows from its
	// own Raft membership (on a manager); the agent adds them to its list
	// when its managers stop answering, so a node demoted before it heard
	// of the others can still find them.
	LocalManagers func() []dispatchapi.Peer
	// Executor runs the node's tasks; nil: the node runs none.
	Executor exec.Executor
	// Hostname fills {{.Node.Hostname}} in task templates.
	Hostname string
	Logger   *slog.Logger
}

// ErrRemoved is returned by Run when the managers say this node was removed.
var ErrRemoved = errors.New("agent: node was removed from the swarm")

// Agent is a node's session with the managers.
type Agent struct {
	cfg Config
	// client makes the RPCs; replaced after a certificate renewal, since an
	// HTTP/2 connection in use would go on presenting the old certificate.
	client atomic.Pointer[http.Client]

	mu       sync.Mutex
	managers []dispatchapi.Peer
	next     int // index of the manager to try next

	repMu   sync.Mutex
	pending map[swarm.TaskID]dispatchapi.TaskStatusUpdate // unsent task statuses
	repKick chan struct{}

	tasksMu sync.Mutex
	tasks   map[swarm.TaskID]*swarm.Task // the node's tasks as last assigned
}

// New returns an agent; Run starts its session.
func New(cfg Config) *Agent {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, managers: slices.Clone(cfg.Managers),
		repKick: make(chan struct{}, 1), tasks: map[swarm.TaskID]*swarm.Task{}}
	a.client.Store(clusternet.NewHTTPClient(cfg.Creds))
	return a
}

// rpc makes one call to the manager at addr.
func (a *Agent) rpc(ctx context.Context, addr, path string, in, out any) error {
	return dispatchapi.Call(ctx, a.client.Load(), addr, path, in, out)
}

// Managers returns the managers this node knows of.
func (a *Agent) Managers() []dispatchapi.Peer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.managers)
}

// Run keeps the session going, and runs the node's tasks, until ctx ends or
// the node is removed.
func (a *Agent) Run(ctx context.Context) error {
	defer func() { a.client.Load().CloseIdleConnections() }()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if a.cfg.Executor != nil {
		wg.Add(2)
		go func() { defer wg.Done(); a.worker(ctx) }()
		go func() { defer wg.Done(); a.reporter(ctx) }()
	}
	return a.session(ctx)
}

// session sends heartbeats until ctx ends or the node is removed.
func (a *Agent) session(ctx context.Context) error {
	period := swarm.DefaultHeartbeatPeriod
	unavailable := 0 // heartbeats answered "no leader" in a row
	for {
		resp, err := a.heartbeat(ctx, period)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, swarm.ErrPermissionDenied):
			a.cfg.Logger.Error("managers refused this node", "err", err)
			return fmt.Errorf("%w: %v", ErrRemoved, err)
		case err != nil:
			a.cfg.Logger.Debug("heartbeat failed", "err", err)
		default:
			period = resp.Period
			a.update(resp.Managers)
			if resp.Role != "" && resp.Role != a.cfg.Creds.Identity().Role {
				a.changeRole(ctx)
			}
		}
		wait := heartbeatWait(err, period, &unavailable)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// heartbeatWait is the wait before the next heartbeat after one that ended
// with err; unavailable counts the "no leader" answers in a row.
func heartbeatWait(err error, period time.Duration, unavailable *int) time.Duration {
	switch {
	case err == nil:
		*unavailable = 0
		return period
	case errors.Is(err, swarm.ErrUnavailable): // an election: back off
		*unavailable++
		return retryAfter(period/10, period, *unavailable)
	default: // no answer: the next manager at once
		*unavailable = 0
		return retryAfter(period/10, period, 1)
	}
}

// retryAfter is the wait before the next attempt after fails failures in a
// row: first about base, then twice as long each time up to limit, each
// spread by up to a half either way. It backs off only on answers that say
// there is no leader (an election): a thousand agents retrying every 100
// ms had sent the survivors 10,000 requests a second, slowing the
// election's end and the new leader's first writes. A manager that does not
// answer at all is left for the next one at once (fails = 1): it may be
// frozen, and backing off there made an overloaded leader's nodes silent
// for longer.
func retryAfter(base, limit time.Duration, fails int) time.Duration {
	d := base
	for i := 1; i < fails && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d)
}

// heartbeat sends one heartbeat, to the current manager; a failure moves
// the session to the next manager for the following attempt.
func (a *Agent) heartbeat(ctx context.Context, period time.Duration) (*dispatchapi.HeartbeatResponse, error) {
	addr := a.current()
	if addr == "" {
		return nil, errors.New("agent: no manager known")
	}
	// A manager that does not answer within a period is given up on: the
	// node goes Unknown after two silent periods and Down soon after, so
	// the session must reach another manager well before (a frozen leader
	// keeps its connections open and never answers).
	ctx, cancel := context.WithTimeout(ctx, max(period, 500*time.Millisecond))
	defer cancel()
	var resp dispatchapi.HeartbeatResponse
	err := a.rpc(ctx, addr, dispatchapi.PathHeartbeat, dispatchapi.HeartbeatRequest{Addr: a.cfg.Addr, Sent: time.Now()}, &resp)
	if err != nil {
		a.advance()
		return nil, err
	}
	return &resp, nil
}

func (a *Agent) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.managers) == 0 {
		return ""
	}
	return a.managers[a.next%len(a.managers)].Addr
}

func (a *Agent) advance() {
	var local []dispatchapi.Peer
	if a.cfg.LocalManagers != nil {
		local = a.cfg.LocalManagers()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	for _, p := range local {
		if !slices.ContainsFunc(a.managers, func(q dispatchapi.Peer) bool { return q.Addr == p.Addr }) {
			a.managers = append(a.managers, p)
		}
	}
}

func (a *Agent) update(managers []dispatchapi.Peer) {
	if len(managers) == 0 {
		return
	}
	a.mu.Lock()
	cur := ""
	if len(a.managers) > 0 {
		cur = a.managers[a.next%len(a.managers)].Addr
	}
	same := slices.Equal(a.managers, managers)
	a.managers = slices.Clone(managers)
	a.next = max(0, slices.IndexFunc(a.managers, func(p dispatchapi.Peer) bool { return p.Addr == cur }))
	a.mu.Unlock()
	if !same && a.cfg.OnManagers != nil {
		a.cfg.OnManagers(managers)
	}
}

// changeRole renews the certificate for the role the cluster wants. An
// agent without OnRenewed (a simulated node) cannot change role: it says so.
func (a *Agent) changeRole(ctx context.Context) {
	if a.cfg.OnRenewed == nil {
		a.cfg.Logger.Warn("the managers ask for a role change this node cannot make")
		return
	}
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		a.cfg.Logger.Error("new key", "err", err)
		return
	}
	var resp dispatchapi.RenewResponse
	if err := a.rpc(ctx, a.current(), dispatchapi.PathRenew, dispatchapi.RenewRequest{CSR: csrPEM}, &resp); err != nil {
		a.cfg.Logger.Warn("certificate renewal failed", "err", err)
		return
	}
	a.cfg.Logger.Info("role changed", "role", resp.Role)
	if err := a.cfg.OnRenewed(ctx, resp.Role, resp.CertPEM, keyPEM); err != nil {
		a.cfg.Logger.Warn("role change failed", "role", resp.Role, "err", err)
	}
	// New connections present the new certificate; the old client's close
	// once idle (IdleConnTimeout).
	old := a.client.Swap(clusternet.NewHTTPClient(a.cfg.Creds))
	old.CloseIdleConnections()
}

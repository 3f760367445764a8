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
	// OnRenewed is called with a new certificate and key, renewed before
	// the old one expires or for a new role the cluster wants; the node
	// installs them and, if the role changed, starts or stops its manager
	// role. A renewal whose certificate it did not install is retried; nil:
	// the node cannot renew (a simulated node).
	OnRenewed func(ctx context.Context, role swarm.NodeRole, certPEM, keyPEM []byte) error
	// OnOutside is called (on the agent's goroutine) when the managers
	// have said for outsideAnswers answers in a row that this node should
	// be a manager, while it holds a manager certificate and is not in
	// their Raft membership: its manager role never (re)joined, e.g. it was
	// promoted again while the leader was removing it after a demotion.
	// The node starts its manager role afresh and asks to join.
	OnOutside func(ctx context.Context) error
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

	renewal renewal // see renew.go
}

// New returns an agent; Run starts its session.
func New(cfg Config) *Agent {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, managers: slices.Clone(cfg.Managers),
		repKick: make(chan struct{}, 1), tasks: map[swarm.TaskID]*swarm.Task{}, renewal: newRenewal()}
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
	if a.cfg.OnRenewed != nil {
		wg.Go(func() { a.renewLoop(ctx) })
	}
	return a.session(ctx)
}

// session keeps the node's session with a manager until ctx ends or the
// node is removed: heartbeats on one stream (dispatchapi.Session), opened
// again after any failure, on the next manager.
func (a *Agent) session(ctx context.Context) error {
	period := swarm.DefaultHeartbeatPeriod
	unavailable := 0 // sessions ended "no leader" in a row
	for {
		addr := a.current()
		var err error
		answered := false
		if addr == "" {
			err = errors.New("agent: no manager known")
		} else {
			s := dispatchapi.OpenSession(ctx, a.client.Load(), addr)
			answered, err = a.runSession(ctx, s, &period)
			s.Close()
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, swarm.ErrPermissionDenied):
			a.cfg.Logger.Error("managers refused this node", "err", err)
			return fmt.Errorf("%w: %v", ErrRemoved, err)
		case errors.Is(err, errRenewed):
			continue // the next session presents the new certificate
		}
		a.cfg.Logger.Debug("session ended", "manager", addr, "err", err)
		a.advance()
		if answered {
			unavailable = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(reconnectWait(err, period, &unavailable)):
		}
	}
}

// errRenewed ends a session after a certificate renewal.
var errRenewed = errors.New("agent: certificate renewed")

// A manager that leaves a heartbeat unanswered when the next one is due is
// suspected: the node pings it (dispatchapi.PathPing, answered by the
// manager itself). A frozen or cut-off manager keeps its connections open
// and answers nothing, so the ping fails and the node opens a session with
// the next manager, about two periods after the unanswered heartbeat:
// before the grace period (three by default) marks the node down. A manager
// that answers the ping is slow, not gone (a leader placing ten thousand
// tasks on a loaded machine; a follower waiting on such a leader): the node
// stays, up to giveUpAfter, and its heartbeats, sent every period
// regardless, go on reaching the leader. Giving up on a slow manager after
// one unanswered period, as before, sent a thousand nodes to reconnect
// elsewhere at once (16,000 such timeouts in one 1,000-node run), and their
// handshakes and silence made the leader slower still.
func suspectAfter(period time.Duration) time.Duration { return max(period, 500*time.Millisecond) / 2 }

// giveUpAfter bounds how long a manager that answers pings may leave a
// heartbeat unanswered.
func giveUpAfter(period time.Duration) time.Duration { return 5 * max(period, 500*time.Millisecond) }

// pingTimeout bounds a ping to a suspected manager.
const pingTimeout = time.Second

// runSession sends a heartbeat every period on s and acts on the answers,
// until s ends, the manager goes quiet (see suspectAfter), or the node's
// certificate was renewed (errRenewed). answered: the manager answered at
// least once.
func (a *Agent) runSession(ctx context.Context, s *dispatchapi.Session, period *time.Duration) (answered bool, err error) {
	var waiting []time.Time // when each unanswered heartbeat was sent
	send := func() error {
		if !s.Send(dispatchapi.HeartbeatRequest{Addr: a.cfg.Addr, Sent: time.Now()}) {
			return fmt.Errorf("heartbeats to %s are not being sent", s.Addr())
		}
		waiting = append(waiting, time.Now())
		return nil
	}
	if err := send(); err != nil {
		return false, err
	}
	tick := time.NewTicker(*period)
	defer tick.Stop()
	// A ping still out when the session ends is cancelled and waited for.
	var pings sync.WaitGroup
	defer pings.Wait()
	pctx, cancelPing := context.WithCancel(ctx)
	defer cancelPing()
	pinged := make(chan error, 1)
	pinging := false
	var pingedFor time.Time // the unanswered heartbeat the last ping was about
	outside := 0            // answers in a row saying this manager is outside the membership
	for {
		select {
		case <-ctx.Done():
			return answered, ctx.Err()
		case resp, ok := <-s.Answers():
			if !ok {
				return answered, s.Err()
			}
			answered = true
			if len(waiting) > 0 {
				waiting = waiting[1:] // answers come in order
			}
			if resp.Period > 0 && resp.Period != *period {
				*period = resp.Period
				tick.Reset(*period)
			}
			a.update(resp.Managers)
			if resp.Role != "" && resp.Role != a.cfg.Creds.Identity().Role && a.changeRole(ctx) {
				a.drain(a.renewal.restart)
				return answered, errRenewed
			}
			a.checkOutside(ctx, resp, &outside)
		case <-a.renewal.restart:
			return answered, errRenewed
		case err := <-pinged:
			pinging = false
			if err != nil && len(waiting) > 0 {
				return answered, fmt.Errorf("%s answered neither a heartbeat sent %v ago nor a ping: %w", s.Addr(),
					time.Since(waiting[0]).Round(time.Millisecond), err)
			}
		case now := <-tick.C:
			if len(waiting) > 0 {
				late := now.Sub(waiting[0])
				if late >= giveUpAfter(*period) {
					return answered, fmt.Errorf("%s answered no heartbeat for %v: %w", s.Addr(), late.Round(time.Millisecond), context.DeadlineExceeded)
				}
				// One ping per late heartbeat: a slow manager is asked
				// again only once it answered that one.
				if late >= suspectAfter(*period) && !pinging && !waiting[0].Equal(pingedFor) {
					pinging, pingedFor = true, waiting[0]
					pings.Go(func() { pinged <- a.ping(pctx, s.Addr()) })
				}
			}
			if err := send(); err != nil {
				return answered, err
			}
		}
	}
}

// ping asks the manager at addr whether it is there at all.
func (a *Agent) ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return a.rpc(ctx, addr, dispatchapi.PathPing, struct{}{}, nil)
}

// reconnectWait is the wait before the next session after one that ended
// with err; unavailable counts the "no leader" ends in a row.
func reconnectWait(err error, period time.Duration, unavailable *int) time.Duration {
	if errors.Is(err, swarm.ErrUnavailable) { // an election: back off
		*unavailable++
		return retryAfter(period/10, period, *unavailable)
	}
	*unavailable = 0 // no answer: the next manager at once
	return retryAfter(period/10, period, 1)
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

// outsideAnswers is how many heartbeat answers in a row must find this
// node wanted as a manager, with a manager certificate, and outside the
// Raft membership, before it joins again. A promoted node is added to the
// membership before its role change returns (and no answer is read
// meanwhile), so two or three answers never cover a join in progress.
const outsideAnswers = 3

// checkOutside counts the answers that find this node a manager outside
// the membership and, at outsideAnswers, has the node join again.
func (a *Agent) checkOutside(ctx context.Context, resp dispatchapi.HeartbeatResponse, count *int) {
	self := a.cfg.Creds.Identity()
	out := resp.Role == swarm.RoleManager && self.Role == swarm.RoleManager && len(resp.Managers) > 0 &&
		!slices.ContainsFunc(resp.Managers, func(p dispatchapi.Peer) bool { return p.NodeID == self.NodeID })
	if !out {
		*count = 0
		return
	}
	if *count++; *count < outsideAnswers || a.cfg.OnOutside == nil {
		return
	}
	*count = 0
	a.cfg.Logger.Warn("this node should be a manager but is outside the raft membership: joining again")
	if err := a.cfg.OnOutside(ctx); err != nil {
		a.cfg.Logger.Warn("joining the raft membership again failed", "err", err)
	}
}

package manager

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/consensus"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/manager/dispatcher"
	"github.com/shoal-project/shoal/manager/orchestrator"
	"github.com/shoal-project/shoal/manager/scheduler"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Config holds a manager's settings and dependencies.
type Config struct {
	NodeID swarm.NodeID
	Addr   string // advertised cluster address
	Dir    string // Raft state
	// Bootstrap is set by swarm init only: Raft starts as a one-member
	// cluster and Initialize writes the first objects.
	Bootstrap bool
	Spec      swarm.RaftSpec
	Mux       *clusternet.Mux
	Creds     *ca.Credentials
	// DockerAPI serves Docker API requests forwarded by followers. Its
	// cluster reads must never forward again.
	DockerAPI http.Handler
	Logger    *slog.Logger
	RaftLog   io.Writer
}

// Manager is a running manager role.
type Manager struct {
	cfg     Config
	store   *store.Store
	raft    *consensus.Raft
	control *controlapi.Server
	// client makes RPCs and forwards to the leader; replaced when the
	// node's certificate is renewed (CertificateRenewed).
	client  swappableClient
	handler http.Handler // the cluster port's RPCs
	log     *slog.Logger

	mu   sync.Mutex
	disp *dispatcher.Dispatcher // the current term's; nil when not leader or not ready

	// ready is set once raft is: until then the Raft layer admits no one.
	ready  atomic.Bool
	floors sync.Map // node ID → a certificate floor being proposed (noteCertificate)
	bg     sync.WaitGroup
	bgCtx  context.Context

	cancel context.CancelFunc
	doneCh chan struct{}
}

// New opens the Raft state and starts the member and the leadership loop.
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st := store.New()
	m := &Manager{cfg: cfg, store: st, log: cfg.Logger, doneCh: make(chan struct{})}
	m.client.Store(clusternet.NewHTTPClient(cfg.Creds))
	admit := func(id ca.Identity) error {
		if !m.ready.Load() {
			return swarm.ErrNoLeader // starting: the peer retries
		}
		return m.admitRaft(id)
	}
	r, err := consensus.New(consensus.Config{
		ID: cfg.NodeID, Addr: cfg.Addr, Dir: cfg.Dir, Bootstrap: cfg.Bootstrap,
		Spec: cfg.Spec, Logger: cfg.Logger, RaftLogOutput: cfg.RaftLog,
	}, st, cfg.Mux.RaftLayer(cfg.Creds, admit))
	if err != nil {
		return nil, err
	}
	m.raft = r
	m.ready.Store(true)
	m.control = controlapi.New(controlapi.Config{
		Store: st, Proposer: r, Raft: raftView{r}, Logger: cfg.Logger,
		NewToken:         func(c *swarm.Cluster) (string, error) { return newToken(c) },
		CheckConstraints: checkConstraints,
		Logs:             logSource{m},
	})
	m.handler = m.routes()
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.bgCtx = cancel, ctx
	m.bg.Go(func() { m.revokeLoop(ctx) })
	go m.run(ctx)
	return m, nil
}

// Stop ends the leader components and the Raft member, and waits.
func (m *Manager) Stop() {
	m.cancel()
	<-m.doneCh
	m.bg.Wait()
	if err := m.raft.Shutdown(); err != nil {
		m.log.Warn("raft shutdown", "err", err)
	}
	m.client.Load().CloseIdleConnections()
}

// Store is the manager's replica of the cluster state (possibly behind the
// leader's). Read only.
func (m *Manager) Store() *store.Store { return m.store }

// IsLeader reports whether this manager leads now.
func (m *Manager) IsLeader() bool { return m.raft.IsLeader() }

// Leader returns the leader's ID and address, or empty values.
func (m *Manager) Leader() (swarm.NodeID, string) { return m.raft.Leader() }

// Control returns the control API if this manager is the leader and its
// store has caught up with everything committed before its term.
func (m *Manager) Control() (*controlapi.Server, bool) {
	return m.control, m.raft.IsLeader() && m.dispatcher() != nil
}

// Managers lists the Raft voters as peers.
func (m *Manager) Managers() []dispatchapi.Peer {
	members, err := m.raft.Members()
	if err != nil {
		return nil
	}
	out := make([]dispatchapi.Peer, 0, len(members))
	for _, x := range members {
		out = append(out, dispatchapi.Peer{NodeID: x.ID, Addr: x.Addr})
	}
	return out
}

// run is the leadership loop: it starts the leader components when this
// member becomes leader and stops them when it stops being one.
func (m *Manager) run(ctx context.Context) {
	defer close(m.doneCh)
	var term *leaderTerm
	check := time.NewTicker(time.Second)
	defer check.Stop()
	raftSpec := m.cfg.Spec // the settings this member's Raft runs with
	for {
		m.followRaftSpec(&raftSpec)
		if lead := m.raft.IsLeader(); lead && term == nil {
			term = m.startTerm(ctx)
		} else if !lead && term != nil {
			term.stop()
			term = nil
			m.setDispatcher(nil)
		}
		select {
		case <-ctx.Done():
			if term != nil {
				term.stop()
				m.setDispatcher(nil)
			}
			return
		case <-m.raft.Changes():
		case <-check.C:
		}
	}
}

// followRaftSpec gives this member's Raft the cluster's Raft settings when
// they differ from applied (swarm update: snapshot interval, ticks), and
// records them. Without it a change applied only from the next restart.
func (m *Manager) followRaftSpec(applied *swarm.RaftSpec) {
	c, err := store.GetCluster(m.store.ReadTxn())
	if err != nil || c.Spec.Raft == *applied {
		return
	}
	if err := m.raft.UpdateSpec(c.Spec.Raft); err != nil {
		m.log.Warn("raft settings not applied", "err", err)
	}
	*applied = c.Spec.Raft
}

// leaderTerm is the set of components running while this member leads.
type leaderTerm struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (t *leaderTerm) stop() {
	t.cancel()
	t.wg.Wait()
}

// startTerm starts the leader components. They start only once the store
// holds every entry committed before this term (a Raft barrier): a leader
// that just restarted has not replayed its log yet, and acting on that empty
// state would undo the cluster.
func (m *Manager) startTerm(parent context.Context) *leaderTerm {
	ctx, cancel := context.WithCancel(parent)
	t := &leaderTerm{cancel: cancel}
	raftTerm := m.raft.Term()
	lag, won := m.raft.ApplyLag(), time.Now()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for ctx.Err() == nil {
			err := m.raft.Barrier(ctx)
			if err == nil {
				break
			}
			m.log.Debug("leader barrier failed", "err", err)
			if !m.raft.IsLeader() {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		seen, gone := m.previousLeaderSilence()
		d := dispatcher.New(dispatcher.Config{
			Store: m.store, Proposer: m.raft, Managers: m.Managers, Logger: m.log,
			LastSeen: seen, Gone: gone,
		})
		if err := d.MarkGone(ctx); err != nil {
			m.log.Debug("previous leader not marked unknown", "err", err)
		}
		m.setDispatcher(d)
		roles := &roleReconciler{m: m}
		sched := scheduler.New(scheduler.Config{Store: m.store, Proposer: m.raft, Logger: m.log.With("component", "scheduler")})
		orch := orchestrator.New(orchestrator.Config{Store: m.store, Proposer: m.raft, Fits: fits, Logger: m.log.With("component", "orchestrator")})
		t.wg.Add(3)
		go func() { defer t.wg.Done(); roles.run(ctx) }()
		go func() { defer t.wg.Done(); _ = sched.Run(ctx) }()
		go func() { defer t.wg.Done(); _ = orch.Run(ctx) }()
		m.log.Info("became leader", "node", m.cfg.NodeID, "term", raftTerm, "unapplied", lag, "caught-up-in", time.Since(won))
		d.Run(ctx)
	}()
	return t
}

func (m *Manager) setDispatcher(d *dispatcher.Dispatcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disp = d
}

func (m *Manager) dispatcher() *dispatcher.Dispatcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.disp
}

func (m *Manager) isMember(id swarm.NodeID) bool {
	if m.raft == nil {
		return false // a manager put together by a unit test
	}
	members, err := m.raft.Members()
	if err != nil {
		return false
	}
	for _, x := range members {
		if x.ID == id {
			return true
		}
	}
	return false
}

// Initialize writes the first objects of a new swarm once this member has
// elected itself. Called once, by swarm init.
func (m *Manager) Initialize(ctx context.Context, c *swarm.Cluster, self *swarm.Node) error {
	for !m.raft.IsLeader() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.raft.Changes():
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, cmd := range []*store.Command{
		store.NewCreateCluster(c),
		store.NewCreateNode(self),
		store.NewSetNodeManager(self.ID, &swarm.ManagerInfo{Addr: m.cfg.Addr}),
	} {
		if err := m.raft.Propose(ctx, cmd); err != nil {
			return err
		}
	}
	// Answer once the leader's term has started (its barrier applied):
	// the caller's next request (swarm init prints the join command) is
	// served by it, and would otherwise get "no leader" on a loaded
	// machine.
	return m.WaitLeading(ctx)
}

// WaitLeading waits until this member leads and its leader components
// run (its control API answers), or ctx ends.
func (m *Manager) WaitLeading(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !m.raft.IsLeader() || m.dispatcher() == nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// RecoverAlone rewrites the Raft state in dir so that node id, at addr,
// alone makes the cluster, keeping the whole state: swarm init
// --force-new-cluster, on a manager that is not running. The manager
// started next elects itself; ClaimAddr then records its address.
func RecoverAlone(dir string, id swarm.NodeID, addr string, spec swarm.RaftSpec, log *slog.Logger) error {
	return consensus.Recover(consensus.Config{ID: id, Addr: addr, Dir: dir, Spec: spec, Logger: log})
}

// ClaimAddr records this manager's own cluster address in its node (after
// RecoverAlone, which may have moved it).
func (m *Manager) ClaimAddr(ctx context.Context) error {
	return m.raft.Propose(ctx, store.NewSetNodeManager(m.cfg.NodeID, &swarm.ManagerInfo{Addr: m.cfg.Addr}))
}

// raftView adapts consensus to the control API's Raft interface.
type raftView struct{ r *consensus.Raft }

func (v raftView) VerifyLeader(ctx context.Context) error { return v.r.VerifyLeader(ctx) }

func (v raftView) Members() ([]controlapi.Member, error) {
	list, err := v.r.Members()
	if err != nil {
		return nil, err
	}
	out := make([]controlapi.Member, len(list))
	for i, x := range list {
		out[i] = controlapi.Member{ID: x.ID, Addr: x.Addr, Leader: x.Leader, Reachability: x.Reachability}
	}
	return out, nil
}

func newToken(c *swarm.Cluster) (string, error) {
	root, err := ca.ParseRootCA(c.RootCA.CertPEM, nil)
	if err != nil {
		return "", err
	}
	return ca.NewJoinToken(root), nil
}

// Members lists the Raft voters with their health as this member sees it.
func (m *Manager) Members() []consensus.Member {
	list, err := m.raft.Members()
	if err != nil {
		return nil
	}
	return list
}

// checkConstraints rejects placement constraints with bad syntax.
func checkConstraints(exprs []string) error {
	_, err := scheduler.ParseConstraints(exprs)
	return err
}

// fits parses a task's placement constraints once and returns whether a
// node satisfies them (a spec whose constraints do not parse fits none).
func fits(spec *swarm.TaskSpec) func(*swarm.Node) bool {
	cs, err := scheduler.ParseConstraints(spec.Placement.Constraints)
	return func(n *swarm.Node) bool { return err == nil && scheduler.MatchNode(cs, n) }
}

// previousLeaderSilence tells the new term's dispatcher since when the
// previous leader has been silent, so that its node is declared down (and
// its tasks rescheduled) counting from its death, not from this election.
// It is gone as well when it was silent for half an election timeout or
// more: this election was held for want of its heartbeats, not handed over
// (a handover follows its last contact within a heartbeat).
func (m *Manager) previousLeaderSilence() (seen map[swarm.NodeID]time.Time, gone []swarm.NodeID) {
	id, at := m.raft.PreviousLeader()
	if id == "" || at.IsZero() || id == m.cfg.NodeID {
		return nil, nil
	}
	spec := swarm.DefaultClusterSpec().Raft
	if c, err := store.GetCluster(m.store.ReadTxn()); err == nil {
		spec = c.Spec.Raft
	}
	if time.Since(at) >= spec.ElectionTimeout()/2 {
		gone = []swarm.NodeID{id}
	}
	return map[swarm.NodeID]time.Time{id: at}, gone
}

// CertificateRenewed is called once the node's credentials hold a renewed
// certificate of the same role: requests to other managers (forwarding to
// the leader, task logs) go on new connections, which present it, and the
// old client's connections close once their requests are done. Raft dials
// with the credentials on each new connection; its pooled connections
// that still carry the old certificate are closed by the other managers
// once the leader has seen the new one (revokeLoop), and redialled.
func (m *Manager) CertificateRenewed() {
	old := m.client.Swap(clusternet.NewHTTPClient(m.cfg.Creds))
	old.CloseIdleConnections()
}

// swappableClient is an HTTP client that CertificateRenewed replaces.
type swappableClient struct{ atomic.Pointer[http.Client] }

// Do sends req with the current client.
func (c *swappableClient) Do(req *http.Request) (*http.Response, error) { return c.Load().Do(req) }

package controlapi

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Proposer writes a command through consensus and returns the store's
// verdict once it is committed. Called from request goroutines, concurrently.
type Proposer interface {
	Propose(ctx context.Context, cmd *store.Command) error
}

// Member is a Raft voter with its health as the leader sees it.
type Member struct {
	ID           swarm.NodeID
	Addr         string
	Leader       bool
	Reachability swarm.Reachability
}

// Raft is what the control API needs to know of consensus beyond writing:
// who the members are, and a way to confirm leadership before a read.
type Raft interface {
	Members() ([]Member, error)
	VerifyLeader(ctx context.Context) error
}

// TokenMinter makes new join tokens for the cluster's root CA.
type TokenMinter func(c *swarm.Cluster) (string, error)

// Config holds the control API's dependencies.
type Config struct {
	Store    *store.Store
	Proposer Proposer
	Raft     Raft
	NewToken TokenMinter
	// CheckConstraints rejects placement constraints with bad syntax.
	CheckConstraints func([]string) error
	// Logs reads a task's log lines from its node; nil: logs unavailable.
	Logs   LogSource
	Logger *slog.Logger
}

// LogSource fetches one task's log lines from the node that runs it.
type LogSource interface {
	TaskLogs(ctx context.Context, t *swarm.Task, opts LogOptions, out func(LogMessage) error) error
}

// Server implements the cluster API rules on the leader. It holds no state
// of its own: every call reads the store and writes through the proposer.
type Server struct {
	cfg Config
}

// New returns a control API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}
}

// read confirms leadership, so a read is never served from a deposed
// leader's stale state, and returns a view of the store.
func (s *Server) read(ctx context.Context) (store.ReadTxn, error) {
	if err := s.cfg.Raft.VerifyLeader(ctx); err != nil {
		return store.ReadTxn{}, err
	}
	return s.cfg.Store.ReadTxn(), nil
}

// rpcError words an error the way Docker users see swarmkit's refusals.
func rpcError(class error, code string, format string, args ...any) error {
	return swarm.Errorf(class, "rpc error: code = %s desc = %s", code, fmt.Sprintf(format, args...))
}

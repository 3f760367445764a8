package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/shoal-project/shoal/agent"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// joinTimeout bounds one join RPC to one manager.
const joinTimeout = 20 * time.Second

// The resources a simulated node declares.
const (
	simNanoCPUs    = 2e9
	simMemoryBytes = 4 << 30
	simRuntime     = "scripted"
	simVersion     = "fleet"
)

// Config says how one simulated node joins.
type Config struct {
	// Managers are the cluster addresses (host:port) to try, in order.
	Managers []string
	// Token is the join token; its role decides the node's role.
	Token string
	// Name is the node's hostname, as node ls shows it.
	Name string
	// Addr is the node's advertised cluster address (host:port). Nothing
	// listens on it: managers only record it.
	Addr   string
	Logger *slog.Logger
}

// Node is one joined simulated node.
type Node struct {
	id       swarm.NodeID
	name     string
	addr     string
	creds    *ca.Credentials
	managers []dispatchapi.Peer
	executor *exectest.Scripted
	log      *slog.Logger
}

// Join admits one simulated node to the swarm: a new key and CSR, the join
// RPC over TLS pinned to the token's CA digest, and the credentials built
// from the answer. Run starts its session.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	tok, err := ca.ParseJoinToken(cfg.Token)
	if err != nil {
		return nil, err
	}
	if len(cfg.Managers) == 0 {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "at least 1 manager address is required to join")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	keyPEM, csrPEM, err := ca.NewKeyAndCSR()
	if err != nil {
		return nil, err
	}
	req := dispatchapi.JoinRequest{Token: cfg.Token, CSR: csrPEM, Description: describe(cfg.Name),
		Availability: swarm.AvailabilityActive, Addr: cfg.Addr}
	resp, root, err := requestJoin(ctx, tok.Digest, cfg.Managers, req)
	if err != nil {
		return nil, err
	}
	creds, err := ca.NewCredentials(root, resp.CertPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &Node{id: resp.NodeID, name: cfg.Name, addr: cfg.Addr, creds: creds, managers: resp.Managers,
		executor: exectest.NewScripted(), log: cfg.Logger.With("node", cfg.Name)}, nil
}

// describe is what a simulated node says about itself.
func describe(name string) swarm.NodeDescription {
	return swarm.NodeDescription{Hostname: name, OS: runtime.GOOS, Architecture: runtime.GOARCH,
		NanoCPUs: simNanoCPUs, MemoryBytes: simMemoryBytes, EngineVersion: simVersion, Runtime: simRuntime}
}

// requestJoin asks each manager in turn to admit the node; a refusal ends
// the attempts, since another manager would refuse too.
func requestJoin(ctx context.Context, digest string, managers []string, req dispatchapi.JoinRequest) (*dispatchapi.JoinResponse, *ca.RootCA, error) {
	var last error
	for _, addr := range managers {
		resp, root, err := joinVia(ctx, digest, addr, req)
		if err == nil {
			return resp, root, nil
		}
		last = fmt.Errorf("join via %s: %w", addr, err)
		if errors.Is(err, swarm.ErrInvalidArgument) || errors.Is(err, swarm.ErrPermissionDenied) || ctx.Err() != nil {
			break
		}
	}
	return nil, nil, last
}

func joinVia(ctx context.Context, digest, addr string, req dispatchapi.JoinRequest) (*dispatchapi.JoinResponse, *ca.RootCA, error) {
	conf, accepted := ca.BootstrapTLSConfig(digest, clusternet.ProtoHTTP)
	client := clusternet.NewBootstrapClient(conf)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	var resp dispatchapi.JoinResponse
	if err := dispatchapi.Call(ctx, client, addr, dispatchapi.PathJoin, req, &resp); err != nil {
		return nil, nil, err
	}
	root := accepted()
	if root == nil {
		return nil, nil, swarm.Errorf(swarm.ErrUnavailable, "join via %s: no CA was accepted", addr)
	}
	return &resp, root, nil
}

// ID is the node's ID in the swarm.
func (n *Node) ID() swarm.NodeID { return n.id }

// Name is the node's hostname.
func (n *Node) Name() string { return n.name }

// Executor is the node's scripted runtime, to inspect or end its tasks.
func (n *Node) Executor() *exectest.Scripted { return n.executor }

// Run runs the node's agent session until ctx ends (nil) or the managers
// remove the node (agent.ErrRemoved).
func (n *Node) Run(ctx context.Context) error {
	a := agent.New(agent.Config{Addr: n.addr, Managers: n.managers, Creds: n.creds,
		Executor: n.executor, Hostname: n.name, Logger: n.log})
	return a.Run(ctx)
}

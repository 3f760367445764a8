package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shoal-project/shoal/agent"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/manager"
	"github.com/shoal-project/shoal/swarm"
)

// Config is a daemon's configuration (the shoal daemon flags).
type Config struct {
	DataRoot string
	// Hosts are the Docker API endpoints: unix:///path or tcp://host:port.
	Hosts []string
	// APITLS is the TLS of the tcp:// hosts (the --tls* flags).
	APITLS  APITLS
	Name    string // node name; defaults to the hostname
	Runtime string
	Version string
	// Debug serves Go's profiles on the API sockets (/debug/pprof/).
	Debug  bool
	Logger *slog.Logger
	// RaftLog receives hashicorp/raft's log; nil discards it.
	RaftLog io.Writer
}

// Node is one shoal daemon.
type Node struct {
	cfg Config
	log *slog.Logger

	// opLock serialises membership changes: init, join, leave, role
	// changes. It is a channel so that a waiter can give up on its context.
	opLock chan struct{}

	mu          sync.Mutex // guards the parts below, swapped under opLock
	st          *state
	creds       *ca.Credentials
	port        *clusternet.Mux
	portServer  *http.Server
	mgr         *manager.Manager
	agentCancel context.CancelFunc
	agentDone   chan struct{}
	agent       *agent.Agent

	api          http.Handler  // Docker API for the local sockets
	apiTLS       *tls.Config   // TLS of the tcp:// hosts; nil for plain HTTP
	clusterAPI   http.Handler  // Docker API for requests forwarded by followers
	host         hostInfo      // read once at New
	executor     exec.Executor // made by executorFor, guarded by mu
	executorNode swarm.NodeID
}

// New prepares a node; Run starts it.
func New(cfg Config) (*Node, error) {
	if cfg.DataRoot == "" {
		return nil, errors.New("node: --data-root is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		cfg.Name, _ = os.Hostname()
	}
	if cfg.Runtime == "" {
		cfg.Runtime = "process"
	}
	apiTLS, err := cfg.APITLS.serverConfig()
	if err != nil {
		return nil, err
	}
	if err := checkTCPHosts(cfg.Hosts, cfg.APITLS, cfg.Logger); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataRoot, 0o700); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if cfg.Runtime != "process" && cfg.Runtime != "docker" {
		return nil, fmt.Errorf("node: unknown runtime %q (want process or docker)", cfg.Runtime)
	}
	if err := applyTestMinCertExpiry(cfg.Logger); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger, opLock: make(chan struct{}, 1), host: readHost(), apiTLS: apiTLS}
	n.api = apiserver.New(apiserver.Config{Backend: n, Logger: cfg.Logger.With("component", "api"), Version: cfg.Version, Debug: cfg.Debug})
	n.clusterAPI = apiserver.New(apiserver.Config{Backend: leaderBackend{n}, Logger: cfg.Logger.With("component", "api-forwarded"), Version: cfg.Version})
	return n, nil
}

// Run resumes the node's swarm membership from its data root, serves the
// Docker API on the configured hosts, and stops everything when ctx ends.
func (n *Node) Run(ctx context.Context) error {
	if err := n.resume(ctx); err != nil {
		return err
	}
	servers, err := n.serveAPI()
	if err != nil {
		n.shutdown()
		return err
	}
	<-ctx.Done()
	n.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	n.shutdown()
	n.closeExecutor()
	return nil
}

// serveAPI opens every --host endpoint and serves the Docker API on it.
func (n *Node) serveAPI() ([]*http.Server, error) {
	var servers []*http.Server
	for _, h := range n.cfg.Hosts {
		ln, err := listenHost(h, n.apiTLS)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			return nil, err
		}
		s := newAPIServer(n.api)
		servers = append(servers, s)
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.log.Error("api server stopped", "host", h, "err", err)
			}
		}()
		n.log.Info("API listening", "host", h)
	}
	return servers, nil
}

// listenHost opens one --host endpoint; tcp:// ones use TLS when tlsConfig
// is set.
func listenHost(h string, tlsConfig *tls.Config) (net.Listener, error) {
	switch {
	case strings.HasPrefix(h, "unix://"):
		path := strings.TrimPrefix(h, "unix://")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		_ = os.Remove(path) // a stale socket from a killed daemon
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("node: listen on %s: %w", h, err)
		}
		_ = os.Chmod(path, 0o660)
		return ln, nil
	case strings.HasPrefix(h, "tcp://"):
		ln, err := net.Listen("tcp", strings.TrimPrefix(h, "tcp://"))
		if err != nil {
			return nil, fmt.Errorf("node: listen on %s: %w", h, err)
		}
		if tlsConfig != nil {
			ln = tls.NewListener(ln, tlsConfig)
		}
		return ln, nil
	}
	return nil, fmt.Errorf("node: unsupported host %q (want unix:// or tcp://)", h)
}

// lock takes the membership lock, or gives up with ctx.
func (n *Node) lock(ctx context.Context) error {
	select {
	case n.opLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *Node) unlock() { <-n.opLock }

// parts returns a copy of the current state (nil outside a swarm) and the
// manager role (nil on a worker).
func (n *Node) parts() (*state, *manager.Manager) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st == nil {
		return nil, n.mgr
	}
	st := *n.st
	return &st, n.mgr
}

// shutdown stops every part of the swarm membership, keeping the data.
func (n *Node) shutdown() {
	n.stopAgent()
	n.mu.Lock()
	mgr, srv, port := n.mgr, n.portServer, n.port
	n.mgr, n.portServer, n.port = nil, nil, nil
	n.mu.Unlock()
	if mgr != nil {
		mgr.Stop()
	}
	if port != nil {
		port.Close()
	}
	if srv != nil {
		srv.Close()
	}
}

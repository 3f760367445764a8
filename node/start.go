package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/shoal-project/shoal/agent"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager"
	"github.com/shoal-project/shoal/swarm"
)

// resume restarts the membership recorded in the data root, if any.
func (n *Node) resume(ctx context.Context) error {
	st, err := loadState(n.cfg.DataRoot)
	if err != nil || st == nil {
		return err
	}
	rootPEM, certPEM, keyPEM, err := ca.LoadCredentials(filepath.Join(n.cfg.DataRoot, certDir))
	if err != nil {
		return fmt.Errorf("node: load certificates: %w", err)
	}
	root, err := ca.ParseRootCA(rootPEM, nil)
	if err != nil {
		return err
	}
	creds, err := ca.NewCredentials(root, certPEM, keyPEM)
	if err != nil {
		if n.resumeExpired(st, certPEM) {
			return nil
		}
		return fmt.Errorf("node: certificates: %w", err)
	}
	n.log.Info("resuming swarm membership", "node", st.NodeID, "role", st.Role)
	if err := n.startPort(st, creds); err != nil {
		return err
	}
	if st.Role == swarm.RoleManager {
		if err := n.startManager(false, swarm.DefaultClusterSpec().Raft); err != nil {
			n.shutdown()
			return err
		}
	}
	n.startAgent()
	return nil
}

// startPort opens the cluster port and records the membership parts.
func (n *Node) startPort(st *state, creds *ca.Credentials) error {
	port, err := clusternet.Listen(st.ListenAddr, creds, n.log.With("component", "clusternet"))
	if err != nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "failed to listen on remote API address: %v", err)
	}
	srv := port.NewHTTPServer(n.clusterHandler())
	go func() { _ = srv.Serve(port.HTTPListener()) }()
	n.mu.Lock()
	n.st, n.creds, n.port, n.portServer = st, creds, port, srv
	n.mu.Unlock()
	return nil
}

// serveCluster sends cluster-port requests to the agent (task logs, asked
// by a manager) or to the manager role, if any.
func (n *Node) serveCluster(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == dispatchapi.PathLogs {
		n.serveLogs(w, r)
		return
	}
	_, mgr := n.parts()
	if mgr == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "{\"Class\":\"unavailable\",\"Message\":%q}\n", swarm.MsgNotManagerWorker)
		return
	}
	mgr.Handler().ServeHTTP(w, r)
}

// startManager starts the manager role on the open cluster port.
func (n *Node) startManager(bootstrap bool, spec swarm.RaftSpec) error {
	n.mu.Lock()
	st, creds, port := n.st, n.creds, n.port
	n.mu.Unlock()
	m, err := manager.New(manager.Config{
		NodeID: st.NodeID, Addr: st.AdvertiseAddr, Dir: filepath.Join(n.cfg.DataRoot, raftDir),
		Bootstrap: bootstrap, Spec: spec, Mux: port, Creds: creds, DockerAPI: n.clusterAPI,
		Logger: n.log.With("component", "manager"), RaftLog: n.cfg.RaftLog,
	})
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.mgr = m
	n.mu.Unlock()
	return nil
}

// stopManager stops the manager role and forgets its Raft data.
func (n *Node) stopManager() {
	n.mu.Lock()
	m := n.mgr
	n.mgr = nil
	n.mu.Unlock()
	if m != nil {
		m.Stop()
	}
	_ = os.RemoveAll(filepath.Join(n.cfg.DataRoot, raftDir))
}

func (n *Node) startAgent() {
	st, _ := n.parts()
	executor, err := n.executorFor(st.NodeID)
	if err != nil {
		n.log.Error("the task runtime is not available: this node runs no tasks", "runtime", n.cfg.Runtime, "err", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	a := agent.New(agent.Config{
		Addr: n.st.AdvertiseAddr, Managers: n.st.Managers, Creds: n.creds,
		OnManagers: n.saveManagers, OnRenewed: n.changeRole, OnOutside: n.rejoinRaft,
		Executor: executor, Hostname: n.cfg.Name, LocalManagers: n.localManagers,
		Logger: n.log.With("component", "agent"),
	})
	done := make(chan struct{})
	n.agent, n.agentCancel, n.agentDone = a, cancel, done
	go func() {
		defer close(done)
		if err := a.Run(ctx); errors.Is(err, agent.ErrRemoved) {
			n.setError(err.Error())
		}
	}()
}

func (n *Node) stopAgent() {
	n.mu.Lock()
	cancel, done := n.agentCancel, n.agentDone
	n.agent, n.agentCancel, n.agentDone = nil, nil, nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (n *Node) setError(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st != nil {
		n.st.Error = msg
	}
}

// saveManagers persists a new manager list (agent callback).
func (n *Node) saveManagers(peers []dispatchapi.Peer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st == nil {
		return
	}
	n.st.Managers = peers
	if err := n.st.save(n.cfg.DataRoot); err != nil {
		n.log.Warn("saving manager list", "err", err)
	}
}

// serveLogs lets a manager read a task's logs from this node's agent: a
// peer with a manager certificate that is a manager now, by the manager
// list this node keeps current from its heartbeats (a demoted or removed
// manager's kept certificate reads nothing).
func (n *Node) serveLogs(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	a, creds := n.agent, n.creds
	var managers []dispatchapi.Peer
	if n.st != nil {
		managers = n.st.Managers
	}
	n.mu.Unlock()
	if a == nil || creds == nil || r.TLS == nil {
		http.Error(w, "no agent", http.StatusServiceUnavailable)
		return
	}
	id, err := ca.PeerIdentity(*r.TLS)
	if err != nil || id.Role != swarm.RoleManager {
		http.Error(w, "only managers may read task logs", http.StatusForbidden)
		return
	}
	if !slices.ContainsFunc(managers, func(p dispatchapi.Peer) bool { return p.NodeID == id.NodeID }) {
		http.Error(w, fmt.Sprintf("node %s is not a manager of this swarm", id.NodeID), http.StatusForbidden)
		return
	}
	a.ServeLogs(w, r)
}

// localManagers lists the managers of this node's own Raft membership.
func (n *Node) localManagers() []dispatchapi.Peer {
	if _, mgr := n.parts(); mgr != nil {
		return mgr.Managers()
	}
	return nil
}

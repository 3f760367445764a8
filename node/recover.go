package node

import (
	"context"
	"path/filepath"
	"time"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Refusals of swarm init --force-new-cluster.
const (
	msgForceNotInSwarm = "--force-new-cluster recovers a swarm from the state of one of its managers, and this node is not part of a swarm. " +
		"To create a new swarm, run \"docker swarm init\" without it"
	msgForceOnWorker = "--force-new-cluster must be run on a manager of the swarm: this node is a worker, and holds no copy of the swarm's state"
)

// forceNewCluster makes this manager, which survived the loss of its
// quorum, the only manager of the swarm, with everything the swarm had:
// nodes, services, tasks, settings, tokens. The other managers are out of
// the membership; a node still wanted as a manager joins again by itself
// when it returns (agent.Config.OnOutside), and new managers join as
// usual. Workers reconnect by themselves. Called with the membership lock.
func (n *Node) forceNewCluster(ctx context.Context, req apiserver.InitRequest) (swarm.NodeID, error) {
	st, mgr := n.parts()
	switch {
	case st == nil:
		return "", swarm.Errorf(swarm.ErrFailedPrecondition, msgForceNotInSwarm)
	case st.Role != swarm.RoleManager || mgr == nil:
		return "", swarm.Errorf(swarm.ErrFailedPrecondition, msgForceOnWorker)
	}
	// Without --advertise-addr the node keeps its addresses (the docker
	// CLI always sends its default listen address, 0.0.0.0:2377).
	listen, advertise := st.ListenAddr, st.AdvertiseAddr
	if req.AdvertiseAddr != "" {
		var err error
		if listen, advertise, err = resolveAddrs(req.ListenAddr, req.AdvertiseAddr); err != nil {
			return "", err
		}
	}
	spec := swarm.DefaultClusterSpec().Raft
	if c, err := store.GetCluster(mgr.Store().ReadTxn()); err == nil {
		spec = c.Spec.Raft
	}
	n.log.Warn("forcing a new cluster from this manager's state", "node", st.NodeID, "addr", advertise)
	n.shutdown() // the membership's parts stop; the data stays
	dir := filepath.Join(n.cfg.DataRoot, raftDir)
	if err := manager.RecoverAlone(dir, st.NodeID, advertise, spec, n.log); err != nil {
		return "", n.restartAfter(err)
	}
	st.ListenAddr, st.AdvertiseAddr = listen, advertise
	st.Managers = []dispatchapi.Peer{{NodeID: st.NodeID, Addr: advertise}}
	if err := st.save(n.cfg.DataRoot); err != nil {
		return "", n.restartAfter(err)
	}
	if err := n.resumeRecovered(ctx, st, spec); err != nil {
		return "", err
	}
	return st.NodeID, nil
}

// resumeRecovered starts the port, the manager role and the agent again
// after a recovery, and waits until the manager leads.
func (n *Node) resumeRecovered(ctx context.Context, st *state, spec swarm.RaftSpec) error {
	n.mu.Lock()
	creds := n.creds
	n.mu.Unlock()
	if err := n.startPort(st, creds); err != nil {
		return err
	}
	if err := n.startManager(false, spec); err != nil {
		n.shutdown()
		return err
	}
	n.startAgent()
	_, mgr := n.parts()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := mgr.WaitLeading(wctx); err != nil {
		return err
	}
	return mgr.ClaimAddr(wctx)
}

// restartAfter resumes the membership as it was on disk after a failed
// recovery, and returns the failure.
func (n *Node) restartAfter(err error) error {
	n.log.Error("force-new-cluster failed; resuming as before", "err", err)
	n.mu.Lock()
	n.st = nil
	n.mu.Unlock()
	if rerr := n.resume(context.Background()); rerr != nil {
		n.log.Error("resuming after a failed recovery", "err", rerr)
	}
	return err
}

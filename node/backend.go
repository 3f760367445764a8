package node

import (
	"context"
	"net/http"
	"runtime"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// Info describes this node and, on a manager, the cluster as its replica
// knows it; it needs no leader.
func (n *Node) Info(ctx context.Context) apiserver.Info {
	info := apiserver.Info{
		Name: n.cfg.Name, NCPU: runtime.NumCPU(), MemTotal: n.host.memTotal, OSType: runtime.GOOS,
		Architecture: n.host.machine, KernelVersion: n.host.kernel, OS: n.host.os, ServerVersion: n.cfg.Version,
		Swarm: apiserver.SwarmInfo{State: apiserver.StateInactive},
	}
	st, mgr := n.parts()
	if st == nil {
		return info
	}
	sw := &info.Swarm
	sw.NodeID, sw.NodeAddr, sw.State = st.NodeID, dispatchapi.Host(st.AdvertiseAddr), apiserver.StateActive
	if st.Error != "" {
		sw.State, sw.Error = apiserver.StateError, st.Error
	}
	if msg := n.certExpired(); msg != "" {
		sw.State, sw.Error = apiserver.StateError, msg
	}
	for _, p := range n.managerList(st) {
		sw.RemoteManagers = append(sw.RemoteManagers, apiserver.Peer{NodeID: p.NodeID, Addr: p.Addr})
	}
	if mgr == nil {
		return info
	}
	sw.ControlAvailable = true
	tx := mgr.Store().ReadTxn()
	if nodes, err := store.ListNodes(tx); err == nil {
		sw.Nodes = len(nodes)
	}
	sw.Managers = len(mgr.Members())
	if c, err := store.GetCluster(tx); err == nil {
		sw.Cluster = c
	}
	return info
}

// managerList is the freshest list of managers this node has: the Raft
// membership on a manager, else what the agent last heard.
func (n *Node) managerList(st *state) []dispatchapi.Peer {
	if _, mgr := n.parts(); mgr != nil {
		if peers := mgr.Managers(); len(peers) > 0 {
			return peers
		}
	}
	return st.Managers
}

// Control serves cluster requests locally on the leader and forwards them
// from a follower.
func (n *Node) Control(ctx context.Context) (apiserver.Control, http.Handler, error) {
	st, mgr := n.parts()
	if err := n.certExpiredControl(); err != nil {
		return nil, nil, err
	}
	switch {
	case st == nil:
		return nil, nil, swarm.ErrNotInSwarm
	case mgr == nil:
		return nil, nil, swarm.ErrNotManager
	}
	if ctl, leader := mgr.Control(); leader {
		return ctl, nil, nil
	}
	fwd, err := mgr.ForwardDocker()
	if err != nil {
		return nil, nil, err
	}
	return nil, fwd, nil
}

// leaderBackend serves requests that a follower forwarded: they are served
// here only if this node leads; they are never forwarded again.
type leaderBackend struct{ n *Node }

func (b leaderBackend) Info(ctx context.Context) apiserver.Info { return b.n.Info(ctx) }

func (b leaderBackend) Init(context.Context, apiserver.InitRequest) (swarm.NodeID, error) {
	return "", swarm.Errorf(swarm.ErrInvalidArgument, "swarm init cannot be forwarded")
}

func (b leaderBackend) Join(context.Context, apiserver.JoinRequest) error {
	return swarm.Errorf(swarm.ErrInvalidArgument, "swarm join cannot be forwarded")
}

func (b leaderBackend) Leave(context.Context, bool) error {
	return swarm.Errorf(swarm.ErrInvalidArgument, "swarm leave cannot be forwarded")
}

func (b leaderBackend) Control(ctx context.Context) (apiserver.Control, http.Handler, error) {
	_, mgr := b.n.parts()
	if mgr == nil {
		return nil, nil, swarm.ErrNoLeader
	}
	if ctl, leader := mgr.Control(); leader {
		return ctl, nil, nil
	}
	return nil, nil, swarm.ErrNoLeader
}

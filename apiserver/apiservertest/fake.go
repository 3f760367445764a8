package apiservertest

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// Backend is a fake apiserver.Backend. Set the Fn fields before use; the
// counters may be read at any time. Safe for concurrent use if the Fns are.
type Backend struct {
	InfoFn    func(ctx context.Context) apiserver.Info
	InitFn    func(ctx context.Context, req apiserver.InitRequest) (swarm.NodeID, error)
	JoinFn    func(ctx context.Context, req apiserver.JoinRequest) error
	LeaveFn   func(ctx context.Context, force bool) error
	ControlFn func(ctx context.Context) (apiserver.Control, http.Handler, error)

	InfoCalls, InitCalls, JoinCalls, LeaveCalls, ControlCalls atomic.Int64
}

var _ apiserver.Backend = (*Backend)(nil)

// NewLeader returns a Backend that answers as the leader: Control returns
// ctl, and Info reports an active manager with node ID nodeID.
func NewLeader(nodeID swarm.NodeID, ctl apiserver.Control) *Backend {
	return &Backend{
		InfoFn: func(context.Context) apiserver.Info {
			return apiserver.Info{Swarm: apiserver.SwarmInfo{
				NodeID: nodeID, State: apiserver.StateActive, ControlAvailable: true,
			}}
		},
		ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) {
			return ctl, nil, nil
		},
	}
}

// Info calls InfoFn; unset, it reports a node outside any swarm.
func (b *Backend) Info(ctx context.Context) apiserver.Info {
	b.InfoCalls.Add(1)
	if b.InfoFn == nil {
		return apiserver.Info{Swarm: apiserver.SwarmInfo{State: apiserver.StateInactive}}
	}
	return b.InfoFn(ctx)
}

// Init calls InitFn; unset, it returns node ID "fake-node".
func (b *Backend) Init(ctx context.Context, req apiserver.InitRequest) (swarm.NodeID, error) {
	b.InitCalls.Add(1)
	if b.InitFn == nil {
		return "fake-node", nil
	}
	return b.InitFn(ctx, req)
}

// Join calls JoinFn; unset, it succeeds.
func (b *Backend) Join(ctx context.Context, req apiserver.JoinRequest) error {
	b.JoinCalls.Add(1)
	if b.JoinFn == nil {
		return nil
	}
	return b.JoinFn(ctx, req)
}

// Leave calls LeaveFn; unset, it succeeds.
func (b *Backend) Leave(ctx context.Context, force bool) error {
	b.LeaveCalls.Add(1)
	if b.LeaveFn == nil {
		return nil
	}
	return b.LeaveFn(ctx, force)
}

// Control calls ControlFn; unset, it fails with swarm.ErrNotInSwarm.
func (b *Backend) Control(ctx context.Context) (apiserver.Control, http.Handler, error) {
	b.ControlCalls.Add(1)
	if b.ControlFn == nil {
		return nil, nil, swarm.ErrNotInSwarm
	}
	return b.ControlFn(ctx)
}

// Control is a fake apiserver.Control. Unset Fns return zero values and a
// nil error, except GetCluster and GetNode, which fail with swarm.ErrNotFound
// (a nil cluster or node would be a lie the server cannot render).
type Control struct {
	Services

	GetClusterFn    func(ctx context.Context) (*swarm.Cluster, error)
	UpdateClusterFn func(ctx context.Context, version uint64, spec swarm.ClusterSpec, rot controlapi.Rotation) error
	ListNodesFn     func(ctx context.Context, filters map[string][]string) ([]controlapi.NodeView, error)
	GetNodeFn       func(ctx context.Context, ref string) (controlapi.NodeView, error)
	UpdateNodeFn    func(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error
	RemoveNodeFn    func(ctx context.Context, ref string, force bool) error

	GetClusterCalls, UpdateClusterCalls, ListNodesCalls atomic.Int64
	GetNodeCalls, UpdateNodeCalls, RemoveNodeCalls      atomic.Int64
}

var _ apiserver.Control = (*Control)(nil)

// GetCluster calls GetClusterFn.
func (c *Control) GetCluster(ctx context.Context) (*swarm.Cluster, error) {
	c.GetClusterCalls.Add(1)
	if c.GetClusterFn == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "cluster not found")
	}
	return c.GetClusterFn(ctx)
}

// RootCACert returns the root CA of GetClusterFn's cluster (none without
// GetClusterFn), without counting a GetCluster call.
func (c *Control) RootCACert(ctx context.Context) ([]byte, error) {
	if c.GetClusterFn == nil {
		return nil, nil
	}
	cl, err := c.GetClusterFn(ctx)
	if err != nil {
		return nil, err
	}
	return cl.RootCA.CertPEM, nil
}

// UpdateCluster calls UpdateClusterFn.
func (c *Control) UpdateCluster(ctx context.Context, version uint64, spec swarm.ClusterSpec, rot controlapi.Rotation) error {
	c.UpdateClusterCalls.Add(1)
	if c.UpdateClusterFn == nil {
		return nil
	}
	return c.UpdateClusterFn(ctx, version, spec, rot)
}

// ListNodes calls ListNodesFn.
func (c *Control) ListNodes(ctx context.Context, filters map[string][]string) ([]controlapi.NodeView, error) {
	c.ListNodesCalls.Add(1)
	if c.ListNodesFn == nil {
		return nil, nil
	}
	return c.ListNodesFn(ctx, filters)
}

// GetNode calls GetNodeFn.
func (c *Control) GetNode(ctx context.Context, ref string) (controlapi.NodeView, error) {
	c.GetNodeCalls.Add(1)
	if c.GetNodeFn == nil {
		return controlapi.NodeView{}, swarm.Errorf(swarm.ErrNotFound, "node %s not found", ref)
	}
	return c.GetNodeFn(ctx, ref)
}

// UpdateNode calls UpdateNodeFn.
func (c *Control) UpdateNode(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error {
	c.UpdateNodeCalls.Add(1)
	if c.UpdateNodeFn == nil {
		return nil
	}
	return c.UpdateNodeFn(ctx, ref, version, spec)
}

// RemoveNode calls RemoveNodeFn.
func (c *Control) RemoveNode(ctx context.Context, ref string, force bool) error {
	c.RemoveNodeCalls.Add(1)
	if c.RemoveNodeFn == nil {
		return nil
	}
	return c.RemoveNodeFn(ctx, ref, force)
}

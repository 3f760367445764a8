package controlapi

import (
	"context"
	"strings"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// GetNode resolves ref and returns the node with its live manager status.
func (s *Server) GetNode(ctx context.Context, ref string) (NodeView, error) {
	tx, err := s.read(ctx)
	if err != nil {
		return NodeView{}, err
	}
	n, err := resolveNode(tx, ref)
	if err != nil {
		return NodeView{}, err
	}
	members, err := s.members()
	if err != nil {
		return NodeView{}, err
	}
	return view(n, members), nil
}

// ListNodes returns the nodes passing the Docker-style filters.
func (s *Server) ListNodes(ctx context.Context, filters map[string][]string) ([]NodeView, error) {
	f, err := parseNodeFilters(filters)
	if err != nil {
		return nil, err
	}
	tx, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	nodes, err := store.ListNodes(tx)
	if err != nil {
		return nil, err
	}
	members, err := s.members()
	if err != nil {
		return nil, err
	}
	out := []NodeView{}
	for _, n := range nodes {
		if v := view(n, members); matchNode(f, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *Server) members() (map[swarm.NodeID]Member, error) {
	list, err := s.cfg.Raft.Members()
	if err != nil {
		return nil, err
	}
	m := make(map[swarm.NodeID]Member, len(list))
	for _, x := range list {
		m[x.ID] = x
	}
	return m, nil
}

func view(n *swarm.Node, members map[swarm.NodeID]Member) NodeView {
	v := NodeView{Node: n}
	if m, ok := members[n.ID]; ok {
		v.ManagerStatus = &ManagerStatus{Leader: m.Leader, Reachability: m.Reachability, Addr: m.Addr}
	}
	return v
}

// resolveNode finds a node by full ID, then by name or hostname, then by a
// unique ID prefix, as Docker does.
func resolveNode(tx store.ReadTxn, ref string) (*swarm.Node, error) {
	if ref == "" {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "node ID or name is required")
	}
	if n, err := store.GetNode(tx, swarm.NodeID(ref)); err == nil {
		return n, nil
	}
	nodes, err := store.ListNodes(tx)
	if err != nil {
		return nil, err
	}
	if n, err := unique(ref, nodes, func(n *swarm.Node) bool { return n.Name() == ref }); n != nil || err != nil {
		return n, err
	}
	if n, err := unique(ref, nodes, func(n *swarm.Node) bool { return strings.HasPrefix(string(n.ID), ref) }); n != nil || err != nil {
		return n, err
	}
	return nil, swarm.Errorf(swarm.ErrNotFound, "node %s not found", ref)
}

func unique(ref string, nodes []*swarm.Node, match func(*swarm.Node) bool) (*swarm.Node, error) {
	var found []*swarm.Node
	for _, n := range nodes {
		if match(n) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, swarm.Errorf(swarm.ErrInvalidArgument, "node %s is ambiguous (%d matches found)", ref, len(found))
}

// UpdateNode replaces a node's spec. Demotion is refused when it would leave
// no manager or lose the Raft quorum.
func (s *Server) UpdateNode(ctx context.Context, ref string, version uint64, spec swarm.NodeSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	n, err := resolveNode(tx, ref)
	if err != nil {
		return err
	}
	if n.Spec.Role == swarm.RoleManager && spec.Role == swarm.RoleWorker {
		if err := s.checkDemote(n.ID); err != nil {
			return err
		}
	}
	if version == 0 {
		return errVersionZero
	}
	return s.cfg.Proposer.Propose(ctx, store.NewUpdateNodeSpec(n.ID, spec, version))
}

func (s *Server) checkDemote(id swarm.NodeID) error {
	members, err := s.cfg.Raft.Members()
	if err != nil {
		return err
	}
	in, reachable := false, 0
	for _, m := range members {
		if m.ID == id {
			in = true
			continue
		}
		if m.Reachability == swarm.ReachabilityReachable {
			reachable++
		}
	}
	if !in {
		return nil // never became a member: nothing to lose
	}
	if len(members) == 1 {
		return rpcError(swarm.ErrFailedPrecondition, "FailedPrecondition", "attempting to demote the last manager of the swarm")
	}
	if remaining := len(members) - 1; reachable < remaining/2+1 {
		return rpcError(swarm.ErrFailedPrecondition, "FailedPrecondition", "can't remove member from the raft: this would result in a loss of quorum")
	}
	return nil
}

// RemoveNode deletes a node and revokes its certificate. Managers must be
// demoted first; a node that is not down needs force.
func (s *Server) RemoveNode(ctx context.Context, ref string, force bool) error {
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	n, err := resolveNode(tx, ref)
	if err != nil {
		return err
	}
	members, err := s.members()
	if err != nil {
		return err
	}
	if _, ok := members[n.ID]; ok || n.Spec.Role == swarm.RoleManager {
		return rpcError(swarm.ErrFailedPrecondition, "FailedPrecondition",
			"node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal", n.ID)
	}
	if !force && n.Status.State != swarm.NodeStateDown {
		return rpcError(swarm.ErrFailedPrecondition, "FailedPrecondition", "node %s is not down and can't be removed", n.ID)
	}
	return s.cfg.Proposer.Propose(ctx, store.NewRemoveNode(n.ID))
}

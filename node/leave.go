package node

import (
	"context"
	"fmt"
	"time"

	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager"
	"github.com/shoal-project/shoal/swarm"
)

// Leave takes this node out of the swarm and forgets it. A manager first
// leaves the Raft membership; without force, a departure that would leave
// the swarm without a quorum (or without managers) is refused.
func (n *Node) Leave(ctx context.Context, force bool) error {
	if err := n.lock(ctx); err != nil {
		return err
	}
	defer n.unlock()
	st, mgr := n.parts()
	if st == nil {
		return swarm.Errorf(swarm.ErrUnavailable, swarm.MsgNotPartOfSwarm)
	}
	if mgr != nil {
		if err := n.leaveRaft(ctx, st, mgr, force); err != nil {
			return err
		}
	}
	n.shutdown()
	n.forget()
	n.log.Info("left the swarm", "node", st.NodeID)
	return nil
}

func (n *Node) leaveRaft(ctx context.Context, st *state, mgr *manager.Manager, force bool) error {
	peers := mgr.Managers()
	if !force {
		if err := checkLeave(len(peers), reachableOthers(mgr, st.NodeID)); err != nil {
			return err
		}
	}
	if len(peers) <= 1 {
		return nil // the last manager: nothing to leave
	}
	n.mu.Lock()
	client := clusternet.NewHTTPClient(n.creds)
	n.mu.Unlock()
	defer client.CloseIdleConnections()
	err := retryManagers(ctx, peers, 15*time.Second, func(ctx context.Context, addr string) error {
		return dispatchapi.Call(ctx, client, addr, dispatchapi.PathRaftLeave, dispatchapi.RaftLeaveRequest{}, nil)
	})
	if err != nil && !force {
		return fmt.Errorf("leaving the raft membership: %w", err)
	}
	return nil
}

// checkLeave refuses, in Docker's words, a manager's departure that would
// lose the quorum.
func checkLeave(total, reachableOthers int) error {
	if total <= 1 {
		return swarm.Errorf(swarm.ErrUnavailable, swarm.MsgLeaveLastManager)
	}
	if remaining := total - 1; reachableOthers < remaining/2+1 {
		return swarm.Errorf(swarm.ErrUnavailable, "You are attempting to leave the swarm on a node that is participating as a manager. "+
			"Removing this node leaves %d managers out of %d. Without a Raft quorum your swarm will be inaccessible. "+
			"The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. "+
			"Use `--force` to suppress this message.", reachableOthers, total)
	}
	return nil
}

// reachableOthers counts the other managers this node can vouch for: all of
// them if it is not the leader and has a leader, else the reachable ones.
func reachableOthers(mgr *manager.Manager, self swarm.NodeID) int {
	count := 0
	for _, m := range mgr.Members() {
		if m.ID != self && m.Reachability != swarm.ReachabilityUnreachable {
			count++
		}
	}
	return count
}

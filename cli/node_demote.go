package cli

import (
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
)

func newNodeDemoteCommand(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "demote NODE [NODE...]",
		Short: "Demote one or more nodes from manager in the swarm",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runNodeDemote(c, refs) })
		},
	}
}

func runNodeDemote(c *call, refs []string) error {
	demote := func(n *swarm.Node) error {
		if n.Spec.Role == swarm.NodeRoleWorker {
			fmt.Fprintf(c.out, "Node %s is already a worker.\n", n.ID)
			return errNoRoleChange
		}
		n.Spec.Role = swarm.NodeRoleWorker
		return nil
	}
	done := func(ref string) { fmt.Fprintf(c.out, "Manager %s demoted in the swarm.\n", ref) }
	return updateNodes(c, refs, demote, done)
}

package cli

import (
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
)

func newNodePromoteCommand(s *session) *cobra.Command {
	return &cobra.Command{
		Use:   "promote NODE [NODE...]",
		Short: "Promote one or more nodes to manager in the swarm",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runNodePromote(c, refs) })
		},
	}
}

func runNodePromote(c *call, refs []string) error {
	promote := func(n *swarm.Node) error {
		if n.Spec.Role == swarm.NodeRoleManager {
			fmt.Fprintf(c.out, "Node %s is already a manager.\n", n.ID)
			return errNoRoleChange
		}
		n.Spec.Role = swarm.NodeRoleManager
		return nil
	}
	done := func(ref string) { fmt.Fprintf(c.out, "Node %s promoted to a manager in the swarm.\n", ref) }
	return updateNodes(c, refs, promote, done)
}

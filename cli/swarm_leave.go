package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newSwarmLeaveCommand(s *session) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "leave [OPTIONS]",
		Short: "Leave the swarm",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error {
				if err := c.api.SwarmLeave(c.ctx, force); err != nil {
					return err
				}
				fmt.Fprintln(c.out, "Node left the swarm.")
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force this node to leave the swarm, ignoring warnings")
	return cmd
}

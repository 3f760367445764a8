package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newNodeRemoveCommand(s *session) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NODE [NODE...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more nodes from the swarm",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runNodeRemove(c, refs, force) })
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force remove a node from the swarm")
	return cmd
}

// runNodeRemove removes every node it can, printing each removed ref, and
// reports all failures at the end.
func runNodeRemove(c *call, refs []string, force bool) error {
	var errs []error
	for _, ref := range refs {
		if err := c.api.NodeRemove(c.ctx, ref, force); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.out, ref)
	}
	return errors.Join(errs...)
}

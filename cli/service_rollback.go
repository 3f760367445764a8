package cli

import (
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newServiceRollbackCommand(s *session) *cobra.Command {
	var detach, quiet bool
	cmd := &cobra.Command{
		Use:   "rollback [OPTIONS] SERVICE",
		Short: "Revert changes to a service's configuration",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runServiceRollback(c, args[0], detach, quiet) })
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&detach, flagDetach, "d", false, "Exit immediately instead of waiting for the service to converge")
	flags.BoolVarP(&quiet, flagQuiet, "q", false, "Suppress progress output")
	return cmd
}

// runServiceRollback asks the daemon to put the service's previous spec
// back: the current spec is sent unchanged with rollback=previous.
func runServiceRollback(c *call, ref string, detach, quiet bool) error {
	svc, _, err := c.api.ServiceInspect(c.ctx, ref, false)
	if err != nil {
		return err
	}
	return finishUpdate(c, svc, client.ServiceUpdateOptions{Rollback: "previous"}, "", ref, detach, quiet)
}

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

func newServiceRemoveCommand(s *session) *cobra.Command {
	return &cobra.Command{
		Use:     "rm SERVICE [SERVICE...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more services",
		Args:    requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runServiceRemove(c, refs) })
		},
	}
}

// runServiceRemove removes every service it can, printing each removed
// ref, and reports all failures at the end.
func runServiceRemove(c *call, refs []string) error {
	var errs []error
	for _, ref := range refs {
		if err := c.api.ServiceRemove(c.ctx, ref); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(c.out, ref)
	}
	return errors.Join(errs...)
}

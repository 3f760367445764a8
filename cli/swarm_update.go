package cli

import (
	"fmt"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newSwarmUpdateCommand(s *session) *cobra.Command {
	var opts swarmSpecOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS]",
		Short: "Update the swarm",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if !anyLocalFlagSet(cmd) {
				return pflag.ErrHelp
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runSwarmUpdate(c, cmd.Flags(), &opts) })
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// runSwarmUpdate reads the spec, changes what the flags say and writes it
// back with the version it read, so a concurrent change is refused.
func runSwarmUpdate(c *call, flags *pflag.FlagSet, opts *swarmSpecOptions) error {
	sw, err := c.api.SwarmInspect(c.ctx)
	if err != nil {
		return err
	}
	opts.merge(&sw.Spec, flags)
	if err := c.api.SwarmUpdate(c.ctx, sw.Version, sw.Spec, client.SwarmUpdateFlags{}); err != nil {
		return err
	}
	fmt.Fprintln(c.out, "Swarm updated.")
	return nil
}

// anyLocalFlagSet reports whether the user set one of cmd's own flags (global
// ones like --host do not count).
func anyLocalFlagSet(cmd *cobra.Command) bool {
	set := false
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) { set = set || f.Changed })
	return set
}

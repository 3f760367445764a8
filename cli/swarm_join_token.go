package cli

import (
	"errors"
	"fmt"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

type joinTokenOptions struct {
	rotate bool
	quiet  bool
}

func newSwarmJoinTokenCommand(s *session) *cobra.Command {
	var opts joinTokenOptions
	cmd := &cobra.Command{
		Use:   "join-token [OPTIONS] (worker|manager)",
		Short: "Manage join tokens",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runJoinToken(c, opts, args[0]) })
		},
	}
	cmd.Flags().BoolVar(&opts.rotate, "rotate", false, "Rotate join token")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only display token")
	return cmd
}

func runJoinToken(c *call, opts joinTokenOptions, role string) error {
	worker, manager := role == "worker", role == "manager"
	if !worker && !manager {
		return errors.New("unknown role " + role)
	}
	if opts.rotate {
		if err := rotateJoinToken(c, worker, manager); err != nil {
			return err
		}
		if !opts.quiet {
			fmt.Fprintf(c.out, "Successfully rotated %s join token.\n\n", role)
		}
	}
	// Read the swarm again: a rotation changed the tokens.
	sw, err := c.api.SwarmInspect(c.ctx)
	if err != nil {
		return err
	}
	if opts.quiet {
		token := sw.JoinTokens.Worker
		if manager {
			token = sw.JoinTokens.Manager
		}
		fmt.Fprintln(c.out, token)
		return nil
	}
	info, err := c.api.Info(c.ctx)
	if err != nil {
		return err
	}
	return printJoinCommand(c, info.Swarm.NodeID, worker, manager)
}

// rotateJoinToken echoes the current spec back with a rotation request.
func rotateJoinToken(c *call, worker, manager bool) error {
	sw, err := c.api.SwarmInspect(c.ctx)
	if err != nil {
		return err
	}
	return c.api.SwarmUpdate(c.ctx, sw.Version, sw.Spec, client.SwarmUpdateFlags{
		RotateWorkerToken:  worker,
		RotateManagerToken: manager,
	})
}

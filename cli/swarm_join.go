package cli

import (
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type swarmJoinOptions struct {
	listenAddr    nodeAddr
	advertiseAddr string
	token         string
	availability  string
}

func newSwarmJoinCommand(s *session) *cobra.Command {
	opts := swarmJoinOptions{listenAddr: newListenAddr()}
	cmd := &cobra.Command{
		Use:   "join [OPTIONS] HOST:PORT",
		Short: "Join a swarm as a node and/or manager",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runSwarmJoin(c, cmd.Flags(), &opts, args[0]) })
		},
	}
	flags := cmd.Flags()
	flags.Var(&opts.listenAddr, flagListenAddr, `Listen address (format: "<ip|interface>[:port]")`)
	flags.StringVar(&opts.advertiseAddr, flagAdvertiseAddr, "", `Advertised address (format: "<ip|interface>[:port]")`)
	flags.StringVar(&opts.token, "token", "", "Token for entry into the swarm")
	flags.StringVar(&opts.availability, flagAvailability, "active", `Availability of the node ("active", "pause", "drain")`)
	return cmd
}

func runSwarmJoin(c *call, flags *pflag.FlagSet, opts *swarmJoinOptions, remote string) error {
	req := swarm.JoinRequest{
		ListenAddr:    opts.listenAddr.String(),
		AdvertiseAddr: opts.advertiseAddr,
		RemoteAddrs:   []string{remote},
		JoinToken:     opts.token,
	}
	if flags.Changed(flagAvailability) {
		a, err := parseAvailability(opts.availability)
		if err != nil {
			return err
		}
		req.Availability = a
	}
	if err := c.api.SwarmJoin(c.ctx, req); err != nil {
		return err
	}
	info, err := c.api.Info(c.ctx)
	if err != nil {
		return err
	}
	role := "worker"
	if info.Swarm.ControlAvailable {
		role = "manager"
	}
	fmt.Fprintf(c.out, "This node joined a swarm as a %s.\n", role)
	return nil
}

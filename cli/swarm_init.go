package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type swarmInitOptions struct {
	spec            swarmSpecOptions
	listenAddr      nodeAddr
	advertiseAddr   string
	availability    string
	forceNewCluster bool
}

func newSwarmInitCommand(s *session) *cobra.Command {
	opts := swarmInitOptions{listenAddr: newListenAddr()}
	cmd := &cobra.Command{
		Use:   "init [OPTIONS]",
		Short: "Initialize a swarm",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runSwarmInit(c, cmd.Flags(), &opts) })
		},
	}
	flags := cmd.Flags()
	flags.Var(&opts.listenAddr, flagListenAddr, `Listen address (format: "<ip|interface>[:port]")`)
	flags.StringVar(&opts.advertiseAddr, flagAdvertiseAddr, "", `Advertised address (format: "<ip|interface>[:port]")`)
	flags.StringVar(&opts.availability, flagAvailability, "active", `Availability of the node ("active", "pause", "drain")`)
	flags.BoolVar(&opts.forceNewCluster, "force-new-cluster", false, "Force create a new cluster from current state")
	opts.spec.addFlags(flags)
	return cmd
}

func runSwarmInit(c *call, flags *pflag.FlagSet, opts *swarmInitOptions) error {
	req := swarm.InitRequest{
		ListenAddr:      opts.listenAddr.String(),
		AdvertiseAddr:   opts.advertiseAddr,
		ForceNewCluster: opts.forceNewCluster,
		DefaultAddrPool: []netip.Prefix{},
		SubnetSize:      24,
	}
	opts.spec.merge(&req.Spec, flags)
	if flags.Changed(flagAvailability) {
		a, err := parseAvailability(opts.availability)
		if err != nil {
			return err
		}
		req.Availability = a
	}
	nodeID, err := c.api.SwarmInit(c.ctx, req)
	if err != nil {
		return adviseAdvertiseAddr(err)
	}
	fmt.Fprintf(c.out, "Swarm initialized: current node (%s) is now a manager.\n\n", nodeID)
	if err := printJoinCommand(c, nodeID, true, false); err != nil {
		return err
	}
	fmt.Fprintln(c.out, "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.")
	return nil
}

// adviseAdvertiseAddr appends a hint to the errors of a node that cannot
// tell which address to advertise, as docker does.
func adviseAdvertiseAddr(err error) error {
	text := err.Error()
	if strings.Contains(text, "could not choose an IP address to advertise") ||
		strings.Contains(text, "could not find the system's IP address") {
		return errors.New(describe(err) + " - specify one with --advertise-addr")
	}
	return err
}

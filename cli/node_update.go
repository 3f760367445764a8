package cli

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type nodeUpdateOptions struct {
	role         string
	availability string
	labelAdd     []string
	labelRemove  []string
}

func newNodeUpdateCommand(s *session) *cobra.Command {
	var opts nodeUpdateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] NODE",
		Short: "Update a node",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error {
				done := func(string) { fmt.Fprintln(c.out, args[0]) }
				return updateNodes(c, args[:1], opts.merger(cmd.Flags()), done)
			})
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.role, "role", "", `Role of the node ("worker", "manager")`)
	flags.StringVar(&opts.availability, flagAvailability, "", `Availability of the node ("active", "pause", "drain")`)
	flags.StringArrayVar(&opts.labelAdd, "label-add", nil, `Add or update a node label ("key=value")`)
	flags.StringArrayVar(&opts.labelRemove, "label-rm", nil, "Remove a node label if exists")
	return cmd
}

// merger returns the spec change the flags ask for. Role and availability
// are sent as given: the daemon validates them.
func (o *nodeUpdateOptions) merger(flags *pflag.FlagSet) func(*swarm.Node) error {
	return func(n *swarm.Node) error {
		spec := &n.Spec
		if flags.Changed("role") {
			spec.Role = swarm.NodeRole(o.role)
		}
		if flags.Changed(flagAvailability) {
			spec.Availability = swarm.NodeAvailability(o.availability)
		}
		if spec.Labels == nil {
			spec.Labels = map[string]string{}
		}
		for _, kv := range o.labelAdd {
			k, v, _ := strings.Cut(kv, "=")
			spec.Labels[k] = v
		}
		for _, k := range o.labelRemove {
			if _, ok := spec.Labels[k]; !ok {
				return fmt.Errorf("key %s doesn't exist in node's labels", k)
			}
			delete(spec.Labels, k)
		}
		return nil
	}
}

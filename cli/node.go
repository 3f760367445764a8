package cli

import (
	"errors"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
)

func newNodeCommand(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Manage Swarm nodes",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(
		newNodeDemoteCommand(s),
		newNodeInspectCommand(s),
		newNodeListCommand(s),
		newNodePromoteCommand(s),
		newNodePsCommand(s),
		newNodeRemoveCommand(s),
		newNodeUpdateCommand(s),
	)
	return cmd
}

// nodeReference resolves "self" to this node's ID through /info, as docker
// does for node inspect; any other reference is passed on unchanged.
func nodeReference(c *call, ref string) (string, error) {
	if ref != "self" {
		return ref, nil
	}
	info, err := c.api.Info(c.ctx)
	if err != nil {
		return "", err
	}
	if info.Swarm.NodeID != "" {
		return info.Swarm.NodeID, nil
	}
	// Not in a swarm, or not a manager: a swarm endpoint says which.
	if _, err := c.api.NodeList(c.ctx, nil); err != nil {
		return "", err
	}
	return "", errors.New("node ID not found in /info")
}

// errNoRoleChange tells updateNodes to skip a node that already has the role.
var errNoRoleChange = errors.New("role was already set to the requested value")

// updateNodes does a read-modify-write of each node's spec: read it, let
// merge change it, write it back with the version read. It stops at the
// first error, as docker does.
func updateNodes(c *call, refs []string, merge func(*swarm.Node) error, done func(ref string)) error {
	for _, ref := range refs {
		node, _, err := c.api.NodeInspect(c.ctx, ref)
		if err != nil {
			return err
		}
		if err := merge(&node); err != nil {
			if errors.Is(err, errNoRoleChange) {
				continue
			}
			return err
		}
		if err := c.api.NodeUpdate(c.ctx, node.ID, node.Version, node.Spec); err != nil {
			return err
		}
		done(ref)
	}
	return nil
}

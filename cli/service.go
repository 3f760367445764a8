package cli

import (
	"context"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newServiceCommand(s *session) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Manage Swarm services",
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(
		newServiceCreateCommand(s),
		newServiceInspectCommand(s),
		newServiceLogsCommand(s),
		newServiceListCommand(s),
		newServicePsCommand(s),
		newServiceRemoveCommand(s),
		newServiceRollbackCommand(s),
		newServiceScaleCommand(s),
		newServiceUpdateCommand(s),
	)
	return cmd
}

// nameResolver turns node and service IDs into names for display, asking
// the daemon once per ID, as docker's ID resolver does. A failed lookup
// shows the ID itself. With off set, IDs are shown as they are.
type nameResolver struct {
	api   *client.Client
	off   bool
	cache map[string]string
}

func newNameResolver(api *client.Client, off bool) *nameResolver {
	return &nameResolver{api: api, off: off, cache: map[string]string{}}
}

// node names node id: its spec name, else its hostname.
func (r *nameResolver) node(ctx context.Context, id string) string {
	return r.resolve(id, func() string {
		n, _, err := r.api.NodeInspect(ctx, id)
		switch {
		case err != nil:
			return id
		case n.Spec.Name != "":
			return n.Spec.Name
		case n.Description.Hostname != "":
			return n.Description.Hostname
		}
		return id
	})
}

// service names service id.
func (r *nameResolver) service(ctx context.Context, id string) string {
	return r.resolve(id, func() string {
		s, _, err := r.api.ServiceInspect(ctx, id, false)
		if err != nil {
			return id
		}
		return s.Spec.Name
	})
}

func (r *nameResolver) resolve(id string, lookup func() string) string {
	if r.off || id == "" {
		return id
	}
	if name, ok := r.cache[id]; ok {
		return name
	}
	name := lookup()
	r.cache[id] = name
	return name
}

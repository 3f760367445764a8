package cli

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newServiceCreateCommand(s *session) *cobra.Command {
	o := newServiceOptions()
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new service",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Like docker: the words after the image are the task's
			// arguments; the image's entrypoint stays (Command is set by
			// --entrypoint only).
			o.image = args[0]
			if len(args) > 1 {
				o.args = args[1:]
			}
			return s.run(cmd, func(c *call) error { return runServiceCreate(c, cmd.Flags(), o) })
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(false)
	flags.StringVar(&o.mode, flagMode, modeReplicated, `Service mode ("replicated", "global")`)
	flags.StringVar(&o.name, flagName, "", "Service name")
	addServiceFlags(flags, o, true)
	flags.VarP(o.labels, flagLabel, "l", "Service labels")
	flags.Var(o.containerLabels, flagContainerLabel, "Container labels")
	flags.VarP(o.env, flagEnv, "e", "Set environment variables")
	flags.Var(o.constraints, flagConstraint, "Placement constraints")
	addIsolationFlags(flags, &o.isolation, true)
	return cmd
}

// runServiceCreate builds the spec from the flags (refusing bad ones before
// any request), pins the image through the daemon's registry lookup unless
// --no-resolve-image, creates the service, prints its ID and, without
// --detach, watches it converge.
func runServiceCreate(c *call, flags *pflag.FlagSet, o *serviceOptions) error {
	spec, err := o.toSpec(flags)
	if err != nil {
		return err
	}
	var auth string
	if o.registryAuth {
		auth = emptyRegistryAuth
	}
	task := &spec.TaskTemplate
	task.ContainerSpec.Image = withDefaultTag(task.ContainerSpec.Image)
	var warning string
	if !o.noResolveImage {
		warning = resolveImage(c, task, auth)
	}
	id, warnings, err := c.api.ServiceCreate(c.ctx, spec, client.ServiceCreateOptions{EncodedRegistryAuth: auth})
	if err != nil {
		return err
	}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	for _, w := range warnings {
		fmt.Fprintln(c.err, w)
	}
	fmt.Fprintln(c.out, id)
	if o.detach {
		return nil
	}
	return waitOnService(c, id, o.quiet)
}

// resolveImage asks the daemon for the task image's digest and platforms:
// the image is pinned to the digest and placement limited to the
// platforms, as docker does. When the lookup fails it returns the warning
// docker prints, and the image stays as it is.
func resolveImage(c *call, task *swarm.TaskSpec, auth string) string {
	image := task.ContainerSpec.Image
	dist, err := c.api.DistributionInspect(c.ctx, image, auth)
	if err != nil {
		return fmt.Sprintf("image %s could not be accessed on a registry to record\n"+
			"its digest. Each node will access %s independently,\n"+
			"possibly leading to different nodes running different\n"+
			"versions of the image.\n", image, image)
	}
	task.ContainerSpec.Image = withDigest(image, string(dist.Descriptor.Digest))
	if len(dist.Platforms) == 0 {
		return ""
	}
	platforms := make([]swarm.Platform, 0, len(dist.Platforms))
	for _, p := range dist.Platforms {
		arch := p.Architecture
		// Images say "arm" where nodes say "armv7l": swarm drops the
		// architecture of arm images so they can be scheduled at all.
		if strings.EqualFold(arch, "arm") {
			arch = ""
		}
		platforms = append(platforms, swarm.Platform{Architecture: arch, OS: p.OS})
	}
	if task.Placement == nil {
		task.Placement = &swarm.Placement{}
	}
	task.Placement.Platforms = platforms
	return ""
}

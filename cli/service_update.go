package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// serviceUpdateOptions are update's own flags besides the shared ones.
type serviceUpdateOptions struct {
	*serviceOptions
	args                                         shellWords
	force, rollbackPrevious                      bool
	labelRemove, containerLabelRemove, envRemove *listValue
	constraintRemove                             *listValue
}

func newServiceUpdateCommand(s *session) *cobra.Command {
	o := &serviceUpdateOptions{
		serviceOptions: newServiceOptions(),
		labelRemove:    newListValue(nil), containerLabelRemove: newListValue(nil),
		envRemove: newListValue(nil), constraintRemove: newListValue(nil),
	}
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] SERVICE",
		Short: "Update a service",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runServiceUpdate(c, cmd, o, args[0]) })
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.image, flagImage, "", "Service image tag")
	flags.Var(&o.args, flagArgs, "Service command args")
	flags.BoolVar(&o.rollbackPrevious, flagRollback, false, "Rollback to previous specification")
	flags.BoolVar(&o.force, flagForce, false, "Force update even if no changes require it")
	addServiceFlags(flags, o.serviceOptions, false)
	flags.Var(o.labels, flagLabelAdd, "Add or update a service label")
	flags.Var(o.labelRemove, flagLabelRemove, "Remove a label by its key")
	flags.Var(o.containerLabels, flagContainerLabelAdd, "Add or update a container label")
	flags.Var(o.containerLabelRemove, flagContainerLabelRemove, "Remove a container label by its key")
	flags.Var(o.env, flagEnvAdd, "Add or update an environment variable")
	flags.Var(o.envRemove, flagEnvRemove, "Remove an environment variable")
	flags.Var(o.constraints, flagConstraintAdd, "Add or update a placement constraint")
	flags.Var(o.constraintRemove, flagConstraintRemove, "Remove a constraint")
	addIsolationFlags(flags, &o.isolation, false)
	return cmd
}

// runServiceUpdate reads the service, changes what the flags ask for and
// writes the whole spec back with the version read. It prints the
// reference as typed and, without --detach, watches the update converge.
func runServiceUpdate(c *call, cmd *cobra.Command, o *serviceUpdateOptions, ref string) error {
	flags := cmd.Flags()
	svc, _, err := c.api.ServiceInspect(c.ctx, ref, false)
	if err != nil {
		return err
	}
	opts := client.ServiceUpdateOptions{RegistryAuthFrom: client.RegistryAuthFromSpec}
	if o.rollbackPrevious {
		if otherFlagSet(cmd.LocalFlags(), flagRollback, flagDetach, flagQuiet) {
			return errors.New("other flags may not be combined with --rollback")
		}
		opts.Rollback = "previous"
	}
	spec := &svc.Spec
	if err := o.merge(flags, spec); err != nil {
		return err
	}
	// merge made sure there is a container spec.
	task := &spec.TaskTemplate
	task.ContainerSpec.Image = withDefaultTag(task.ContainerSpec.Image)
	var auth, warning string
	if o.registryAuth {
		auth = emptyRegistryAuth
		opts.EncodedRegistryAuth, opts.RegistryAuthFrom = auth, ""
	}
	if flags.Changed(flagImage) && !o.noResolveImage {
		warning = resolveImage(c, task, auth)
	}
	return finishUpdate(c, svc, opts, warning, ref, o.detach, o.quiet)
}

// finishUpdate sends the update, prints the warnings and the reference,
// then watches the service unless detach.
func finishUpdate(c *call, svc swarm.Service, opts client.ServiceUpdateOptions, warning, ref string, detach, quiet bool) error {
	warnings, err := sendServiceUpdate(c, svc, opts)
	if err != nil {
		return err
	}
	if warning != "" {
		warnings = append(warnings, warning)
	}
	for _, w := range warnings {
		fmt.Fprintln(c.err, w)
	}
	fmt.Fprintln(c.out, ref)
	if detach {
		return nil
	}
	return waitOnService(c, ref, quiet)
}

// sendServiceUpdate writes svc's spec back with the version read. Like the
// docker client, it first gives an untagged image the "latest" tag.
func sendServiceUpdate(c *call, svc swarm.Service, opts client.ServiceUpdateOptions) ([]string, error) {
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		cs.Image = withDefaultTag(cs.Image)
	}
	return c.api.ServiceUpdate(c.ctx, svc.ID, svc.Version, svc.Spec, opts)
}

// otherFlagSet reports whether a flag of the command (global ones such as
// -H do not count) other than the allowed ones was set.
func otherFlagSet(flags *pflag.FlagSet, allowed ...string) bool {
	other := false
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Changed && !slices.Contains(allowed, f.Name) {
			other = true
		}
	})
	return other
}

// merge applies the flags the user set to spec, leaving everything else as
// read from the daemon.
func (o *serviceUpdateOptions) merge(flags *pflag.FlagSet, spec *swarm.ServiceSpec) error {
	task := &spec.TaskTemplate
	if task.ContainerSpec == nil {
		task.ContainerSpec = &swarm.ContainerSpec{}
	}
	cs := task.ContainerSpec
	updateLabels(flags, &spec.Labels, flagLabelAdd, o.labels, flagLabelRemove, o.labelRemove)
	updateLabels(flags, &cs.Labels, flagContainerLabelAdd, o.containerLabels, flagContainerLabelRemove, o.containerLabelRemove)
	setIfChanged(flags, flagImage, &cs.Image, o.image)
	setIfChanged(flags, flagArgs, &cs.Args, []string(o.args))
	setIfChanged(flags, flagEntrypoint, &cs.Command, []string(o.entrypoint))
	cs.Env = updateEnv(cs.Env, o.env.values, o.envRemove.values)
	setIfChanged(flags, flagWorkdir, &cs.Dir, o.workdir)
	setIfChanged(flags, flagUser, &cs.User, o.user)
	setIfChanged(flags, flagHostname, &cs.Hostname, o.hostname)
	setIfChanged(flags, flagInit, &cs.Init, ptrTo(o.init))
	setIfChanged(flags, flagStopGracePeriod, &cs.StopGracePeriod, o.stopGrace.value)
	setIfChanged(flags, flagTTY, &cs.TTY, o.tty)
	setIfChanged(flags, flagReadOnly, &cs.ReadOnly, o.readOnly)
	setIfChanged(flags, flagStopSignal, &cs.StopSignal, o.stopSignal)
	o.isolation.merge(cs)
	o.mergeResources(flags, task)
	o.restart.merge(flags, &task.RestartPolicy)
	o.mergePlacement(flags, task)
	if flags.Changed(flagReplicas) {
		if spec.Mode.Replicated == nil {
			return errors.New("replicas can only be used with replicated mode")
		}
		spec.Mode.Replicated.Replicas = o.replicas.value
	}
	o.update.merge(flags, &spec.UpdateConfig)
	o.rollback.merge(flags, &spec.RollbackConfig)
	if flags.Changed(flagEndpointMode) {
		if spec.EndpointSpec == nil {
			spec.EndpointSpec = &swarm.EndpointSpec{}
		}
		spec.EndpointSpec.Mode = swarm.ResolutionMode(o.endpointMode)
	}
	if o.force {
		task.ForceUpdate++
	}
	return nil
}

func (o *serviceUpdateOptions) mergeResources(flags *pflag.FlagSet, task *swarm.TaskSpec) {
	limits := anyChanged(flags, flagLimitCPU, flagLimitMemory)
	reservations := anyChanged(flags, flagReserveCPU, flagReserveMemory)
	if !limits && !reservations {
		return
	}
	if task.Resources == nil {
		task.Resources = &swarm.ResourceRequirements{}
	}
	r := task.Resources
	if limits {
		if r.Limits == nil {
			r.Limits = &swarm.Limit{}
		}
		setIfChanged(flags, flagLimitCPU, &r.Limits.NanoCPUs, int64(o.limitCPU))
		setIfChanged(flags, flagLimitMemory, &r.Limits.MemoryBytes, int64(o.limitMemory))
	}
	if reservations {
		if r.Reservations == nil {
			r.Reservations = &swarm.Resources{}
		}
		setIfChanged(flags, flagReserveCPU, &r.Reservations.NanoCPUs, int64(o.reserveCPU))
		setIfChanged(flags, flagReserveMemory, &r.Reservations.MemoryBytes, int64(o.reserveMemory))
	}
}

// mergePlacement adds and removes constraints (the result sorted, as
// docker sends it) and sets the per-node cap.
func (o *serviceUpdateOptions) mergePlacement(flags *pflag.FlagSet, task *swarm.TaskSpec) {
	constraints := anyChanged(flags, flagConstraintAdd, flagConstraintRemove)
	if !constraints && !flags.Changed(flagMaxReplicas) {
		return
	}
	if task.Placement == nil {
		task.Placement = &swarm.Placement{}
	}
	p := task.Placement
	setIfChanged(flags, flagMaxReplicas, &p.MaxReplicas, o.maxReplicas)
	if !constraints {
		return
	}
	kept := []string{}
	for _, c := range append(p.Constraints, o.constraints.values...) {
		if !slices.Contains(o.constraintRemove.values, c) {
			kept = append(kept, c)
		}
	}
	slices.Sort(kept)
	p.Constraints = kept
}

// updateLabels adds (or replaces) and removes labels by key.
func updateLabels(flags *pflag.FlagSet, labels *map[string]string, addFlag string, add *listValue, rmFlag string, rm *listValue) {
	if flags.Changed(addFlag) {
		if *labels == nil {
			*labels = map[string]string{}
		}
		for k, v := range kvMap(add.values) {
			(*labels)[k] = v
		}
	}
	if *labels != nil && flags.Changed(rmFlag) {
		for _, k := range rm.values {
			delete(*labels, k)
		}
	}
}

// updateEnv removes variables by name, then adds or replaces them: a
// replaced variable keeps its place, a new one comes last. (Docker builds
// the list from a map, so its order varies from run to run.)
func updateEnv(env, add, remove []string) []string {
	key := func(v string) string { k, _, _ := strings.Cut(v, "="); return k }
	if len(remove) > 0 {
		out := []string{}
		for _, v := range env {
			if !slices.Contains(remove, key(v)) {
				out = append(out, v)
			}
		}
		env = out
	}
	if len(add) == 0 {
		return env
	}
	out := slices.Clone(env)
	for _, v := range add {
		if i := slices.IndexFunc(out, func(cur string) bool { return key(cur) == key(v) }); i >= 0 {
			out[i] = v
			continue
		}
		out = append(out, v)
	}
	return out
}

// setIfChanged sets *field to value when the user set flag.
func setIfChanged[T any](flags *pflag.FlagSet, flag string, field *T, value T) {
	if flags.Changed(flag) {
		*field = value
	}
}

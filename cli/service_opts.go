package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/pflag"
)

// Flag names of service create and update.
const (
	flagName                    = "name"
	flagMode                    = "mode"
	flagReplicas                = "replicas"
	flagMaxReplicas             = "replicas-max-per-node"
	flagDetach                  = "detach"
	flagQuiet                   = "quiet"
	flagWorkdir                 = "workdir"
	flagUser                    = "user"
	flagHostname                = "hostname"
	flagEntrypoint              = "entrypoint"
	flagStopSignal              = "stop-signal"
	flagStopGracePeriod         = "stop-grace-period"
	flagTTY                     = "tty"
	flagInit                    = "init"
	flagReadOnly                = "read-only"
	flagLimitCPU                = "limit-cpu"
	flagLimitMemory             = "limit-memory"
	flagReserveCPU              = "reserve-cpu"
	flagReserveMemory           = "reserve-memory"
	flagRestartCondition        = "restart-condition"
	flagRestartDelay            = "restart-delay"
	flagRestartMaxAttempts      = "restart-max-attempts"
	flagRestartWindow           = "restart-window"
	flagUpdateParallelism       = "update-parallelism"
	flagUpdateDelay             = "update-delay"
	flagUpdateMonitor           = "update-monitor"
	flagUpdateFailureAction     = "update-failure-action"
	flagUpdateMaxFailureRatio   = "update-max-failure-ratio"
	flagUpdateOrder             = "update-order"
	flagRollbackParallelism     = "rollback-parallelism"
	flagRollbackDelay           = "rollback-delay"
	flagRollbackMonitor         = "rollback-monitor"
	flagRollbackFailureAction   = "rollback-failure-action"
	flagRollbackMaxFailureRatio = "rollback-max-failure-ratio"
	flagRollbackOrder           = "rollback-order"
	flagEndpointMode            = "endpoint-mode"
	flagRegistryAuth            = "with-registry-auth"
	flagNoResolveImage          = "no-resolve-image"
	flagLabel                   = "label"
	flagContainerLabel          = "container-label"
	flagEnv                     = "env"
	flagConstraint              = "constraint"
	flagImage                   = "image"
	flagArgs                    = "args"
	flagForce                   = "force"
	flagRollback                = "rollback"
	flagLabelAdd                = "label-add"
	flagLabelRemove             = "label-rm"
	flagContainerLabelAdd       = "container-label-add"
	flagContainerLabelRemove    = "container-label-rm"
	flagEnvAdd                  = "env-add"
	flagEnvRemove               = "env-rm"
	flagConstraintAdd           = "constraint-add"
	flagConstraintRemove        = "constraint-rm"
)

// Service modes the CLI knows.
const (
	modeReplicated = "replicated"
	modeGlobal     = "global"
)

// emptyRegistryAuth is the X-Registry-Auth value sent for
// --with-registry-auth: base64 of "{}", what docker sends without stored
// credentials (shoal keeps none).
const emptyRegistryAuth = "e30="

// Swarm's defaults for what a flag sets when a spec part it belongs to does
// not exist yet (swarmkit api/defaults).
const (
	defaultMonitor      = 5 * time.Second
	defaultRestartDelay = 5 * time.Second
)

// updateOptions are the --update-* (or --rollback-*) flags.
type updateOptions struct {
	parallelism     uint64
	delay           time.Duration
	monitor         time.Duration
	onFailure       string
	maxFailureRatio ratioValue
	order           string
	// flag names, in the order parallelism, delay, monitor, failure
	// action, max failure ratio, order.
	names [6]string
}

func newUpdateOptions(prefix string) updateOptions {
	return updateOptions{names: [6]string{
		prefix + "-parallelism", prefix + "-delay", prefix + "-monitor",
		prefix + "-failure-action", prefix + "-max-failure-ratio", prefix + "-order",
	}}
}

// defaultUpdateConfig is swarm's update (and rollback) configuration.
func defaultUpdateConfig() *swarm.UpdateConfig {
	return &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause,
		Monitor: defaultMonitor, Order: swarm.UpdateOrderStopFirst}
}

// merge writes the flags the user set into *cfg, starting from swarm's
// defaults when *cfg is nil. It leaves *cfg alone when no flag was set.
func (u *updateOptions) merge(flags *pflag.FlagSet, cfg **swarm.UpdateConfig) {
	if !anyChanged(flags, u.names[:]...) {
		return
	}
	if *cfg == nil {
		*cfg = defaultUpdateConfig()
	}
	c := *cfg
	changed := func(i int) bool { return flags.Changed(u.names[i]) }
	if changed(0) {
		c.Parallelism = u.parallelism
	}
	if changed(1) {
		c.Delay = u.delay
	}
	if changed(2) {
		c.Monitor = u.monitor
	}
	if changed(3) {
		c.FailureAction = swarm.FailureAction(u.onFailure)
	}
	if changed(4) {
		c.MaxFailureRatio = float32(u.maxFailureRatio)
	}
	if changed(5) {
		c.Order = swarm.UpdateOrder(u.order)
	}
}

// restartOptions are the --restart-* flags.
type restartOptions struct {
	condition   string
	delay       optionalDuration
	maxAttempts optionalUint
	window      optionalDuration
}

// merge writes the flags the user set into *p, starting from swarm's
// default policy when *p is nil.
func (r *restartOptions) merge(flags *pflag.FlagSet, p **swarm.RestartPolicy) {
	if !anyChanged(flags, flagRestartCondition, flagRestartDelay, flagRestartMaxAttempts, flagRestartWindow) {
		return
	}
	if *p == nil {
		*p = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: ptrTo(defaultRestartDelay), MaxAttempts: ptrTo[uint64](0)}
	}
	policy := *p
	if flags.Changed(flagRestartCondition) {
		policy.Condition = swarm.RestartPolicyCondition(r.condition)
	}
	if flags.Changed(flagRestartDelay) {
		policy.Delay = r.delay.value
	}
	if flags.Changed(flagRestartMaxAttempts) {
		policy.MaxAttempts = r.maxAttempts.value
	}
	if flags.Changed(flagRestartWindow) {
		policy.Window = r.window.value
	}
}

// serviceOptions are the flags service create and update share, plus the
// create-only ones (name, mode, image and its arguments).
type serviceOptions struct {
	detach, quiet bool

	name, mode, image string
	args              []string
	replicas          optionalUint
	maxReplicas       uint64

	labels, containerLabels, env, constraints *listValue

	workdir, user, hostname, stopSignal string
	entrypoint                          shellWords
	tty, init, readOnly                 bool
	stopGrace                           optionalDuration

	limitCPU, reserveCPU       nanoCPUs
	limitMemory, reserveMemory memBytes

	restart          restartOptions
	update, rollback updateOptions
	endpointMode     string

	registryAuth, noResolveImage bool

	isolation isolationOptions
}

func newServiceOptions() *serviceOptions {
	return &serviceOptions{
		labels:          newListValue(validateLabel),
		containerLabels: newListValue(validateLabel),
		env:             newListValue(validateEnv),
		constraints:     newListValue(nil),
		update:          newUpdateOptions("update"),
		rollback:        newUpdateOptions("rollback"),
		isolation:       newIsolationOptions(),
	}
}

// createDefaults are the defaults create's help states for flags whose
// unset value means "swarm's default" (update has none: unset keeps the
// current value).
var createDefaults = map[string]string{
	flagUpdateDelay: "0s", flagUpdateMonitor: "5s", flagUpdateFailureAction: `"pause"`,
	flagUpdateMaxFailureRatio: "0", flagUpdateOrder: `"stop-first"`,
	flagRollbackDelay: "0s", flagRollbackMonitor: "5s", flagRollbackFailureAction: `"pause"`,
	flagRollbackMaxFailureRatio: "0", flagRollbackOrder: `"stop-first"`,
	flagRestartCondition: `"any"`, flagRestartDelay: "5s", flagStopGracePeriod: "10s",
}

// addServiceFlags declares the flags create and update share. forCreate
// selects create's defaults (help text, parallelism 1, endpoint mode vip).
func addServiceFlags(flags *pflag.FlagSet, o *serviceOptions, forCreate bool) {
	desc := func(name, text string) string {
		if d, ok := createDefaults[name]; ok && forCreate {
			return text + " (default " + d + ")"
		}
		return text
	}
	var parallelism uint64
	endpointMode := ""
	if forCreate {
		parallelism, endpointMode = 1, string(swarm.ResolutionModeVIP)
	}
	flags.BoolVarP(&o.detach, flagDetach, "d", false, "Exit immediately instead of waiting for the service to converge")
	flags.BoolVarP(&o.quiet, flagQuiet, "q", false, "Suppress progress output")
	flags.StringVarP(&o.workdir, flagWorkdir, "w", "", "Working directory inside the container")
	flags.StringVarP(&o.user, flagUser, "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	flags.StringVar(&o.hostname, flagHostname, "", "Container hostname")
	flags.Var(&o.entrypoint, flagEntrypoint, "Overwrite the default ENTRYPOINT of the image")
	flags.Var(&o.limitCPU, flagLimitCPU, "Limit CPUs")
	flags.Var(&o.limitMemory, flagLimitMemory, "Limit Memory")
	flags.Var(&o.reserveCPU, flagReserveCPU, "Reserve CPUs")
	flags.Var(&o.reserveMemory, flagReserveMemory, "Reserve Memory")
	flags.Var(&o.stopGrace, flagStopGracePeriod, desc(flagStopGracePeriod, "Time to wait before force killing a container (ns|us|ms|s|m|h)"))
	flags.Var(&o.replicas, flagReplicas, "Number of tasks")
	flags.Uint64Var(&o.maxReplicas, flagMaxReplicas, 0, "Maximum number of tasks per node (default 0 = unlimited)")
	flags.StringVar(&o.restart.condition, flagRestartCondition, "", desc(flagRestartCondition, `Restart when condition is met ("none", "on-failure", "any")`))
	flags.Var(&o.restart.delay, flagRestartDelay, desc(flagRestartDelay, "Delay between restart attempts (ns|us|ms|s|m|h)"))
	flags.Var(&o.restart.maxAttempts, flagRestartMaxAttempts, "Maximum number of restarts before giving up")
	flags.Var(&o.restart.window, flagRestartWindow, "Window used to evaluate the restart policy (ns|us|ms|s|m|h)")
	addUpdateFlags(flags, &o.update, parallelism, desc, "updated simultaneously (0 to update all at once)",
		"Delay between updates", "Duration after each task update to monitor for failure",
		`Action on update failure ("pause", "continue", "rollback")`, "Failure rate to tolerate during an update", "Update order")
	addUpdateFlags(flags, &o.rollback, parallelism, desc, "rolled back simultaneously (0 to roll back all at once)",
		"Delay between task rollbacks", "Duration after each task rollback to monitor for failure",
		`Action on rollback failure ("pause", "continue")`, "Failure rate to tolerate during a rollback", "Rollback order")
	flags.StringVar(&o.endpointMode, flagEndpointMode, endpointMode, "Endpoint mode (vip or dnsrr)")
	flags.BoolVar(&o.registryAuth, flagRegistryAuth, false, "Send registry authentication details to swarm agents")
	flags.BoolVar(&o.noResolveImage, flagNoResolveImage, false, "Do not query the registry to resolve image digest and supported platforms")
	flags.BoolVarP(&o.tty, flagTTY, "t", false, "Allocate a pseudo-TTY")
	flags.BoolVar(&o.readOnly, flagReadOnly, false, "Mount the container's root filesystem as read only")
	flags.StringVar(&o.stopSignal, flagStopSignal, "", "Signal to stop the container")
	flags.BoolVar(&o.init, flagInit, false, "Use an init inside each service container to forward signals and reap processes")
}

// addUpdateFlags declares one family of --update-* or --rollback-* flags.
func addUpdateFlags(flags *pflag.FlagSet, u *updateOptions, parallelism uint64, desc func(string, string) string,
	parallelismText, delayText, monitorText, failureText, ratioText, orderText string) {
	n := u.names
	flags.Uint64Var(&u.parallelism, n[0], parallelism, "Maximum number of tasks "+parallelismText)
	flags.DurationVar(&u.delay, n[1], 0, desc(n[1], delayText+" (ns|us|ms|s|m|h)"))
	flags.DurationVar(&u.monitor, n[2], 0, desc(n[2], monitorText+" (ns|us|ms|s|m|h)"))
	flags.StringVar(&u.onFailure, n[3], "", desc(n[3], failureText))
	flags.Var(&u.maxFailureRatio, n[4], desc(n[4], ratioText))
	flags.StringVar(&u.order, n[5], "", desc(n[5], orderText+` ("start-first", "stop-first")`))
}

// serviceMode is the mode create sends: replicated (replicas unset means
// one, the daemon's default) or global.
func (o *serviceOptions) serviceMode() (swarm.ServiceMode, error) {
	switch o.mode {
	case modeReplicated:
		return swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: o.replicas.value}}, nil
	case modeGlobal:
		if o.replicas.value != nil {
			return swarm.ServiceMode{}, fmt.Errorf("replicas can only be used with replicated or replicated-job mode")
		}
		if o.maxReplicas > 0 {
			return swarm.ServiceMode{}, fmt.Errorf("replicas-max-per-node can only be used with replicated or replicated-job mode")
		}
		return swarm.ServiceMode{Global: &swarm.GlobalService{}}, nil
	}
	// Docker's wording, capital letter included. Job modes are not
	// supported by shoal's daemon, so they are unknown here too.
	return swarm.ServiceMode{}, fmt.Errorf("Unknown mode: %s, only replicated and global supported", o.mode)
}

// toSpec builds the spec service create sends, field for field what the
// docker CLI sends for the same flags.
func (o *serviceOptions) toSpec(flags *pflag.FlagSet) (swarm.ServiceSpec, error) {
	mode, err := o.serviceMode()
	if err != nil {
		return swarm.ServiceSpec{}, err
	}
	container := &swarm.ContainerSpec{
		Image: o.image, Labels: kvMap(o.containerLabels.values), Command: o.entrypoint, Args: o.args,
		Hostname: o.hostname, Env: mergeEnv(o.env.values), Dir: o.workdir, User: o.user,
		Init: ptrTo(o.init), StopSignal: o.stopSignal, TTY: o.tty, ReadOnly: o.readOnly,
		DNSConfig: &swarm.DNSConfig{},
	}
	if flags.Changed(flagStopGracePeriod) {
		container.StopGracePeriod = o.stopGrace.value
	}
	o.isolation.apply(container)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: o.name, Labels: kvMap(o.labels.values)},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: container,
			Resources: &swarm.ResourceRequirements{
				Limits:       &swarm.Limit{NanoCPUs: int64(o.limitCPU), MemoryBytes: int64(o.limitMemory)},
				Reservations: &swarm.Resources{NanoCPUs: int64(o.reserveCPU), MemoryBytes: int64(o.reserveMemory)},
			},
			Placement: &swarm.Placement{Constraints: o.constraints.values, MaxReplicas: o.maxReplicas},
		},
		Mode:         mode,
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionMode(strings.ToLower(o.endpointMode))},
	}
	o.restart.merge(flags, &spec.TaskTemplate.RestartPolicy)
	o.update.merge(flags, &spec.UpdateConfig)
	o.rollback.merge(flags, &spec.RollbackConfig)
	return spec, nil
}

// mergeEnv keeps the last setting of each variable, in the order given.
func mergeEnv(vars []string) []string {
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		key, _, _ := strings.Cut(v, "=")
		kept := out[:0]
		for _, cur := range out {
			if cur == v || !strings.HasPrefix(cur, key+"=") {
				kept = append(kept, cur)
			}
		}
		out = append(kept, v)
	}
	return out
}

func anyChanged(flags *pflag.FlagSet, names ...string) bool {
	for _, n := range names {
		if flags.Changed(n) {
			return true
		}
	}
	return false
}

func ptrTo[T any](v T) *T { return &v }

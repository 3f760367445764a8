package cli

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newServiceInspectCommand(s *session) *cobra.Command {
	var opts nodeInspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] SERVICE [SERVICE...]",
		Short: "Display detailed information on one or more services",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runServiceInspect(c, refs, opts) })
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	cmd.Flags().BoolVar(&opts.pretty, "pretty", false, "Print the information in a human friendly format")
	return cmd
}

// runServiceInspect prints each service as read with the daemon's defaults
// filled in (insertDefaults=true), re-encoded from the typed value as
// docker does. A missing service is reported as "Error: no such service".
func runServiceInspect(c *call, refs []string, opts nodeInspectOptions) error {
	format := opts.format
	if opts.pretty {
		format = formatPretty
	}
	if strings.HasPrefix(format, formatPretty) && format != formatPretty {
		return errors.New("Cannot supply extra formatting options to the pretty template")
	}
	if format == formatPretty {
		return inspectServicesPretty(c, refs)
	}
	printer, err := newInspectPrinter(strings.TrimPrefix(format, formatRaw))
	if err != nil {
		return &statusError{code: exitFailure, msg: err.Error()}
	}
	var errs []string
	for _, ref := range refs {
		svc, err := inspectService(c, ref)
		if err == nil {
			err = printer.add(svc)
		}
		if err != nil {
			errs = append(errs, describe(err))
		}
	}
	if err := printer.flush(c.out); err != nil {
		fmt.Fprintln(c.err, err)
	}
	if len(errs) > 0 {
		return &statusError{code: exitFailure, msg: strings.Join(errs, "\n")}
	}
	return nil
}

func inspectService(c *call, ref string) (swarm.Service, error) {
	svc, _, err := c.api.ServiceInspect(c.ctx, ref, true)
	if client.IsNotFound(err) {
		return svc, fmt.Errorf("Error: no such service: %s", ref)
	}
	return svc, err
}

// inspectServicesPretty prints every service in the human format, or
// nothing at all if one of them cannot be read.
func inspectServicesPretty(c *call, refs []string) error {
	var buf bytes.Buffer
	for _, ref := range refs {
		svc, err := inspectService(c, ref)
		if err != nil {
			return &statusError{code: exitFailure, msg: describe(err)}
		}
		buf.WriteString("\n")
		for _, line := range servicePrettyLines(svc) {
			buf.WriteString(line + "\n")
		}
		buf.WriteString("\n")
	}
	_, err := buf.WriteTo(c.out)
	return err
}

// servicePrettyLines lays a service out for people, the way
// `docker service inspect --pretty` does (tabs included).
func servicePrettyLines(s swarm.Service) []string {
	spec := s.Spec
	lines := []string{"ID:\t\t" + s.ID, "Name:\t\t" + spec.Name}
	lines = append(lines, mapLines("Labels:", "=", spec.Labels)...)
	lines = append(lines, modeLines(spec.Mode)...)
	lines = append(lines, updateStatusLines(s.UpdateStatus)...)
	lines = append(lines, placementLines(spec.TaskTemplate.Placement)...)
	if u := spec.UpdateConfig; u != nil {
		lines = append(lines, updateConfigLines("UpdateConfig:", "Update order:      ", u)...)
	}
	if r := spec.RollbackConfig; r != nil {
		lines = append(lines, updateConfigLines("RollbackConfig:", "Rollback order:    ", r)...)
	}
	lines = append(lines, containerLines(spec.TaskTemplate.ContainerSpec)...)
	lines = append(lines, logDriverLines(spec.TaskTemplate.LogDriver)...)
	lines = append(lines, resourceLines(spec.TaskTemplate.Resources)...)
	lines = append(lines, endpointLines(s)...)
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		lines = append(lines, healthcheckLines(cs.Healthcheck)...)
	}
	return lines
}

func modeLines(m swarm.ServiceMode) []string {
	switch {
	case m.Global != nil:
		return []string{"Service Mode:\tGlobal"}
	case m.Replicated != nil:
		lines := []string{"Service Mode:\tReplicated"}
		if r := m.Replicated.Replicas; r != nil {
			lines = append(lines, fmt.Sprintf(" Replicas:\t%d", *r))
		}
		return lines
	}
	return []string{"Service Mode:"}
}

func updateStatusLines(u *swarm.UpdateStatus) []string {
	if u == nil || u.State == "" {
		return nil
	}
	lines := []string{"UpdateStatus:", " State:\t\t" + string(u.State)}
	if u.StartedAt != nil {
		lines = append(lines, " Started:\t"+agoText(*u.StartedAt))
	}
	if u.State == swarm.UpdateStateCompleted && u.CompletedAt != nil {
		lines = append(lines, " Completed:\t"+agoText(*u.CompletedAt))
	}
	return append(lines, " Message:\t"+u.Message)
}

func agoText(t time.Time) string { return units.HumanDuration(time.Since(t)) + " ago" }

func placementLines(p *swarm.Placement) []string {
	lines := []string{"Placement:"}
	if p == nil {
		return lines
	}
	if len(p.Constraints) > 0 {
		lines = append(lines, fmt.Sprintf(" Constraints:\t%v", p.Constraints))
	}
	var prefs []string
	for _, pref := range p.Preferences {
		if pref.Spread != nil {
			prefs = append(prefs, "spread="+pref.Spread.SpreadDescriptor)
		}
	}
	if len(prefs) > 0 {
		lines = append(lines, fmt.Sprintf(" Preferences:   %v", prefs))
	}
	if p.MaxReplicas > 0 {
		lines = append(lines, fmt.Sprintf(" Max Replicas Per Node:   %d", p.MaxReplicas))
	}
	return lines
}

func updateConfigLines(title, orderLabel string, u *swarm.UpdateConfig) []string {
	lines := []string{title, fmt.Sprintf(" Parallelism:\t%d", u.Parallelism)}
	if u.Delay > 0 {
		lines = append(lines, fmt.Sprintf(" Delay:\t\t%s", u.Delay))
	}
	lines = append(lines, " On failure:\t"+string(u.FailureAction))
	if u.Monitor > 0 {
		lines = append(lines, fmt.Sprintf(" Monitoring Period: %s", u.Monitor))
	}
	return append(lines, fmt.Sprintf(" Max failure ratio: %v", u.MaxFailureRatio), " "+orderLabel+string(u.Order))
}

func containerLines(cs *swarm.ContainerSpec) []string {
	if cs == nil {
		cs = &swarm.ContainerSpec{}
	}
	lines := []string{"ContainerSpec:", " Image:\t\t" + cs.Image}
	if len(cs.Args) > 0 {
		lines = append(lines, " Args:\t\t"+joinTrailing(cs.Args))
	}
	if len(cs.Env) > 0 {
		lines = append(lines, " Env:\t\t"+joinTrailing(cs.Env))
	}
	if cs.Dir != "" {
		lines = append(lines, " Dir:\t\t"+cs.Dir)
	}
	if cs.Init != nil {
		lines = append(lines, fmt.Sprintf(" Init:\t\t%t", *cs.Init))
	}
	if cs.User != "" {
		lines = append(lines, " User: "+cs.User)
	}
	if len(cs.CapabilityAdd) > 0 || len(cs.CapabilityDrop) > 0 {
		lines = append(lines, "Capabilities:")
		if len(cs.CapabilityAdd) > 0 {
			lines = append(lines, " Add: "+strings.Join(cs.CapabilityAdd, ", "))
		}
		if len(cs.CapabilityDrop) > 0 {
			lines = append(lines, " Drop: "+strings.Join(cs.CapabilityDrop, ", "))
		}
	}
	lines = append(lines, mapLines("SysCtls:", ": ", cs.Sysctls)...)
	if len(cs.Ulimits) > 0 {
		limits := map[string]string{}
		for _, u := range cs.Ulimits {
			limits[u.Name] = fmt.Sprintf("%d:%d", u.Soft, u.Hard)
		}
		lines = append(lines, mapLines("Ulimits:", ": ", limits)...)
	}
	if len(cs.Mounts) > 0 {
		lines = append(lines, "Mounts:")
	}
	for _, m := range cs.Mounts {
		lines = append(lines, " Target:\t"+m.Target, "  Source:\t"+m.Source,
			fmt.Sprintf("  ReadOnly:\t%t", m.ReadOnly), "  Type:\t\t"+string(m.Type))
	}
	if len(cs.Configs) > 0 {
		lines = append(lines, "Configs:")
	}
	for _, ref := range cs.Configs {
		var target string
		if ref.File != nil {
			target = ref.File.Name
		}
		lines = append(lines, " Target:\t"+target, "  Source:\t"+ref.ConfigName)
	}
	if len(cs.Secrets) > 0 {
		lines = append(lines, "Secrets:")
	}
	for _, ref := range cs.Secrets {
		var target string
		if ref.File != nil {
			target = ref.File.Name
		}
		lines = append(lines, " Target:\t"+target, "  Source:\t"+ref.SecretName)
	}
	return lines
}

// logDriverLines shows the task's log driver, followed by an empty line as
// in docker's layout.
func logDriverLines(d *swarm.Driver) []string {
	if d == nil {
		return nil
	}
	lines := []string{"Log Driver:"}
	if d.Name != "" {
		lines = append(lines, " Name:\t\t"+d.Name)
	}
	if len(d.Options) > 0 {
		lines = append(lines, " LogOpts:")
		for _, k := range slices.Sorted(maps.Keys(d.Options)) {
			line := "  " + k
			if v := d.Options[k]; v != "" {
				line += ":       " + v
			}
			lines = append(lines, line)
		}
	}
	return append(lines, "")
}

// mapLines is a title and one " key<sep>value" line per entry (just the
// key when the value is empty), sorted by key; nothing for an empty map.
func mapLines(title, sep string, m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	lines := []string{title}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		line := " " + k
		if v := m[k]; v != "" {
			line += sep + v
		}
		lines = append(lines, line)
	}
	return lines
}

// joinTrailing joins words with a space after each, as docker's template
// ranges do.
func joinTrailing(words []string) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteString(w + " ")
	}
	return b.String()
}

func resourceLines(r *swarm.ResourceRequirements) []string {
	if r == nil {
		return nil
	}
	lines := []string{"Resources:"}
	if res := r.Reservations; res != nil && (res.NanoCPUs > 0 || res.MemoryBytes > 0) {
		lines = append(lines, " Reservations:")
		if res.NanoCPUs > 0 {
			lines = append(lines, fmt.Sprintf("  CPU:\t\t%v", float64(res.NanoCPUs)/1e9))
		}
		if res.MemoryBytes > 0 {
			lines = append(lines, "  Memory:\t"+units.BytesSize(float64(res.MemoryBytes)))
		}
	}
	if l := r.Limits; l != nil && (l.NanoCPUs > 0 || l.MemoryBytes > 0 || l.Pids > 0) {
		lines = append(lines, " Limits:")
		if l.NanoCPUs > 0 {
			lines = append(lines, fmt.Sprintf("  CPU:\t\t%v", float64(l.NanoCPUs)/1e9))
		}
		if l.MemoryBytes > 0 {
			lines = append(lines, "  Memory:\t"+units.BytesSize(float64(l.MemoryBytes)))
		}
	}
	if l := r.Limits; l != nil && l.Pids > 0 {
		lines = append(lines, fmt.Sprintf("  PIDs:\t\t%d", l.Pids))
	}
	return lines
}

// endpointLines ends the layout: networks, endpoint mode and the ports
// the service publishes, the last port line followed by a space.
func endpointLines(s swarm.Service) []string {
	var lines []string
	if nets := s.Spec.TaskTemplate.Networks; len(nets) > 0 {
		line := "Networks:"
		for _, n := range nets {
			line += " " + n.Target
		}
		lines = append(lines, line+" ")
	}
	mode := ""
	if e := s.Spec.EndpointSpec; e != nil {
		mode = string(e.Mode)
	}
	lines = append(lines, "Endpoint Mode:\t"+mode)
	if len(s.Endpoint.Ports) == 0 {
		return lines
	}
	lines = append(lines, "Ports:")
	for _, p := range s.Endpoint.Ports {
		lines = append(lines, fmt.Sprintf(" PublishedPort = %d", p.PublishedPort), "  Protocol = "+string(p.Protocol),
			fmt.Sprintf("  TargetPort = %d", p.TargetPort), "  PublishMode = "+string(p.PublishMode))
	}
	lines[len(lines)-1] += " "
	return lines
}

// healthcheckLines closes the layout with the container's health check.
func healthcheckLines(h *container.HealthConfig) []string {
	if h == nil {
		return nil
	}
	lines := []string{" Healthcheck:", fmt.Sprintf("  Interval = %s", h.Interval), fmt.Sprintf("  Retries = %d", h.Retries),
		fmt.Sprintf("  StartPeriod =\t%s", h.StartPeriod), fmt.Sprintf("  Timeout =\t%s", h.Timeout)}
	if len(h.Test) == 0 {
		return lines
	}
	lines = append(lines, "  Tests:")
	for _, t := range h.Test {
		lines = append(lines, "\t Test = "+t)
	}
	lines[len(lines)-1] += " "
	return lines
}

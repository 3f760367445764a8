package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

// defaultServiceTable is service ls' table.
const defaultServiceTable = "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}"

// serviceHeader names the columns of every field a service row offers.
var serviceHeader = map[string]string{
	"ID": "ID", "Name": "NAME", "Mode": "MODE", "Replicas": "REPLICAS", "Image": "IMAGE", "Ports": "PORTS",
}

type serviceListOptions struct {
	quiet   bool
	format  string
	filters filterFlag
}

func newServiceListCommand(s *session) *cobra.Command {
	opts := serviceListOptions{filters: filterFlag{client.NewFilters()}}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List services",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runServiceList(c, &opts) })
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display IDs")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	flags.VarP(&opts.filters, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runServiceList(c *call, opts *serviceListOptions) error {
	services, err := c.api.ServiceList(c.ctx, opts.filters.f, !opts.quiet)
	if err != nil {
		return err
	}
	if !opts.quiet {
		if err := countTasks(c.ctx, c.api, services); err != nil {
			return err
		}
	}
	slices.SortStableFunc(services, func(a, b swarm.Service) int { return naturalCompare(a.Spec.Name, b.Spec.Name) })
	rows := make([]any, len(services))
	for i := range services {
		rows[i] = &serviceRow{svc: services[i]}
	}
	return newListFormat(serviceListFormat(opts.format, opts.quiet)).write(c.out, serviceHeader, rows)
}

// countTasks fills ServiceStatus for services the daemon returned without
// it (daemons before API 1.41), counting their tasks on live nodes as
// docker does.
func countTasks(ctx context.Context, api *client.Client, services []swarm.Service) error {
	filters := client.NewFilters()
	status := map[string]*swarm.ServiceStatus{}
	for i, s := range services {
		switch {
		case s.ServiceStatus != nil:
			continue
		case s.Spec.Mode.Replicated != nil && s.Spec.Mode.Replicated.Replicas != nil:
			services[i].ServiceStatus = &swarm.ServiceStatus{DesiredTasks: *s.Spec.Mode.Replicated.Replicas}
		default:
			services[i].ServiceStatus = &swarm.ServiceStatus{}
		}
		status[s.ID] = &swarm.ServiceStatus{}
		filters.Add("service", s.ID)
	}
	if len(status) == 0 {
		return nil
	}
	tasks, err := api.TaskList(ctx, filters)
	if err != nil || len(tasks) == 0 {
		return err
	}
	active, err := activeNodes(ctx, api)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		st := status[t.ServiceID]
		if st == nil || !active[t.NodeID] {
			continue
		}
		if t.DesiredState != swarm.TaskStateShutdown {
			st.DesiredTasks++
		}
		if t.Status.State == swarm.TaskStateRunning {
			st.RunningTasks++
		}
	}
	for i, s := range services {
		if st := status[s.ID]; st != nil {
			services[i].ServiceStatus = st
		}
	}
	return nil
}

// serviceListFormat maps --format and --quiet to a template.
func serviceListFormat(format string, quiet bool) string {
	switch format {
	case "", formatTable:
		if quiet {
			return quietFormat
		}
		return defaultServiceTable
	case formatRaw:
		if quiet {
			return "id: {{.ID}}"
		}
		return `id: {{.ID}}\nname: {{.Name}}\nmode: {{.Mode}}\nreplicas: {{.Replicas}}\nimage: {{.Image}}\nports: {{.Ports}}\n`
	}
	return format
}

// serviceRow is one service as --format templates see it.
type serviceRow struct{ svc swarm.Service }

func (r *serviceRow) ID() string   { return shortID(r.svc.ID) }
func (r *serviceRow) Name() string { return r.svc.Spec.Name }

func (r *serviceRow) Mode() string {
	switch m := r.svc.Spec.Mode; {
	case m.Global != nil:
		return "global"
	case m.Replicated != nil:
		return "replicated"
	case m.ReplicatedJob != nil:
		return "replicated job"
	case m.GlobalJob != nil:
		return "global job"
	}
	return ""
}

// Replicas is running/desired, with the per-node cap of replicated
// services and the completions of jobs.
func (r *serviceRow) Replicas() string {
	var st swarm.ServiceStatus
	if r.svc.ServiceStatus != nil {
		st = *r.svc.ServiceStatus
	}
	m := r.svc.Spec.Mode
	switch {
	case m.ReplicatedJob != nil:
		var total uint64
		if m.ReplicatedJob.TotalCompletions != nil {
			total = *m.ReplicatedJob.TotalCompletions
		}
		return fmt.Sprintf("%d/%d (%d/%d completed)", st.RunningTasks, st.DesiredTasks, st.CompletedTasks, total)
	case m.GlobalJob != nil:
		return fmt.Sprintf("%d/%d (%d/%d completed)", st.RunningTasks, st.DesiredTasks, st.CompletedTasks, st.DesiredTasks+st.CompletedTasks)
	}
	if p := r.svc.Spec.TaskTemplate.Placement; m.Replicated != nil && p != nil && p.MaxReplicas > 0 {
		return fmt.Sprintf("%d/%d (max %d per node)", st.RunningTasks, st.DesiredTasks, p.MaxReplicas)
	}
	return fmt.Sprintf("%d/%d", st.RunningTasks, st.DesiredTasks)
}

func (r *serviceRow) Image() string {
	if cs := r.svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		return displayImage(cs.Image)
	}
	return ""
}

// Ports lists the ports published on the routing mesh, folding runs of
// consecutive ports into ranges: *:8080-8081->80-81/tcp.
func (r *serviceRow) Ports() string {
	ports := slices.Clone(r.svc.Endpoint.Ports)
	slices.SortStableFunc(ports, func(a, b swarm.PortConfig) int {
		if a.Protocol != b.Protocol {
			return strings.Compare(string(a.Protocol), string(b.Protocol))
		}
		return int(a.PublishedPort) - int(b.PublishedPort)
	})
	var out []string
	var cur portRange
	for _, p := range ports {
		if p.PublishMode != swarm.PortConfigPublishModeIngress {
			continue
		}
		if cur.extends(p) {
			cur.pubEnd, cur.targetEnd = p.PublishedPort, p.TargetPort
			continue
		}
		if cur.pubStart > 0 {
			out = append(out, cur.String())
		}
		cur = portRange{pubStart: p.PublishedPort, pubEnd: p.PublishedPort, targetStart: p.TargetPort, targetEnd: p.TargetPort, protocol: string(p.Protocol)}
	}
	if cur.pubStart > 0 {
		out = append(out, cur.String())
	}
	return strings.Join(out, ", ")
}

// MarshalJSON gives `--format json` every field a template can use.
func (r *serviceRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ID": r.ID(), "Name": r.Name(), "Mode": r.Mode(), "Replicas": r.Replicas(), "Image": r.Image(), "Ports": r.Ports(),
	})
}

// portRange is a run of published ports mapped to a run of target ports.
type portRange struct {
	pubStart, pubEnd, targetStart, targetEnd uint32
	protocol                                 string
}

// extends reports whether p continues the run: same protocol, published
// and target ports each at most one past the run's end, and no target
// overlap once the run is a range.
func (pr portRange) extends(p swarm.PortConfig) bool {
	isRange := pr.targetEnd != pr.targetStart
	overlaps := p.TargetPort <= pr.targetEnd
	return string(p.Protocol) == pr.protocol && p.PublishedPort-pr.pubEnd <= 1 && p.TargetPort-pr.targetEnd <= 1 && !(isRange && overlaps)
}

func (pr portRange) String() string {
	span := func(a, b uint32) string {
		if b > a {
			return fmt.Sprintf("%d-%d", a, b)
		}
		return strconv.FormatUint(uint64(a), 10)
	}
	return fmt.Sprintf("*:%s->%s/%s", span(pr.pubStart, pr.pubEnd), span(pr.targetStart, pr.targetEnd), pr.protocol)
}

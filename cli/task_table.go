package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/pflag"
)

// defaultTaskTable is the table of service ps and node ps.
const defaultTaskTable = "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}"

// taskHeader names the columns of every field a task row offers.
var taskHeader = map[string]string{
	"ID": "ID", "Name": "NAME", "Image": "IMAGE", "Node": "NODE", "DesiredState": "DESIRED STATE",
	"CurrentState": "CURRENT STATE", "Error": "ERROR", "Ports": "PORTS",
}

// maxTaskErrWidth is the width of the ERROR column when truncating.
const maxTaskErrWidth = 30

// taskListOptions are the flags service ps and node ps share.
type taskListOptions struct {
	quiet, noTrunc, noResolve bool
	format                    string
	filters                   filterFlag
}

func (o *taskListOptions) addFlags(flags *pflag.FlagSet) {
	flags.BoolVarP(&o.quiet, "quiet", "q", false, "Only display task IDs")
	flags.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.BoolVar(&o.noResolve, "no-resolve", false, "Do not map IDs to Names")
	flags.StringVar(&o.format, "format", "", "Pretty-print tasks using a Go template")
	flags.VarP(&o.filters, "filter", "f", "Filter output based on conditions provided")
}

// printTasks lays tasks out as docker does: named <service>.<slot> (or
// <service>.<node ID> for global services), sorted by name and then newest
// first, older tasks of a slot indented under the newest as " \_ name".
func printTasks(c *call, tasks []swarm.Task, o *taskListOptions) error {
	names := newNameResolver(c.api, o.noResolve)
	rows := make([]*taskRow, len(tasks))
	for i, t := range tasks {
		svc := names.service(c.ctx, t.ServiceID)
		name := fmt.Sprintf("%s.%d", svc, t.Slot)
		if t.Slot == 0 {
			name = svc + "." + t.NodeID
		}
		rows[i] = &taskRow{task: t, name: name, trunc: !o.noTrunc}
	}
	slices.SortStableFunc(rows, func(a, b *taskRow) int {
		if c := naturalCompare(a.name, b.name); c != 0 {
			return c
		}
		return b.task.CreatedAt.Compare(a.task.CreatedAt)
	})
	format := taskListFormat(o.format, o.quiet)
	table := strings.HasPrefix(format, formatTable)
	out := make([]any, len(rows))
	prev := ""
	for i, r := range rows {
		name := r.name
		if name == prev && table {
			r.name = ` \_ ` + name
		}
		prev = name
		r.node = names.node(c.ctx, r.task.NodeID)
		out[i] = r
	}
	return newListFormat(format).write(c.out, taskHeader, out)
}

// taskListFormat maps --format and --quiet to a template.
func taskListFormat(format string, quiet bool) string {
	switch format {
	case "", formatTable:
		if quiet {
			return quietFormat
		}
		return defaultTaskTable
	case formatRaw:
		if quiet {
			return "id: {{.ID}}"
		}
		return `id: {{.ID}}\nname: {{.Name}}\nimage: {{.Image}}\nnode: {{.Node}}\ndesired_state: {{.DesiredState}}\ncurrent_state: {{.CurrentState}}\nerror: {{.Error}}\nports: {{.Ports}}\n`
	}
	return format
}

// taskRow is one task as --format templates see it.
type taskRow struct {
	task       swarm.Task
	name, node string
	trunc      bool
}

func (r *taskRow) ID() string {
	if r.trunc {
		return shortID(r.task.ID)
	}
	return r.task.ID
}

func (r *taskRow) Name() string { return r.name }
func (r *taskRow) Node() string { return r.node }

// Image is the task's image, without its digest when truncating. A task
// without a container spec shows nothing (docker fails on it).
func (r *taskRow) Image() string {
	cs := r.task.Spec.ContainerSpec
	if cs == nil {
		return ""
	}
	if r.trunc {
		return displayImage(cs.Image)
	}
	return cs.Image
}

func (r *taskRow) DesiredState() string { return pretty(string(r.task.DesiredState)) }

// CurrentState is the state and how long ago the task reached it.
func (r *taskRow) CurrentState() string {
	return fmt.Sprintf("%s %s ago", pretty(string(r.task.Status.State)),
		strings.ToLower(units.HumanDuration(time.Since(r.task.Status.Timestamp))))
}

// Error is the task's error, quoted, cut to the column width when
// truncating.
func (r *taskRow) Error() string {
	msg := r.task.Status.Err
	if r.trunc {
		msg = ellipsis(msg, maxTaskErrWidth)
	}
	if msg == "" {
		return ""
	}
	return `"` + msg + `"`
}

// Ports lists the ports the task publishes on its node.
func (r *taskRow) Ports() string {
	var ports []string
	for _, p := range r.task.Status.PortStatus.Ports {
		ports = append(ports, fmt.Sprintf("*:%d->%d/%s", p.PublishedPort, p.TargetPort, p.Protocol))
	}
	return strings.Join(ports, ",")
}

// MarshalJSON gives `--format json` every field a template can use.
func (r *taskRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ID": r.ID(), "Name": r.Name(), "Image": r.Image(), "Node": r.Node(), "DesiredState": r.DesiredState(),
		"CurrentState": r.CurrentState(), "Error": r.Error(), "Ports": r.Ports(),
	})
}

// ellipsis cuts s to width characters, the last one an ellipsis.
func ellipsis(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	runes := []rune(s)
	return string(runes[:width-1]) + "…"
}

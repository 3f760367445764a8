package cli

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

// defaultNodeTable is node ls' table: the ID with a star for the node the
// CLI talks to, then hostname, status, availability, manager status and
// engine version.
const defaultNodeTable = "table {{.ID}} {{if .Self}}*{{else}} {{ end }}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}"

// nodeHeader names the columns of every field a node row offers.
var nodeHeader = map[string]string{
	"ID":            "ID",
	"Self":          "",
	"Hostname":      "HOSTNAME",
	"Status":        "STATUS",
	"Availability":  "AVAILABILITY",
	"ManagerStatus": "MANAGER STATUS",
	"EngineVersion": "ENGINE VERSION",
	"TLSStatus":     "TLS STATUS",
}

type nodeListOptions struct {
	quiet   bool
	format  string
	filters filterFlag
}

func newNodeListCommand(s *session) *cobra.Command {
	opts := nodeListOptions{filters: filterFlag{client.NewFilters()}}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List nodes in the swarm",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.run(cmd, func(c *call) error { return runNodeList(c, &opts) })
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display IDs")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	flags.VarP(&opts.filters, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

func runNodeList(c *call, opts *nodeListOptions) error {
	nodes, err := c.api.NodeList(c.ctx, opts.filters.f)
	if err != nil {
		return err
	}
	// Only /info knows which node is this one; skip it when nothing needs it.
	var info system.Info
	if len(nodes) > 0 && !opts.quiet {
		if info, err = c.api.Info(c.ctx); err != nil {
			return err
		}
	}
	slices.SortStableFunc(nodes, func(a, b swarm.Node) int {
		return naturalCompare(a.Description.Hostname, b.Description.Hostname)
	})
	rows := make([]any, len(nodes))
	for i := range nodes {
		rows[i] = &nodeRow{node: nodes[i], self: info.Swarm}
	}
	return newListFormat(nodeListFormat(opts.format, opts.quiet)).write(c.out, nodeHeader, rows)
}

// nodeListFormat maps --format and --quiet to a template.
func nodeListFormat(format string, quiet bool) string {
	switch format {
	case "", formatTable:
		if quiet {
			return quietFormat
		}
		return defaultNodeTable
	case formatRaw:
		if quiet {
			return "node_id: {{.ID}}"
		}
		return `node_id: {{.ID}}\nhostname: {{.Hostname}}\nstatus: {{.Status}}\navailability: {{.Availability}}\nmanager_status: {{.ManagerStatus}}\n`
	}
	return format
}

// nodeRow is one node as --format templates see it.
type nodeRow struct {
	node swarm.Node
	self swarm.Info // the answering node's swarm info
}

func (r *nodeRow) ID() string            { return r.node.ID }
func (r *nodeRow) Self() bool            { return r.node.ID == r.self.NodeID }
func (r *nodeRow) Hostname() string      { return r.node.Description.Hostname }
func (r *nodeRow) Status() string        { return pretty(string(r.node.Status.State)) }
func (r *nodeRow) Availability() string  { return pretty(string(r.node.Spec.Availability)) }
func (r *nodeRow) EngineVersion() string { return r.node.Description.Engine.EngineVersion }

// ManagerStatus is "Leader" for the leader, else the manager's
// reachability, and blank for workers.
func (r *nodeRow) ManagerStatus() string {
	ms := r.node.ManagerStatus
	switch {
	case ms == nil:
		return ""
	case ms.Leader:
		return "Leader"
	}
	return pretty(string(ms.Reachability))
}

// TLSStatus compares the node's certificate issuer with the cluster's.
func (r *nodeRow) TLSStatus() string {
	cl := r.self.Cluster
	nodeTLS := r.node.Description.TLSInfo
	if cl == nil || reflect.DeepEqual(cl.TLSInfo, swarm.TLSInfo{}) || reflect.DeepEqual(nodeTLS, swarm.TLSInfo{}) {
		return "Unknown"
	}
	if reflect.DeepEqual(nodeTLS, cl.TLSInfo) {
		return "Ready"
	}
	return "Needs Rotation"
}

// MarshalJSON gives `--format json` every field a template can use.
func (r *nodeRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"ID": r.ID(), "Self": r.Self(), "Hostname": r.Hostname(), "Status": r.Status(),
		"Availability": r.Availability(), "ManagerStatus": r.ManagerStatus(),
		"EngineVersion": r.EngineVersion(), "TLSStatus": r.TLSStatus(),
	})
}

// filterFlag is a repeatable --filter key=value flag.
type filterFlag struct{ f client.Filters }

func (ff *filterFlag) Type() string { return "filter" }

func (ff *filterFlag) String() string {
	var parts []string
	for k, vs := range ff.f {
		for v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (ff *filterFlag) Set(value string) error {
	k, v, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("bad format of filter (expected name=value)")
	}
	ff.f.Add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v))
	return nil
}

// naturalCompare orders strings the way people read them: runs of digits
// compare by value ("node2" < "node10"), digits sort before other bytes,
// and of two equal numbers the one with fewer leading zeros comes first.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		da, db := isDigit(a[i]), isDigit(b[j])
		switch {
		case da != db:
			if da {
				return -1
			}
			return 1
		case !da:
			if a[i] != b[j] {
				return int(a[i]) - int(b[j])
			}
			i, j = i+1, j+1
		default:
			var c int
			if i, j, c = compareNumbers(a, b, i, j); c != 0 {
				return c
			}
		}
	}
	return (len(a) - i) - (len(b) - j)
}

// compareNumbers compares the digit runs starting at a[i] and b[j] and
// returns the positions after them.
func compareNumbers(a, b string, i, j int) (int, int, int) {
	zi, zj := skipZeros(a, i), skipZeros(b, j)
	ei, ej := skipDigits(a, zi), skipDigits(b, zj)
	if la, lb := ei-zi, ej-zj; la != lb {
		return ei, ej, la - lb
	}
	if c := strings.Compare(a[zi:ei], b[zj:ej]); c != 0 {
		return ei, ej, c
	}
	return ei, ej, (zi - i) - (zj - j)
}

func skipZeros(s string, i int) int {
	for i < len(s) && s[i] == '0' {
		i++
	}
	return i
}

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

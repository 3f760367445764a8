package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/cobra"
)

type nodeInspectOptions struct {
	format string
	pretty bool
}

func newNodeInspectCommand(s *session) *cobra.Command {
	var opts nodeInspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] self|NODE [NODE...]",
		Short: "Display detailed information on one or more nodes",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runNodeInspect(c, refs, opts) })
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	cmd.Flags().BoolVar(&opts.pretty, "pretty", false, "Print the information in a human friendly format")
	return cmd
}

func runNodeInspect(c *call, refs []string, opts nodeInspectOptions) error {
	format := opts.format
	if opts.pretty {
		format = formatPretty
	}
	if strings.HasPrefix(format, formatPretty) && format != formatPretty {
		return errors.New("cannot supply extra formatting options to the pretty template")
	}
	if format == formatPretty {
		return inspectPretty(c, refs)
	}
	printer, err := newInspectPrinter(format)
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range refs {
		node, err := inspectNode(c, ref)
		if err == nil {
			err = printer.add(node)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := printer.flush(c.out); err != nil {
		fmt.Fprintln(c.err, err)
	}
	return errors.Join(errs...)
}

func inspectNode(c *call, ref string) (swarm.Node, error) {
	id, err := nodeReference(c, ref)
	if err != nil {
		return swarm.Node{}, err
	}
	node, _, err := c.api.NodeInspect(c.ctx, id)
	return node, err
}

// inspectPrinter prints inspected objects: as an indented JSON array (no
// format), a compact one ("json"), or through a template, one per line.
// Objects are re-encoded from the typed value, as docker does for nodes.
type inspectPrinter struct {
	format string
	tmpl   interface {
		Execute(io.Writer, any) error
	}
	items []any
	buf   bytes.Buffer
}

func newInspectPrinter(format string) (*inspectPrinter, error) {
	p := &inspectPrinter{format: format}
	if format == "" || format == formatJSON {
		return p, nil
	}
	t, err := parseTemplate(format)
	if err != nil {
		return nil, err
	}
	p.tmpl = t
	return p, nil
}

func (p *inspectPrinter) add(v any) error {
	if p.tmpl == nil {
		p.items = append(p.items, v)
		return nil
	}
	var line bytes.Buffer
	if err := p.tmpl.Execute(&line, v); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	p.buf.Write(line.Bytes())
	p.buf.WriteByte('\n')
	return nil
}

func (p *inspectPrinter) flush(w io.Writer) error {
	if p.tmpl != nil {
		if p.buf.Len() == 0 {
			_, err := io.WriteString(w, "\n")
			return err
		}
		_, err := p.buf.WriteTo(w)
		return err
	}
	if len(p.items) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	var b []byte
	var err error
	if p.format == formatJSON {
		b, err = json.Marshal(p.items)
	} else {
		b, err = json.MarshalIndent(p.items, "", "    ")
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// inspectPretty prints every node in the human format, or nothing at all if
// one of them cannot be read.
func inspectPretty(c *call, refs []string) error {
	var buf bytes.Buffer
	for _, ref := range refs {
		node, err := inspectNode(c, ref)
		if err != nil {
			return err
		}
		for _, line := range nodePrettyLines(node) {
			buf.WriteString(line + "\n")
		}
	}
	_, err := buf.WriteTo(c.out)
	return err
}

// nodePrettyLines lays a node out for people, line by line, the way
// `docker node inspect --pretty` does (tabs included: docker prints them
// raw and lets the terminal align).
func nodePrettyLines(n swarm.Node) []string {
	lines := []string{"ID:\t\t\t" + n.ID}
	if n.Spec.Name != "" {
		lines = append(lines, "Name:\t\t\t"+n.Spec.Name)
	}
	lines = append(lines, labelLines("Labels:", n.Spec.Labels)...)
	lines = append(lines,
		"Hostname:              \t"+n.Description.Hostname,
		"Joined at:             \t"+pretty(n.CreatedAt.String()))
	lines = append(lines, nodeStatusLines(n)...)
	d := n.Description
	lines = append(lines,
		"Platform:",
		" Operating System:\t"+d.Platform.OS,
		" Architecture:\t\t"+d.Platform.Architecture,
		"Resources:",
		fmt.Sprintf(" CPUs:\t\t\t%d", d.Resources.NanoCPUs/1e9),
		" Memory:\t\t"+memory(d.Resources.MemoryBytes))
	lines = append(lines, pluginLines(d.Engine.Plugins)...)
	lines = append(lines, "Engine Version:\t\t"+d.Engine.EngineVersion)
	lines = append(lines, labelLines("Engine Labels:", d.Engine.Labels)...)
	return append(lines, tlsLines(d.TLSInfo)...)
}

func nodeStatusLines(n swarm.Node) []string {
	lines := []string{"Status:", " State:\t\t\t" + pretty(string(n.Status.State))}
	if n.Status.Message != "" {
		lines = append(lines, " Message:              \t"+pretty(n.Status.Message))
	}
	lines = append(lines, " Availability:         \t"+pretty(string(n.Spec.Availability)))
	if n.Status.Addr != "" {
		lines = append(lines, " Address:\t\t"+n.Status.Addr)
	}
	ms := n.ManagerStatus
	if ms == nil {
		return lines
	}
	leader := "No"
	if ms.Leader {
		leader = "Yes"
	}
	return append(lines, "Manager Status:", " Address:\t\t"+ms.Addr,
		" Raft Status:\t\t"+pretty(string(ms.Reachability)), " Leader:\t\t"+leader)
}

// labelLines is a title and one " - key=value" line per label, sorted by
// key; nothing when there is no label.
func labelLines(title string, labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	lines := []string{title}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		line := " - " + k
		if v := labels[k]; v != "" {
			line += "=" + v
		}
		lines = append(lines, line)
	}
	return lines
}

// pluginLines lists the engine plugins grouped by type, sorted by type.
func pluginLines(plugins []swarm.PluginDescription) []string {
	if len(plugins) == 0 {
		return nil
	}
	byType := map[string][]string{}
	for _, p := range plugins {
		byType[p.Type] = append(byType[p.Type], p.Name)
	}
	lines := []string{"Plugins:"}
	for _, t := range slices.Sorted(maps.Keys(byType)) {
		line := " " + t + ":"
		if names := strings.Join(byType[t], ", "); names != "" {
			line += "\t\t" + names
		}
		lines = append(lines, line)
	}
	return lines
}

func tlsLines(tls swarm.TLSInfo) []string {
	// An empty but present issuer (decoded as a non-nil empty slice) still
	// shows the block, as in docker.
	if reflect.DeepEqual(tls, swarm.TLSInfo{}) {
		return nil
	}
	return []string{"TLS Info:", " TrustRoot:", tls.TrustRoot,
		" Issuer Subject:\t" + base64.StdEncoding.EncodeToString(tls.CertIssuerSubject),
		" Issuer Public Key:\t" + base64.StdEncoding.EncodeToString(tls.CertIssuerPublicKey)}
}

func memory(bytes int64) string {
	if bytes == 0 {
		return ""
	}
	return units.BytesSize(float64(bytes))
}

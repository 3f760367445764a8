package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
)

// Format names with a meaning of their own in --format.
const (
	formatTable  = "table"
	formatRaw    = "raw"
	formatPretty = "pretty"
	formatJSON   = "json"
	quietFormat  = "{{.ID}}"
)

// templateFuncs are the functions --format templates may call, as in docker.
var templateFuncs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    titleWords,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      padNonEmpty,
	"truncate": truncateTo,
}

// headerFuncs replace templateFuncs when a table header is rendered: they
// keep column names as they are, so `{{upper .Hostname}}` still heads its
// column with HOSTNAME.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"split":    func(v, _ string) string { return v },
	"join":     func(v, _ string) string { return v },
	"title":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"upper":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

func jsonString(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(buf.String())
}

func titleWords(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func padNonEmpty(s string, before, after int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", before) + s + strings.Repeat(" ", after)
}

func truncateTo(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// parseTemplate parses a user template with the docker functions.
func parseTemplate(text string) (*template.Template, error) {
	t, err := template.New("").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template parsing error: %w", err)
	}
	return t, nil
}

// listFormat is a --format value for a list command: a table (with a header
// row and aligned columns) or a plain template printed once per row.
type listFormat struct {
	table bool
	text  string
}

// newListFormat reads a --format value the docker way: "table ..." makes a
// table, "json" prints each row as JSON, and the two-character sequences
// \t and \n stand for a tab and a newline.
func newListFormat(value string) listFormat {
	f := listFormat{table: strings.HasPrefix(value, formatTable), text: value}
	switch {
	case f.table:
		f.text = value[len(formatTable):]
	case value == formatJSON:
		f.text = "{{json .}}"
	}
	f.text = strings.Trim(f.text, " ")
	f.text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(f.text)
	return f
}

// write renders rows, one line each. A table gets a header rendered from
// header (column name per field) and columns aligned three spaces apart.
func (f listFormat) write(w io.Writer, header map[string]string, rows []any) error {
	tmpl, err := parseTemplate(f.text)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, row := range rows {
		if err := tmpl.Execute(&body, row); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		body.WriteByte('\n')
	}
	if !f.table {
		_, err := body.WriteTo(w)
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	var head bytes.Buffer
	// A header that cannot be rendered (a field the header map lacks used
	// with a function) is printed as far as it went, like docker does.
	_ = template.Must(tmpl.Clone()).Funcs(headerFuncs).Execute(&head, header)
	head.WriteByte('\n')
	if _, err := head.WriteTo(tw); err != nil {
		return err
	}
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// pretty capitalises a word for people: first letter upper case, the rest
// lower case ("ready" → "Ready", "reachable" → "Reachable"), as docker does.
func pretty(s string) string {
	switch len(s) {
	case 0:
		return s
	case 1:
		return strings.ToLower(s)
	}
	return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
}

package swarm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"text/template/parse"
)

// Budgets of task templates ({{.Node.Hostname}} in an env value, a hostname
// or a working directory). text/template has no limit of its own: a
// `{{range 400000000}}` ran a worker out of memory at every restart. A
// template that would go over one of these fails, and its task is
// rejected (the service is refused at create and update already).
const (
	// MaxTemplateOutput bounds what one templated value expands to, and,
	// ten times over, the bytes its functions (printf, js, ...) produce.
	MaxTemplateOutput = 64 << 10
	// MaxTemplateTaskOutput bounds the expanded values of one task in all.
	MaxTemplateTaskOutput = 1 << 20
	// MaxTemplateSteps bounds the work of one value: its parse nodes, each
	// counted once per element of the largest collection it may range over
	// (ranges are not nested and templates do not call templates, so this
	// bounds every step the template can take).
	MaxTemplateSteps = 100_000
	// maxPrintfWidth bounds a printf width or precision (%999999999d would
	// allocate a gigabyte before anything else could stop it).
	maxPrintfWidth = 1024
)

// TemplateContext is what a task spec's templates may use, as in Docker:
// {{.Service.Name}}, {{.Task.Slot}}, {{.Node.Hostname}} and so on.
type TemplateContext struct {
	Service struct {
		ID     string
		Name   string
		Labels map[string]string
	}
	Node struct {
		ID       string
		Hostname string
	}
	Task struct {
		ID   string
		Name string
		Slot string
	}
}

// ExpandContainer fills in the templates of a container spec's env values,
// hostname and working directory, within the budgets above. The error
// names the value, in swarmkit's words.
func ExpandContainer(cs *ContainerSpec, c *TemplateContext) error {
	budget := MaxTemplateTaskOutput
	for i, e := range cs.Env {
		name, value, ok := strings.Cut(e, "=")
		if !ok {
			continue
		}
		out, err := expandBudget(value, c, &budget)
		if err != nil {
			return fmt.Errorf("expanding env failed: expanding env %q: %w", clip(e), err)
		}
		cs.Env[i] = name + "=" + out
	}
	var err error
	if cs.Hostname, err = expandBudget(cs.Hostname, c, &budget); err != nil {
		return fmt.Errorf("expanding hostname failed: %w", err)
	}
	if cs.Dir, err = expandBudget(cs.Dir, c, &budget); err != nil {
		return fmt.Errorf("expanding working directory failed: %w", err)
	}
	return nil
}

// checkTemplates expands the templates of a task spec for a made-up task,
// as swarmkit does before it stores a service, so that a template that
// cannot work is refused then rather than at every task.
func (t TaskSpec) checkTemplates(serviceLabels map[string]string) error {
	var c TemplateContext
	c.Service.ID, c.Service.Name, c.Service.Labels = "serviceid", "servicename", serviceLabels
	c.Node.ID, c.Node.Hostname = "nodeid", "nodeHostname"
	c.Task.ID, c.Task.Name, c.Task.Slot = "taskid", "taskname", "1"
	cs := t.Container
	cs.Env = append([]string(nil), cs.Env...)
	if err := ExpandContainer(&cs, &c); err != nil {
		return Errorf(ErrInvalidArgument, "%v", err)
	}
	return nil
}

// expandBudget expands s, taking its output from budget.
func expandBudget(s string, c *TemplateContext, budget *int) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	out, err := ExpandTemplate(s, c)
	if err != nil {
		return s, err
	}
	if *budget -= len(out); *budget < 0 {
		return s, fmt.Errorf("the templates of one task expand to more than %d bytes", MaxTemplateTaskOutput)
	}
	return out, nil
}

// ExpandTemplate renders one templated value with c.
func ExpandTemplate(s string, c *TemplateContext) (string, error) {
	var produced int // bytes made by the template's functions
	tmpl, err := template.New("expansion").Option("missingkey=zero").Funcs(budgetFuncs(&produced)).Parse(s)
	if err != nil {
		return s, err
	}
	if len(tmpl.Templates()) > 1 {
		return s, errors.New("template: expansion: define and block are not allowed")
	}
	var tc treeCheck
	if err := tc.walk(tmpl.Tree.Root, false); err != nil {
		return s, fmt.Errorf("template: expansion: %w", err)
	}
	if steps := tc.outside + tc.inside*largestCollection(c); steps > MaxTemplateSteps {
		return s, fmt.Errorf("template: expansion: too complex (up to %d steps, at most %d)", steps, MaxTemplateSteps)
	}
	var b limitedBuffer
	if err := tmpl.Execute(&b, c); err != nil {
		return s, err
	}
	return b.String(), nil
}

// largestCollection is the most elements a range may visit in c.
func largestCollection(c *TemplateContext) int { return len(c.Service.Labels) }

// treeCheck walks a parse tree: it counts the nodes outside ranges and
// inside them, and refuses what could make the work of a template
// unbounded: a template call (recursion), a range inside a range, a range
// over anything but a field of the context (an integer: {{range 400000000}}).
type treeCheck struct {
	outside, inside int
}

func (tc *treeCheck) walk(n parse.Node, inRange bool) error {
	if n == nil {
		return nil
	}
	if inRange {
		tc.inside++
	} else {
		tc.outside++
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := tc.walk(c, inRange); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return errors.New("template calls are not allowed")
	case *parse.RangeNode:
		if inRange {
			return errors.New("a range inside a range is not allowed")
		}
		if !rangesOverField(n.Pipe) {
			return fmt.Errorf("range is allowed over a field such as .Service.Labels only, not %s", n.Pipe)
		}
		return errors.Join(tc.walk(n.Pipe, false), tc.walk(n.List, true), tc.walk(n.ElseList, false))
	case *parse.IfNode:
		return errors.Join(tc.walk(n.Pipe, inRange), tc.walk(n.List, inRange), tc.walk(n.ElseList, inRange))
	case *parse.WithNode:
		return errors.Join(tc.walk(n.Pipe, inRange), tc.walk(n.List, inRange), tc.walk(n.ElseList, inRange))
	case *parse.ActionNode:
		return tc.walk(n.Pipe, inRange)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := tc.walk(c, inRange); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := tc.walk(a, inRange); err != nil {
				return err
			}
		}
	}
	return nil
}

// rangesOverField reports a range pipeline that is one field of the dot,
// e.g. .Service.Labels, possibly declaring variables.
func rangesOverField(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	_, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	return ok
}

// budgetFuncs replaces text/template's builtins that make new strings by
// ones that count what they make in produced and fail beyond ten times
// MaxTemplateOutput, so that a chain like {{js (js (js ...))}} (each six
// times its input) stays small.
func budgetFuncs(produced *int) template.FuncMap {
	take := func(s string) (string, error) {
		if *produced += len(s); *produced > 10*MaxTemplateOutput {
			return "", fmt.Errorf("the template's functions made more than %d bytes", 10*MaxTemplateOutput)
		}
		return s, nil
	}
	return template.FuncMap{
		"print":   func(a ...any) (string, error) { return take(fmt.Sprint(a...)) },
		"println": func(a ...any) (string, error) { return take(fmt.Sprintln(a...)) },
		"printf": func(format string, a ...any) (string, error) {
			if err := checkPrintfWidths(format); err != nil {
				return "", err
			}
			return take(fmt.Sprintf(format, a...))
		},
		"html":     func(a ...any) (string, error) { return take(template.HTMLEscapeString(evalArgs(a))) },
		"js":       func(a ...any) (string, error) { return take(template.JSEscapeString(evalArgs(a))) },
		"urlquery": func(a ...any) (string, error) { return take(url.QueryEscape(evalArgs(a))) },
	}
}

// evalArgs is text/template's rendering of an escaper's arguments.
func evalArgs(a []any) string {
	if len(a) == 1 {
		if s, ok := a[0].(string); ok {
			return s
		}
	}
	return fmt.Sprint(a...)
}

// checkPrintfWidths refuses a printf width or precision given as an
// argument (*) or above maxPrintfWidth.
func checkPrintfWidths(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		n := 0
	verb:
		for i++; i < len(format); i++ {
			switch ch := format[i]; {
			case ch == '*':
				return errors.New("printf: widths given as arguments (*) are not allowed")
			case ch >= '0' && ch <= '9':
				if n = n*10 + int(ch-'0'); n > maxPrintfWidth {
					return fmt.Errorf("printf: widths and precisions above %d are not allowed", maxPrintfWidth)
				}
			case strings.IndexByte(".+-# []", ch) >= 0:
				n = 0
			default:
				break verb
			}
		}
	}
	return nil
}

// limitedBuffer is a buffer that fails a write beyond MaxTemplateOutput,
// which ends the template's execution.
type limitedBuffer struct{ strings.Builder }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxTemplateOutput {
		return 0, fmt.Errorf("the template expands to more than %d bytes", MaxTemplateOutput)
	}
	return b.Builder.Write(p)
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

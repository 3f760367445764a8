package swarm

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testContext(labels int) *TemplateContext {
	var c TemplateContext
	c.Service.ID, c.Service.Name = "svc1", "web"
	c.Node.ID, c.Node.Hostname = "node1", "worker-1"
	c.Task.ID, c.Task.Name, c.Task.Slot = "task1", "web.3.task1", "3"
	c.Service.Labels = map[string]string{}
	for i := range labels {
		c.Service.Labels[fmt.Sprintf("l%04d", i)] = "v"
	}
	return &c
}

// Docker's templates render as before.
func TestTemplatesRender(t *testing.T) {
	c := testContext(2)
	c.Service.Labels["team"] = "blue"
	for in, want := range map[string]string{
		"{{.Node.Hostname}}":                                       "worker-1",
		"{{.Service.Name}}.{{.Task.Slot}}":                         "web.3",
		`{{index .Service.Labels "team"}}`:                         "blue",
		`{{range $k, $v := .Service.Labels}}{{$k}}={{$v}};{{end}}`: "l0000=v;l0001=v;team=blue;",
		`{{printf "%s-%04s" .Service.Name .Task.Slot}}`:            "web-0003",
		`{{if eq .Task.Slot "3"}}third{{else}}other{{end}}`:        "third",
		`{{.Task.Name | js | html | urlquery | print}}`:            "web.3.task1",
		"plain {{/* a comment */}}text":                            "plain text",
	} {
		got, err := ExpandTemplate(in, c)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
}

// Templates whose work or output has no bound are refused at once, with a
// reason: each of these used to run a worker out of memory or time.
func TestTemplateBombsAreRefused(t *testing.T) {
	c := testContext(1000)
	for in, reason := range map[string]string{
		"{{range 400000000}}x{{end}}":                                                 "range is allowed over a field",
		"{{range 400000000}}{{end}}":                                                  "range is allowed over a field",
		"{{$n := 400000000}}{{range $n}}{{end}}":                                      "range is allowed over a field",
		"{{with 400000000}}{{range .}}{{end}}{{end}}":                                 "range is allowed over a field",
		"{{range .Service.Labels}}{{range $.Service.Labels}}{{end}}{{end}}":           "a range inside a range",
		`{{define "a"}}{{template "a" .}}{{template "a" .}}{{end}}{{template "a" .}}`: "define and block are not allowed",
		`{{template "expansion" .}}`:                                                  "template calls are not allowed",
		`{{block "b" .}}x{{end}}`:                                                     "define and block are not allowed",
		`{{printf "%0999999999d" 1}}`:                                                 "widths and precisions above",
		`{{printf "%.999999999f" 1.0}}`:                                               "widths and precisions above",
		`{{printf "%*d" 999999999 1}}`:                                                "widths given as arguments",
		"{{range .Service.Labels}}" + strings.Repeat("{{.}}", 100) + "{{end}}":        "too complex",
		`{{range .Service.Labels}}{{printf "%1000s" "x"}}{{end}}`:                     "expands to more than 65536 bytes",
		"{{" + strings.Repeat("js (", 20) + `"<<<<"` + strings.Repeat(")", 20) + "}}": "functions made more than",
		`{{$x := "<"}}` + strings.Repeat(`{{$x = print $x $x}}`, 40) + "{{len $x}}":   "functions made more than",
		`{{$x := "<"}}` + strings.Repeat(`{{$x = printf "%s%s" $x $x}}`, 40):          "functions made more than",
	} {
		start := time.Now()
		got, err := ExpandTemplate(in, c)
		if err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%.60s: rendered %d bytes, err %v; want an error with %q", in, len(got), err, reason)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%.60s: refused after %v", in, d)
		}
	}
}

// A task's templated values together are bounded too.
func TestTemplatesOfATaskAreBoundedInAll(t *testing.T) {
	cs := ContainerSpec{Hostname: "{{.Node.Hostname}}"}
	for i := range 20 {
		cs.Env = append(cs.Env, fmt.Sprintf("V%d={{printf \"%%1000s\" \"\"}}", i)+strings.Repeat(`{{printf "%1000s" ""}}`, 60))
	}
	err := ExpandContainer(&cs, testContext(0))
	if err == nil || !strings.Contains(err.Error(), "expand to more than 1048576 bytes") {
		t.Fatalf("20 values of 61 KB: %v", err)
	}
	if !strings.HasPrefix(err.Error(), `expanding env failed: expanding env "V17=`) {
		t.Fatalf("the error does not name the value: %v", err)
	}
}

// A service whose template cannot work is refused before it is stored, as
// swarmkit refuses it (it expands the templates for a made-up task).
func TestValidateRefusesBadTemplates(t *testing.T) {
	spec := ServiceSpec{Name: "web", Mode: ModeReplicated, Replicas: 1,
		Task: TaskSpec{Container: ContainerSpec{Image: "busybox", Env: []string{"OK={{.Task.Slot}}", "X={{range 400000000}}x{{end}}"}}}}
	err := spec.Validate()
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), `expanding env failed: expanding env "X={{range 400000000}}x{{end}}"`) {
		t.Fatalf("Validate: %v", err)
	}
	for _, cs := range []ContainerSpec{{Hostname: "{{.Nope}}"}, {Dir: "/srv/{{"}} {
		spec.Task.Container = cs
		spec.Task.Container.Image = "busybox"
		if err := spec.Validate(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%+v: %v", cs, err)
		}
	}
	spec.Task.Container = ContainerSpec{Image: "busybox", Env: []string{"WHO={{.Node.Hostname}}", "NOT_A_TEMPLATE={"}, Hostname: "{{.Service.Name}}-{{.Task.Slot}}"}
	if err := spec.Validate(); err != nil {
		t.Fatalf("a good template refused: %v", err)
	}
}

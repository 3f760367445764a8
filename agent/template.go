package agent

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/shoal-project/shoal/swarm"
)

// templateContext is what a task spec's templates may use, as in Docker:
// {{.Service.Name}}, {{.Task.Slot}}, {{.Node.Hostname}} and so on.
type templateContext struct {
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

// expand fills in the templates of a task's env, hostname and working
// directory for this node. A template that does not parse is left as is.
func expand(t *swarm.Task, hostname string) *swarm.Task {
	var c templateContext
	c.Service.ID, c.Service.Name = string(t.ServiceID), t.ServiceName
	c.Node.ID, c.Node.Hostname = string(t.NodeID), hostname
	c.Task.ID = string(t.ID)
	c.Task.Slot = fmt.Sprint(t.Slot)
	c.Task.Name = fmt.Sprintf("%s.%d.%s", t.ServiceName, t.Slot, t.ID)
	out := t.Copy()
	cs := &out.Spec.Container
	for i, e := range cs.Env {
		cs.Env[i] = render(e, &c)
	}
	cs.Hostname = render(cs.Hostname, &c)
	cs.Dir = render(cs.Dir, &c)
	return out
}

func render(s string, c *templateContext) string {
	if !bytes.Contains([]byte(s), []byte("{{")) {
		return s
	}
	tmpl, err := template.New("spec").Option("missingkey=zero").Parse(s)
	if err != nil {
		return s
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, c); err != nil {
		return s
	}
	return b.String()
}

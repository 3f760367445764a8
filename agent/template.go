package agent

import (
	"fmt"

	"github.com/shoal-project/shoal/swarm"
)

// expand fills in the templates of a task's env, hostname and working
// directory for this node ({{.Node.Hostname}}, {{.Task.Slot}}, ...), within
// the budgets of swarm.ExpandContainer. A template that fails, or would go
// over its budget, fails the task (reported Rejected, as Docker does);
// the daemon goes on.
func expand(t *swarm.Task, hostname string) (*swarm.Task, error) {
	var c swarm.TemplateContext
	c.Service.ID, c.Service.Name = string(t.ServiceID), t.ServiceName
	c.Node.ID, c.Node.Hostname = string(t.NodeID), hostname
	c.Task.ID = string(t.ID)
	c.Task.Slot = fmt.Sprint(t.Slot)
	c.Task.Name = fmt.Sprintf("%s.%d.%s", t.ServiceName, t.Slot, t.ID)
	out := t.Copy()
	if err := swarm.ExpandContainer(&out.Spec.Container, &c); err != nil {
		return t, err
	}
	return out, nil
}

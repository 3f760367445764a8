package cli

import (
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newNodePsCommand(s *session) *cobra.Command {
	opts := taskListOptions{filters: filterFlag{client.NewFilters()}}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [NODE...]",
		Short: "List tasks running on one or more nodes, defaults to current node",
		RunE: func(cmd *cobra.Command, refs []string) error {
			if len(refs) == 0 {
				refs = []string{"self"}
			}
			return s.run(cmd, func(c *call) error { return runNodePs(c, refs, &opts) })
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// runNodePs lists the tasks of each node named ("self" is this node). A
// node that cannot be read is reported after the table of the others.
func runNodePs(c *call, refs []string, opts *taskListOptions) error {
	var (
		errs  []string
		tasks []swarm.Task
	)
	for _, ref := range refs {
		nodeTasks, err := nodeTasks(c, ref, opts.filters.f)
		if err != nil {
			errs = append(errs, describe(err))
			continue
		}
		tasks = append(tasks, nodeTasks...)
	}
	if len(errs) == 0 || len(tasks) > 0 {
		if err := printTasks(c, tasks, opts); err != nil {
			errs = append(errs, describe(err))
		}
	}
	if len(errs) > 0 {
		return &statusError{code: exitFailure, msg: strings.Join(errs, "\n")}
	}
	return nil
}

func nodeTasks(c *call, ref string, user client.Filters) ([]swarm.Task, error) {
	id, err := nodeReference(c, ref)
	if err != nil {
		return nil, err
	}
	node, _, err := c.api.NodeInspect(c.ctx, id)
	if err != nil {
		return nil, err
	}
	filters := client.NewFilters()
	for k, vs := range user {
		for v := range vs {
			filters.Add(k, v)
		}
	}
	return c.api.TaskList(c.ctx, filters.Add("node", node.ID))
}

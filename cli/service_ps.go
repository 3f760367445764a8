package cli

import (
	"errors"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

func newServicePsCommand(s *session) *cobra.Command {
	opts := taskListOptions{filters: filterFlag{client.NewFilters()}}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] SERVICE [SERVICE...]",
		Short: "List the tasks of one or more services",
		Args:  requiresMinArgs(1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return s.run(cmd, func(c *call) error { return runServicePs(c, refs, &opts) })
		},
	}
	opts.addFlags(cmd.Flags())
	return cmd
}

// runServicePs lists the tasks of the services named, history included.
// Services are matched client-side, as docker does: full ID, then name,
// then unique ID prefix. Unknown ones are reported after the table; when
// none is known, nothing is listed.
func runServicePs(c *call, refs []string, opts *taskListOptions) error {
	filters, notFound, err := serviceFilter(c, refs, opts.filters.f)
	if err != nil {
		return err
	}
	if err := resolveNodeFilter(c, filters); err != nil {
		return err
	}
	tasks, err := c.api.TaskList(c.ctx, filters)
	if err != nil {
		return err
	}
	if opts.quiet {
		opts.noTrunc = true
	}
	if err := printTasks(c, tasks, opts); err != nil {
		return err
	}
	if len(notFound) > 0 {
		return errors.New(strings.Join(notFound, "\n"))
	}
	return nil
}

// serviceFilter adds a "service" filter for each reference it can match
// and returns the "no such service" messages of the others.
func serviceFilter(c *call, refs []string, user client.Filters) (client.Filters, []string, error) {
	filters := client.NewFilters()
	for k, vs := range user {
		for v := range vs {
			filters.Add(k, v)
		}
	}
	byID, byName := client.NewFilters(), client.NewFilters()
	for _, ref := range refs {
		byID.Add("id", ref)
		byName.Add("name", ref)
	}
	idMatches, err := c.api.ServiceList(c.ctx, byID, false)
	if err != nil {
		return nil, nil, err
	}
	nameMatches, err := c.api.ServiceList(c.ctx, byName, false)
	if err != nil {
		return nil, nil, err
	}
	var notFound []string
	found := 0
	for _, ref := range refs {
		id, err := matchService(ref, idMatches, nameMatches)
		if err != nil {
			return nil, nil, err
		}
		if id == "" {
			notFound = append(notFound, "no such service: "+ref)
			continue
		}
		filters.Add("service", id)
		found++
	}
	if found == 0 {
		return nil, nil, errors.New(strings.Join(notFound, "\n"))
	}
	return filters, notFound, nil
}

// matchService picks ref's service: the one with that ID, else that name,
// else the one ID it prefixes ("" when none).
func matchService(ref string, byID, byName []swarm.Service) (string, error) {
	for _, s := range byID {
		if s.ID == ref {
			return s.ID, nil
		}
	}
	for _, s := range byName {
		if s.Spec.Name == ref {
			return s.ID, nil
		}
	}
	match := ""
	for _, s := range byID {
		if strings.HasPrefix(s.ID, ref) {
			if match != "" {
				return "", errors.New("multiple services found with provided prefix: " + ref)
			}
			match = s.ID
		}
	}
	return match, nil
}

// resolveNodeFilter replaces "self" in a node filter by this node's ID.
func resolveNodeFilter(c *call, filters client.Filters) error {
	refs := sortedKeys(filters["node"])
	for _, ref := range refs {
		id, err := nodeReference(c, ref)
		if err != nil {
			return err
		}
		delete(filters["node"], ref)
		filters["node"][id] = true
	}
	return nil
}

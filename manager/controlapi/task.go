package controlapi

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// ListTasks returns the tasks passing Docker's task filters.
func (s *Server) ListTasks(ctx context.Context, in map[string][]string) ([]*swarm.Task, error) {
	f, err := parseFilters(in, "id", "name", "service", "node", "desired-state", "label", "_up-to-date")
	if err != nil {
		return nil, err
	}
	tx, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := resolveTaskFilters(tx, f); err != nil {
		return nil, err
	}
	all, err := store.ListTasks(tx)
	if err != nil {
		return nil, err
	}
	out := []*swarm.Task{}
	doubt := nodesInDoubt(tx)
	for _, t := range all {
		if matchTask(tx, f, t) {
			out = append(out, doubt.show(t))
		}
	}
	return out, nil
}

// resolveTaskFilters turns service and node names into IDs, as Docker's
// daemon does before asking swarmkit.
func resolveTaskFilters(tx store.ReadTxn, f filters) error {
	for i, ref := range f["service"] {
		svc, err := resolveService(tx, ref)
		if err != nil {
			return err
		}
		f["service"][i] = string(svc.ID)
	}
	for i, ref := range f["node"] {
		if n, err := resolveNode(tx, ref); err == nil {
			f["node"][i] = string(n.ID)
		}
	}
	for _, v := range f["desired-state"] {
		if v != "running" && v != "shutdown" && v != "accepted" {
			return swarm.Errorf(swarm.ErrInvalidArgument, "Invalid desired-state filter value '%s'", v)
		}
	}
	return nil
}

func matchTask(tx store.ReadTxn, f filters, t *swarm.Task) bool {
	return f.any("id", func(x string) bool { return strings.HasPrefix(string(t.ID), x) }) &&
		f.any("service", func(x string) bool { return string(t.ServiceID) == x }) &&
		f.any("node", func(x string) bool { return string(t.NodeID) == x }) &&
		f.any("name", func(x string) bool { return strings.HasPrefix(TaskName(t), x) }) &&
		f.any("desired-state", func(x string) bool { return desiredMatches(t, x) }) &&
		f.any("label", func(x string) bool { return labelMatch(t.Spec.Container.Labels, x) }) &&
		f.any("_up-to-date", func(string) bool { return upToDate(tx, t) })
}

func desiredMatches(t *swarm.Task, want string) bool {
	switch want {
	case "running":
		return t.DesiredState == swarm.TaskRunning
	case "shutdown":
		return t.DesiredState >= swarm.TaskShutdown
	}
	return t.DesiredState == swarm.TaskAccepted
}

// upToDate reports whether t was made from its service's current spec.
func upToDate(tx store.ReadTxn, t *swarm.Task) bool {
	svc, err := store.GetService(tx, t.ServiceID)
	return err == nil && t.SpecVersion == svc.SpecVersion
}

// TaskName is how Docker names a task: service.slot, or service.node for a
// global service's task.
func TaskName(t *swarm.Task) string {
	if t.Slot > 0 {
		return fmt.Sprintf("%s.%d", t.ServiceName, t.Slot)
	}
	return fmt.Sprintf("%s.%s", t.ServiceName, t.NodeID)
}

// GetTask resolves a task by full ID or unique ID prefix.
func (s *Server) GetTask(ctx context.Context, ref string) (*swarm.Task, error) {
	tx, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	t, err := resolveTask(tx, ref)
	if err != nil {
		return nil, err
	}
	return showTask(tx, t), nil
}

func resolveTask(tx store.ReadTxn, ref string) (*swarm.Task, error) {
	if t, err := store.GetTask(tx, swarm.TaskID(ref)); err == nil {
		return t, nil
	}
	all, err := store.ListTasks(tx)
	if err != nil {
		return nil, err
	}
	return uniquePrefix(all, ref, "task", func(t *swarm.Task) string { return string(t.ID) })
}

// uniquePrefix finds the one object whose ID starts with ref, in Docker's
// words when there is none or more than one.
func uniquePrefix[T any](all []T, ref, kind string, id func(T) string) (T, error) {
	var zero T
	var found []T
	for _, o := range all {
		if ref != "" && strings.HasPrefix(id(o), ref) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return zero, swarm.Errorf(swarm.ErrNotFound, "%s %s not found", kind, ref)
	}
	return zero, swarm.Errorf(swarm.ErrInvalidArgument, "%s %s is ambiguous (%d matches found)", kind, ref, len(found))
}

// ServiceLogs streams the log lines of every task of a service.
func (s *Server) ServiceLogs(ctx context.Context, ref string, opts LogOptions, out func(LogMessage) error) error {
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	svc, err := resolveService(tx, ref)
	if err != nil {
		return err
	}
	tasks, err := store.TasksOfService(tx, svc.ID)
	if err != nil {
		return err
	}
	return s.streamLogs(ctx, tasks, opts, out)
}

// TaskLogs streams the log lines of one task.
func (s *Server) TaskLogs(ctx context.Context, ref string, opts LogOptions, out func(LogMessage) error) error {
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	t, err := resolveTask(tx, ref)
	if err != nil {
		return err
	}
	return s.streamLogs(ctx, []*swarm.Task{t}, opts, out)
}

func (s *Server) streamLogs(ctx context.Context, tasks []*swarm.Task, opts LogOptions, out func(LogMessage) error) error {
	if s.cfg.Logs == nil {
		return swarm.Errorf(swarm.ErrUnavailable, "service logs are not available on this manager")
	}
	// One stream per task, all at once (following several tasks must not
	// wait for the first to end); out sees one message at a time; the first
	// failure ends the other streams.
	g, ctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for _, t := range tasks {
		if t.NodeID == "" {
			continue
		}
		g.Go(func() error {
			return s.cfg.Logs.TaskLogs(ctx, t, opts, func(m LogMessage) error {
				mu.Lock()
				defer mu.Unlock()
				return out(m)
			})
		})
	}
	return g.Wait()
}

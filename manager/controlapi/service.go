package controlapi

import (
	"context"
	"strings"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// CreateService validates a spec and stores a new service.
func (s *Server) CreateService(ctx context.Context, spec swarm.ServiceSpec) (swarm.ServiceID, error) {
	if err := s.checkServiceSpec(spec); err != nil {
		return "", err
	}
	svc := &swarm.Service{ID: swarm.ServiceID(swarm.NewID()), Spec: spec}
	if err := s.cfg.Proposer.Propose(ctx, store.NewCreateService(svc)); err != nil {
		return "", err
	}
	return svc.ID, nil
}

// checkServiceSpec is the validation every create and update goes through.
func (s *Server) checkServiceSpec(spec swarm.ServiceSpec) error {
	if err := spec.Validate(); err != nil {
		return rpcError(swarm.ErrInvalidArgument, "InvalidArgument", "%v", err)
	}
	if s.cfg.CheckConstraints != nil {
		if err := s.cfg.CheckConstraints(spec.Task.Placement.Constraints); err != nil {
			return err
		}
	}
	if len(spec.Task.Container.Command) == 0 && len(spec.Task.Container.Args) == 0 && !s.anyNodeRunsImages() {
		return swarm.Errorf(swarm.ErrInvalidArgument,
			"service %s has no command: every node runs the process runtime, which runs a command rather than an image's default", spec.Name)
	}
	return nil
}

// anyNodeRunsImages reports whether some node's runtime can run an image
// without an explicit command (the docker runtime can).
func (s *Server) anyNodeRunsImages() bool {
	nodes, err := store.ListNodes(s.cfg.Store.ReadTxn())
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if n.Description.Runtime == "docker" {
			return true
		}
	}
	return false
}

// GetService resolves ref: full ID, then name, then a unique ID prefix.
func (s *Server) GetService(ctx context.Context, ref string) (ServiceView, error) {
	tx, err := s.read(ctx)
	if err != nil {
		return ServiceView{}, err
	}
	svc, err := resolveService(tx, ref)
	if err != nil {
		return ServiceView{}, err
	}
	return ServiceView{Service: svc}, nil
}

func resolveService(tx store.ReadTxn, ref string) (*swarm.Service, error) {
	if ref == "" {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "service ID or name is required")
	}
	if svc, err := store.GetService(tx, swarm.ServiceID(ref)); err == nil {
		return svc, nil
	}
	if svc, err := store.GetServiceByName(tx, ref); err == nil {
		return svc, nil
	}
	all, err := store.ListServices(tx)
	if err != nil {
		return nil, err
	}
	return uniquePrefix(all, ref, "service", func(s *swarm.Service) string { return string(s.ID) })
}

// ListServices returns the services passing the filters, with their task
// counts if status is set.
func (s *Server) ListServices(ctx context.Context, filters map[string][]string, status bool) ([]ServiceView, error) {
	f, err := parseFilters(filters, "id", "label", "mode", "name")
	if err != nil {
		return nil, err
	}
	tx, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	all, err := store.ListServices(tx)
	if err != nil {
		return nil, err
	}
	out := []ServiceView{}
	for _, svc := range all {
		if !matchService(f, svc) {
			continue
		}
		v := ServiceView{Service: svc}
		if status {
			v.Status = serviceStatus(tx, svc)
		}
		out = append(out, v)
	}
	return out, nil
}

func matchService(f filters, svc *swarm.Service) bool {
	return f.any("id", func(x string) bool { return strings.HasPrefix(string(svc.ID), x) }) &&
		f.any("name", func(x string) bool { return strings.HasPrefix(svc.Spec.Name, x) }) &&
		f.any("mode", func(x string) bool { return string(svc.Spec.Mode) == x }) &&
		f.any("label", func(x string) bool { return labelMatch(svc.Spec.Labels, x) })
}

// serviceStatus counts running tasks (on nodes that are not down) and the
// tasks the service wants.
func serviceStatus(tx store.ReadTxn, svc *swarm.Service) *ServiceStatus {
	st := &ServiceStatus{}
	tasks, _ := store.TasksOfService(tx, svc.ID)
	nodes := map[swarm.NodeID]bool{}
	for _, t := range tasks {
		if t.DesiredState == swarm.TaskRunning && svc.Spec.Mode == swarm.ModeGlobal && t.NodeID != "" {
			nodes[t.NodeID] = true
		}
		if t.DesiredState != swarm.TaskRunning || t.Status.State != swarm.TaskRunning {
			continue
		}
		if n, err := store.GetNode(tx, t.NodeID); err == nil && n.Status.State != swarm.NodeStateDown {
			st.RunningTasks++
		}
	}
	st.DesiredTasks = svc.Spec.Replicas
	if svc.Spec.Mode == swarm.ModeGlobal {
		st.DesiredTasks = uint64(len(nodes))
	}
	return st
}

// UpdateService replaces a service's spec (or, with Rollback, goes back to
// the previous one) if version is current. As in Swarm, a new update
// resets the update status.
func (s *Server) UpdateService(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts UpdateServiceOptions) error {
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	old, err := resolveService(tx, ref)
	if err != nil {
		return err
	}
	svc := old.Copy()
	if opts.Rollback {
		if old.PreviousSpec == nil {
			return rpcError(swarm.ErrFailedPrecondition, "FailedPrecondition", "service %s does not have a previous spec", old.ID)
		}
		spec = old.PreviousSpec.Copy()
	}
	if err := s.checkServiceSpec(spec); err != nil {
		return err
	}
	if old.Spec.Mode != spec.Mode {
		return rpcError(swarm.ErrInvalidArgument, "Unimplemented", "service mode change is not allowed")
	}
	prev := old.Spec.Copy()
	svc.PreviousSpec, svc.Spec, svc.UpdateStatus = &prev, spec, nil
	if opts.Rollback {
		svc.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateRollbackStarted, Message: "manually requested rollback"}
	}
	if version == 0 {
		return errVersionZero
	}
	return s.cfg.Proposer.Propose(ctx, store.NewUpdateService(svc, version))
}

// errVersionZero refuses an update that names version 0. No object has it
// (versions are Raft indexes), and the store reads 0 as "any version", for
// the cluster's own writers: from a user it would skip the check. Docker
// (swarmkit's store) answers it as any other stale version.
var errVersionZero = swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")

// RemoveService deletes a service; the orchestrator stops its tasks.
func (s *Server) RemoveService(ctx context.Context, ref string) error {
	tx, err := s.read(ctx)
	if err != nil {
		return err
	}
	svc, err := resolveService(tx, ref)
	if err != nil {
		return err
	}
	return s.cfg.Proposer.Propose(ctx, store.NewRemoveService(svc.ID))
}

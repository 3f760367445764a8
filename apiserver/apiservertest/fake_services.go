package apiservertest

import (
	"context"

	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// Services is the service and task part of the fake Control. Unset Fns
// return zero values and a nil error, except the getters, which fail with
// swarm.ErrNotFound.
type Services struct {
	CreateServiceFn func(ctx context.Context, spec swarm.ServiceSpec) (swarm.ServiceID, error)
	GetServiceFn    func(ctx context.Context, ref string) (controlapi.ServiceView, error)
	ListServicesFn  func(ctx context.Context, filters map[string][]string, status bool) ([]controlapi.ServiceView, error)
	UpdateServiceFn func(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts controlapi.UpdateServiceOptions) error
	RemoveServiceFn func(ctx context.Context, ref string) error
	ListTasksFn     func(ctx context.Context, filters map[string][]string) ([]*swarm.Task, error)
	GetTaskFn       func(ctx context.Context, ref string) (*swarm.Task, error)
	ServiceLogsFn   func(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error
	TaskLogsFn      func(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error
}

// CreateService calls CreateServiceFn.
func (s *Services) CreateService(ctx context.Context, spec swarm.ServiceSpec) (swarm.ServiceID, error) {
	if s.CreateServiceFn == nil {
		return "", nil
	}
	return s.CreateServiceFn(ctx, spec)
}

// GetService calls GetServiceFn.
func (s *Services) GetService(ctx context.Context, ref string) (controlapi.ServiceView, error) {
	if s.GetServiceFn == nil {
		return controlapi.ServiceView{}, swarm.Errorf(swarm.ErrNotFound, "service %s not found", ref)
	}
	return s.GetServiceFn(ctx, ref)
}

// ListServices calls ListServicesFn.
func (s *Services) ListServices(ctx context.Context, filters map[string][]string, status bool) ([]controlapi.ServiceView, error) {
	if s.ListServicesFn == nil {
		return nil, nil
	}
	return s.ListServicesFn(ctx, filters, status)
}

// UpdateService calls UpdateServiceFn.
func (s *Services) UpdateService(ctx context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts controlapi.UpdateServiceOptions) error {
	if s.UpdateServiceFn == nil {
		return nil
	}
	return s.UpdateServiceFn(ctx, ref, version, spec, opts)
}

// RemoveService calls RemoveServiceFn.
func (s *Services) RemoveService(ctx context.Context, ref string) error {
	if s.RemoveServiceFn == nil {
		return nil
	}
	return s.RemoveServiceFn(ctx, ref)
}

// ListTasks calls ListTasksFn.
func (s *Services) ListTasks(ctx context.Context, filters map[string][]string) ([]*swarm.Task, error) {
	if s.ListTasksFn == nil {
		return nil, nil
	}
	return s.ListTasksFn(ctx, filters)
}

// GetTask calls GetTaskFn.
func (s *Services) GetTask(ctx context.Context, ref string) (*swarm.Task, error) {
	if s.GetTaskFn == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "task %s not found", ref)
	}
	return s.GetTaskFn(ctx, ref)
}

// ServiceLogs calls ServiceLogsFn.
func (s *Services) ServiceLogs(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
	if s.ServiceLogsFn == nil {
		return nil
	}
	return s.ServiceLogsFn(ctx, ref, opts, out)
}

// TaskLogs calls TaskLogsFn.
func (s *Services) TaskLogs(ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
	if s.TaskLogsFn == nil {
		return nil
	}
	return s.TaskLogsFn(ctx, ref, opts, out)
}

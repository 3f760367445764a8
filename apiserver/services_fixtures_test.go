package apiserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// id25 pads prefix to the 25 characters of a swarm ID.
func id25(prefix string) string { return prefix + strings.Repeat("0", 25-len(prefix)) }

var (
	pingID  = swarm.ServiceID(id25("pingsvc"))
	webID   = swarm.ServiceID(id25("websvc"))
	ping1ID = swarm.TaskID(id25("pingtask1"))
	ping2ID = swarm.TaskID(id25("pingtask2"))
	oldID   = swarm.TaskID(id25("pingtaskold"))
	web1ID  = swarm.TaskID(id25("webtask1"))
)

func pingSpec() swarm.ServiceSpec {
	return swarm.ServiceSpec{
		Name: "ping", Mode: swarm.ModeReplicated, Replicas: 2,
		Labels: map[string]string{"team": "a"},
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{
			Image: "alpine:latest", Args: []string{"ping", "docker.com"}, Env: []string{"A=1"},
		}},
	}
}

func testServices() []*swarm.Service {
	return []*swarm.Service{
		{
			ID: pingID, Meta: swarm.Meta{Version: 36, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)},
			Spec: pingSpec(), SpecVersion: 30,
		},
		{
			ID: webID, Meta: swarm.Meta{Version: 40, CreatedAt: t0, UpdatedAt: t0},
			Spec: swarm.ServiceSpec{Name: "web", Mode: swarm.ModeGlobal, Task: swarm.TaskSpec{
				Container: swarm.ContainerSpec{Image: "nginx:1.27", Command: []string{"nginx"}},
				Placement: swarm.Placement{Constraints: []string{"node.role==manager"}},
			}},
			SpecVersion: 40,
		},
	}
}

func testTasks() []*swarm.Task {
	running := func(id swarm.TaskID, svc *swarm.Service, slot int, node swarm.NodeID) *swarm.Task {
		return &swarm.Task{
			ID: id, Meta: swarm.Meta{Version: 50, CreatedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)},
			ServiceID: svc.ID, ServiceName: svc.Spec.Name, Slot: slot, NodeID: node,
			Spec: svc.Spec.Task.Copy(), SpecVersion: svc.SpecVersion, DesiredState: swarm.TaskRunning,
			Status: swarm.TaskStatus{Timestamp: time.Now().Add(-6 * time.Second), State: swarm.TaskRunning,
				Message: "started", PID: 100 + slot, ContainerID: "c" + string(id)},
		}
	}
	svcs := testServices()
	ping, web := svcs[0], svcs[1]
	old := running(oldID, ping, 1, leaderID)
	old.Meta.CreatedAt = t0
	old.SpecVersion = 20
	old.DesiredState = swarm.TaskShutdown
	old.Status.State, old.Status.Message, old.Status.ExitCode = swarm.TaskShutdown, "shutdown", 137
	return []*swarm.Task{
		running(ping1ID, ping, 1, leaderID),
		running(ping2ID, ping, 2, workerID),
		old,
		running(web1ID, web, 0, leaderID),
	}
}

// serviceUpdate records one UpdateService call.
type serviceUpdate struct {
	ref     string
	version uint64
	spec    swarm.ServiceSpec
	opts    controlapi.UpdateServiceOptions
}

// serviceFixture is a small in-memory service and task store behind the fake
// Control, resolving references the way the control API does, and recording
// what was asked of it. Safe for concurrent use.
type serviceFixture struct {
	mu       sync.Mutex
	services []*swarm.Service
	tasks    []*swarm.Task
	logs     []controlapi.LogMessage

	created     []swarm.ServiceSpec
	updates     []serviceUpdate
	removed     []string
	svcFilters  []map[string][]string
	taskFilters []map[string][]string
	logOpts     []controlapi.LogOptions
}

func newServiceFixture(ctl *apiservertest.Control) *serviceFixture {
	fx := &serviceFixture{services: testServices(), tasks: testTasks()}
	fx.logs = []controlapi.LogMessage{
		{Stream: 1, Timestamp: t0, NodeID: leaderID, ServiceID: pingID, TaskID: ping1ID, Line: []byte("hello 1\n")},
		{Stream: 2, Timestamp: t0.Add(time.Second), NodeID: workerID, ServiceID: pingID, TaskID: ping2ID, Line: []byte("oops 2\n")},
		{Stream: 1, Timestamp: t0.Add(2 * time.Second), NodeID: leaderID, ServiceID: pingID, TaskID: ping1ID, Line: []byte("hello 3\n")},
	}
	ctl.CreateServiceFn = fx.create
	ctl.GetServiceFn = fx.get
	ctl.ListServicesFn = fx.list
	ctl.UpdateServiceFn = fx.update
	ctl.RemoveServiceFn = fx.remove
	ctl.ListTasksFn = fx.listTasks
	ctl.GetTaskFn = fx.getTask
	ctl.ServiceLogsFn = fx.serviceLogs
	ctl.TaskLogsFn = fx.taskLogs
	return fx
}

func (fx *serviceFixture) resolve(ref string) (*swarm.Service, error) {
	var prefixed []*swarm.Service
	for _, s := range fx.services {
		if string(s.ID) == ref || s.Spec.Name == ref {
			return s, nil
		}
		if ref != "" && strings.HasPrefix(string(s.ID), ref) {
			prefixed = append(prefixed, s)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	return nil, swarm.Errorf(swarm.ErrNotFound, "service %s not found", ref)
}

func (fx *serviceFixture) get(_ context.Context, ref string) (controlapi.ServiceView, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	s, err := fx.resolve(ref)
	if err != nil {
		return controlapi.ServiceView{}, err
	}
	// A status here must not reach the wire: GET /services/{id} never
	// shows one.
	return controlapi.ServiceView{Service: s.Copy(), Status: &controlapi.ServiceStatus{RunningTasks: 99}}, nil
}

func matchAny(vals []string, match func(string) bool) bool {
	return len(vals) == 0 || slices.ContainsFunc(vals, match)
}

func (fx *serviceFixture) list(_ context.Context, filters map[string][]string, status bool) ([]controlapi.ServiceView, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.svcFilters = append(fx.svcFilters, filters)
	var out []controlapi.ServiceView
	for _, s := range fx.services {
		if !matchAny(filters["id"], func(x string) bool { return strings.HasPrefix(string(s.ID), x) }) ||
			!matchAny(filters["name"], func(x string) bool { return strings.HasPrefix(s.Spec.Name, x) }) {
			continue
		}
		v := controlapi.ServiceView{Service: s.Copy()}
		if status {
			v.Status = fx.status(s)
		}
		out = append(out, v)
	}
	return out, nil
}

func (fx *serviceFixture) status(s *swarm.Service) *controlapi.ServiceStatus {
	st := &controlapi.ServiceStatus{DesiredTasks: s.Spec.Replicas}
	for _, t := range fx.tasks {
		if t.ServiceID == s.ID && t.DesiredState == swarm.TaskRunning {
			if s.Spec.Mode == swarm.ModeGlobal {
				st.DesiredTasks++
			}
			if t.Status.State == swarm.TaskRunning {
				st.RunningTasks++
			}
		}
	}
	return st
}

// create stores the service and, as if the cluster were instant, one
// running task per replica on the leader.
func (fx *serviceFixture) create(_ context.Context, spec swarm.ServiceSpec) (swarm.ServiceID, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.created = append(fx.created, spec)
	if _, err := fx.resolve(spec.Name); err == nil {
		return "", swarm.Errorf(swarm.ErrAlreadyExists,
			"rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists", spec.Name)
	}
	id := swarm.ServiceID(id25("newsvc" + spec.Name))
	now := time.Now()
	fx.services = append(fx.services, &swarm.Service{ID: id, Meta: swarm.Meta{Version: 60, CreatedAt: now, UpdatedAt: now}, Spec: spec, SpecVersion: 60})
	for slot := 1; slot <= int(spec.Replicas); slot++ {
		fx.tasks = append(fx.tasks, &swarm.Task{
			ID: swarm.TaskID(id25("newtask" + spec.Name + string(rune('0'+slot)))), Meta: swarm.Meta{Version: 61, CreatedAt: now},
			ServiceID: id, ServiceName: spec.Name, Slot: slot, NodeID: leaderID, Spec: spec.Task.Copy(), SpecVersion: 60,
			DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{Timestamp: now, State: swarm.TaskRunning},
		})
	}
	return id, nil
}

func (fx *serviceFixture) update(_ context.Context, ref string, version uint64, spec swarm.ServiceSpec, opts controlapi.UpdateServiceOptions) error {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.updates = append(fx.updates, serviceUpdate{ref, version, spec, opts})
	s, err := fx.resolve(ref)
	if err != nil {
		return err
	}
	if s.Version != version {
		return swarm.Errorf(swarm.ErrOutOfSequence, "update out of sequence")
	}
	return nil
}

func (fx *serviceFixture) remove(_ context.Context, ref string) error {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.removed = append(fx.removed, ref)
	_, err := fx.resolve(ref)
	return err
}

func (fx *serviceFixture) listTasks(_ context.Context, filters map[string][]string) ([]*swarm.Task, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.taskFilters = append(fx.taskFilters, filters)
	var out []*swarm.Task
	for _, t := range fx.tasks {
		svc, _ := fx.resolve(string(t.ServiceID))
		if matchAny(filters["service"], func(x string) bool { s, err := fx.resolve(x); return err == nil && s.ID == t.ServiceID }) &&
			matchAny(filters["_up-to-date"], func(string) bool { return svc != nil && t.SpecVersion == svc.SpecVersion }) {
			out = append(out, t.Copy())
		}
	}
	return out, nil
}

func (fx *serviceFixture) getTask(_ context.Context, ref string) (*swarm.Task, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	for _, t := range fx.tasks {
		if string(t.ID) == ref {
			return t.Copy(), nil
		}
	}
	return nil, swarm.Errorf(swarm.ErrNotFound, "task %s not found", ref)
}

func (fx *serviceFixture) serviceLogs(_ context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
	fx.mu.Lock()
	fx.logOpts = append(fx.logOpts, opts)
	s, err := fx.resolve(ref)
	logs := slices.Clone(fx.logs)
	fx.mu.Unlock()
	if err != nil {
		return err
	}
	return emit(logs, func(m controlapi.LogMessage) bool { return m.ServiceID == s.ID }, out)
}

func (fx *serviceFixture) taskLogs(_ context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
	fx.mu.Lock()
	fx.logOpts = append(fx.logOpts, opts)
	logs := slices.Clone(fx.logs)
	fx.mu.Unlock()
	return emit(logs, func(m controlapi.LogMessage) bool { return string(m.TaskID) == ref }, out)
}

func emit(logs []controlapi.LogMessage, keep func(controlapi.LogMessage) bool, out func(controlapi.LogMessage) error) error {
	for _, m := range logs {
		if !keep(m) {
			continue
		}
		if err := out(m); err != nil {
			return err
		}
	}
	return nil
}

// newServiceLeader is a fake leader that also knows testServices and
// testTasks.
func newServiceLeader(t *testing.T) (*fakeLeader, *serviceFixture) {
	t.Helper()
	f := newFakeLeader(t)
	return f, newServiceFixture(f.ctl)
}

// strictServices makes every service and task call of ctl fail the test:
// for requests that must be refused before the control API is asked.
func strictServices(t *testing.T, ctl *apiservertest.Control) {
	t.Helper()
	fail := func(name string) { t.Errorf("%s called", name) }
	ctl.CreateServiceFn = func(context.Context, swarm.ServiceSpec) (swarm.ServiceID, error) {
		fail("CreateService")
		return "", nil
	}
	ctl.GetServiceFn = func(context.Context, string) (controlapi.ServiceView, error) {
		fail("GetService")
		return controlapi.ServiceView{}, nil
	}
	ctl.ListServicesFn = func(context.Context, map[string][]string, bool) ([]controlapi.ServiceView, error) {
		fail("ListServices")
		return nil, nil
	}
	ctl.UpdateServiceFn = func(context.Context, string, uint64, swarm.ServiceSpec, controlapi.UpdateServiceOptions) error {
		fail("UpdateService")
		return nil
	}
	ctl.RemoveServiceFn = func(context.Context, string) error {
		fail("RemoveService")
		return nil
	}
	ctl.ListTasksFn = func(context.Context, map[string][]string) ([]*swarm.Task, error) {
		fail("ListTasks")
		return nil, nil
	}
	ctl.GetTaskFn = func(context.Context, string) (*swarm.Task, error) {
		fail("GetTask")
		return nil, nil
	}
	ctl.ServiceLogsFn = func(context.Context, string, controlapi.LogOptions, func(controlapi.LogMessage) error) error {
		fail("ServiceLogs")
		return nil
	}
	ctl.TaskLogsFn = func(context.Context, string, controlapi.LogOptions, func(controlapi.LogMessage) error) error {
		fail("TaskLogs")
		return nil
	}
}

// newRequest builds a request with an explicit Content-Type (none if ct is
// empty).
func newRequest(method, target, body, ct string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

func do(h http.Handler, req *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

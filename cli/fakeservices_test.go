package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
)

// serviceState is the fake daemon's services, tasks and logs. Its methods
// run with fakeDaemon.mu held.
type serviceState struct {
	services []swarm.Service
	tasks    []swarm.Task
	logs     []fakeLogLine
	// specVersion is the service version a task was made from (by task
	// ID), and the current one (by service ID): "_up-to-date" compares them.
	taskVersion map[string]uint64
	specVersion map[string]uint64
	// distribution answers GET /distribution/...: a JSON body, or an error
	// when distributionErr is set. The default is 200 {}.
	distribution    any
	distributionErr *apiFailure
	createWarnings  []string
	// pauseUpdates, when set, is the message of a paused update that
	// every update ends in.
	pauseUpdates string
	// converge makes tasks move one state forward on every task listing,
	// until running (or shutdown, when that is desired).
	converge bool
	nextID   uint64
}

// fakeLogLine is one line of a task's output.
type fakeLogLine struct {
	taskID  string
	stream  byte // 1 stdout, 2 stderr
	time    time.Time
	attrs   map[string]string // extra details besides the swarm IDs
	message string
}

// taskSteps is the path of a converging task.
var taskSteps = []swarm.TaskState{
	swarm.TaskStateNew, swarm.TaskStatePending, swarm.TaskStateAssigned, swarm.TaskStateAccepted,
	swarm.TaskStatePreparing, swarm.TaskStateStarting, swarm.TaskStateRunning,
}

// newID returns a deterministic 25-character ID of swarmkit's alphabet.
func (st *serviceState) newID() string {
	st.nextID++
	r := rand.New(rand.NewPCG(st.nextID, 42))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 25)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// routeServices answers the service, task and distribution routes; it
// reports whether route was one of them.
func (fd *fakeDaemon) routeServices(w http.ResponseWriter, r *http.Request, route string, body []byte) bool {
	st := &fd.svc
	get := r.Method == http.MethodGet
	switch {
	case get && strings.HasPrefix(route, "/distribution/") && strings.HasSuffix(route, "/json"):
		fd.answerDistribution(w)
	case r.Method == http.MethodPost && route == "/services/create":
		fd.createService(w, body)
	case get && route == "/services":
		fd.listServices(w, r.URL.Query())
	case get && route == "/tasks":
		writeJSON(w, st.listTasks(r.URL.Query(), fd.nodes))
	case get && strings.HasPrefix(route, "/services/") && strings.HasSuffix(route, "/logs"):
		fd.serviceLogs(w, r.URL.Query(), strings.TrimSuffix(strings.TrimPrefix(route, "/services/"), "/logs"))
	case get && strings.HasPrefix(route, "/tasks/") && strings.HasSuffix(route, "/logs"):
		fd.taskLogs(w, r.URL.Query(), strings.TrimSuffix(strings.TrimPrefix(route, "/tasks/"), "/logs"))
	case get && strings.HasPrefix(route, "/services/"):
		ref := strings.TrimPrefix(route, "/services/")
		if s := st.findService(ref); s != nil {
			writeJSON(w, s)
			return true
		}
		writeAPIError(w, http.StatusNotFound, "service "+ref+" not found")
	case get && strings.HasPrefix(route, "/tasks/"):
		ref := strings.TrimPrefix(route, "/tasks/")
		if t := st.findTask(ref); t != nil {
			writeJSON(w, t)
			return true
		}
		writeAPIError(w, http.StatusNotFound, "task "+ref+" not found")
	case r.Method == http.MethodPost && strings.HasPrefix(route, "/services/") && strings.HasSuffix(route, "/update"):
		fd.updateService(w, r.URL.Query(), strings.TrimSuffix(strings.TrimPrefix(route, "/services/"), "/update"), body)
	case r.Method == http.MethodDelete && strings.HasPrefix(route, "/services/"):
		fd.removeService(w, strings.TrimPrefix(route, "/services/"))
	default:
		return false
	}
	return true
}

func (fd *fakeDaemon) answerDistribution(w http.ResponseWriter) {
	st := &fd.svc
	switch {
	case st.distributionErr != nil:
		writeAPIError(w, st.distributionErr.status, st.distributionErr.msg)
	case st.distribution != nil:
		writeJSON(w, st.distribution)
	default:
		writeJSON(w, map[string]any{})
	}
}

// findService resolves ref as moby does: ID, then name, then a unique ID
// prefix.
func (st *serviceState) findService(ref string) *swarm.Service {
	for i := range st.services {
		if st.services[i].ID == ref {
			return &st.services[i]
		}
	}
	for i := range st.services {
		if st.services[i].Spec.Name == ref {
			return &st.services[i]
		}
	}
	var found *swarm.Service
	for i := range st.services {
		if strings.HasPrefix(st.services[i].ID, ref) {
			if found != nil {
				return nil
			}
			found = &st.services[i]
		}
	}
	return found
}

func (st *serviceState) findTask(ref string) *swarm.Task {
	var found *swarm.Task
	for i := range st.tasks {
		t := &st.tasks[i]
		if t.ID == ref {
			return t
		}
		if strings.HasPrefix(t.ID, ref) {
			if found != nil {
				return nil
			}
			found = t
		}
	}
	return found
}

func (fd *fakeDaemon) createService(w http.ResponseWriter, body []byte) {
	st := &fd.svc
	var spec swarm.ServiceSpec
	if err := json.Unmarshal(body, &spec); err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, s := range st.services {
		if s.Spec.Name == spec.Name {
			writeAPIError(w, http.StatusConflict, "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service "+spec.Name+" already exists")
			return
		}
	}
	now := time.Now().UTC()
	s := swarm.Service{ID: st.newID(), Meta: swarm.Meta{Version: swarm.Version{Index: 100 + st.nextID}, CreatedAt: now, UpdatedAt: now}, Spec: spec}
	if spec.Name == "" {
		s.Spec.Name = "svc-" + s.ID[:5]
	}
	if m := &s.Spec.Mode; m.Replicated != nil && m.Replicated.Replicas == nil {
		m.Replicated.Replicas = ptr[uint64](1)
	}
	if st.specVersion == nil {
		st.specVersion, st.taskVersion = map[string]uint64{}, map[string]uint64{}
	}
	st.services = append(st.services, s)
	st.specVersion[s.ID] = s.Version.Index
	st.spawnTasks(&st.services[len(st.services)-1], fd.nodes)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(swarm.ServiceCreateResponse{ID: s.ID, Warnings: st.createWarnings})
}

// spawnTasks gives every slot (or every ready node, for a global service)
// a new task from the service's current spec.
func (st *serviceState) spawnTasks(s *swarm.Service, nodes []swarm.Node) {
	var ready []string
	for _, n := range nodes {
		if n.Status.State != swarm.NodeStateDown {
			ready = append(ready, n.ID)
		}
	}
	if len(ready) == 0 {
		return
	}
	state := swarm.TaskStateRunning
	if st.converge {
		state = swarm.TaskStateNew
	}
	add := func(slot int, node string) {
		now := time.Now().UTC()
		t := swarm.Task{
			ID: st.newID(), Meta: swarm.Meta{Version: swarm.Version{Index: 1}, CreatedAt: now, UpdatedAt: now},
			Spec: s.Spec.TaskTemplate, ServiceID: s.ID, Slot: slot, NodeID: node,
			Status:       swarm.TaskStatus{Timestamp: now, State: state},
			DesiredState: swarm.TaskStateRunning,
		}
		st.tasks = append(st.tasks, t)
		st.taskVersion[t.ID] = st.specVersion[s.ID]
	}
	if s.Spec.Mode.Global != nil {
		for _, n := range ready {
			add(0, n)
		}
		return
	}
	if s.Spec.Mode.Replicated == nil {
		return
	}
	for slot := 1; slot <= int(*s.Spec.Mode.Replicated.Replicas); slot++ {
		add(slot, ready[(slot-1)%len(ready)])
	}
}

func (fd *fakeDaemon) listServices(w http.ResponseWriter, q url.Values) {
	st := &fd.svc
	f := parseFilters(q)
	out := []swarm.Service{}
	for _, s := range st.services {
		if !f.match("id", s.ID, strings.HasPrefix) || !f.match("name", s.Spec.Name, func(a, b string) bool { return a == b }) {
			continue
		}
		if q.Get("status") == "true" {
			s.ServiceStatus = st.status(s)
		}
		out = append(out, s)
	}
	writeJSON(w, out)
}

// status counts a service's running and desired tasks, as moby does for
// GET /services?status=true.
func (st *serviceState) status(s swarm.Service) *swarm.ServiceStatus {
	var status swarm.ServiceStatus
	for _, t := range st.tasks {
		if t.ServiceID != s.ID {
			continue
		}
		if t.Status.State == swarm.TaskStateRunning {
			status.RunningTasks++
		}
		if s.Spec.Mode.Global != nil && t.DesiredState == swarm.TaskStateRunning {
			status.DesiredTasks++
		}
	}
	if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
		status.DesiredTasks = *r.Replicas
	}
	return &status
}

// listTasks answers GET /tasks, first moving converging tasks on.
func (st *serviceState) listTasks(q url.Values, nodes []swarm.Node) []swarm.Task {
	if st.converge {
		st.advance()
	}
	f := parseFilters(q)
	exact := func(a, b string) bool { return a == b }
	out := []swarm.Task{}
	for _, t := range st.tasks {
		if !f.match("service", t.ServiceID, exact) || !f.match("node", t.NodeID, exact) ||
			!f.match("desired-state", string(t.DesiredState), exact) || !f.match("id", t.ID, strings.HasPrefix) {
			continue
		}
		if f["_up-to-date"] != nil && st.taskVersion[t.ID] != st.specVersion[t.ServiceID] {
			continue
		}
		out = append(out, t)
	}
	return out
}

// advance moves every task one step towards its desired state, and ends a
// rollback once its tasks run.
func (st *serviceState) advance() {
	now := time.Now().UTC()
	for i := range st.tasks {
		t := &st.tasks[i]
		switch {
		case t.DesiredState == swarm.TaskStateShutdown && t.Status.State != swarm.TaskStateShutdown:
			t.Status.State, t.Status.Timestamp = swarm.TaskStateShutdown, now
		case t.DesiredState == swarm.TaskStateRunning && t.Status.State != swarm.TaskStateRunning:
			if i := slices.Index(taskSteps, t.Status.State); i >= 0 {
				t.Status.State, t.Status.Timestamp = taskSteps[i+1], now
			}
		}
	}
	for i := range st.services {
		s := &st.services[i]
		if s.UpdateStatus != nil && s.UpdateStatus.State == swarm.UpdateStateRollbackStarted && st.allRunning(s.ID) {
			s.UpdateStatus.State, s.UpdateStatus.Message = swarm.UpdateStateRollbackCompleted, "rollback completed"
			s.UpdateStatus.CompletedAt = &now
		}
	}
}

func (st *serviceState) allRunning(serviceID string) bool {
	for _, t := range st.tasks {
		if t.ServiceID == serviceID && t.DesiredState == swarm.TaskStateRunning && t.Status.State != swarm.TaskStateRunning {
			return false
		}
	}
	return true
}

func (fd *fakeDaemon) updateService(w http.ResponseWriter, q url.Values, id string, body []byte) {
	st := &fd.svc
	s := st.findService(id)
	if s == nil || s.ID != id {
		writeAPIError(w, http.StatusNotFound, "service "+id+" not found")
		return
	}
	if v, _ := strconv.ParseUint(q.Get("version"), 10, 64); v != s.Version.Index {
		writeAPIError(w, http.StatusInternalServerError, "rpc error: code = Unknown desc = update out of sequence")
		return
	}
	var spec swarm.ServiceSpec
	if err := json.Unmarshal(body, &spec); err != nil {
		writeAPIError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now().UTC()
	prev := s.Spec
	s.UpdateStatus = nil
	if q.Get("rollback") == "previous" {
		if s.PreviousSpec == nil {
			writeAPIError(w, http.StatusBadRequest, "rpc error: code = FailedPrecondition desc = service "+s.ID+" does not have a previous spec")
			return
		}
		spec = *s.PreviousSpec
		s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted, StartedAt: &now, Message: "manually requested rollback"}
	}
	if st.pauseUpdates != "" {
		s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateStatePaused, StartedAt: &now, Message: st.pauseUpdates}
	}
	s.PreviousSpec, s.Spec = &prev, spec
	s.Version.Index++
	s.UpdatedAt = now
	st.specVersion[s.ID] = s.Version.Index
	for i := range st.tasks {
		if t := &st.tasks[i]; t.ServiceID == s.ID && t.DesiredState == swarm.TaskStateRunning {
			t.DesiredState = swarm.TaskStateShutdown
			if !st.converge {
				t.Status.State, t.Status.Timestamp = swarm.TaskStateShutdown, now
			}
		}
	}
	st.spawnTasks(s, fd.nodes)
	writeJSON(w, swarm.ServiceUpdateResponse{})
}

func (fd *fakeDaemon) removeService(w http.ResponseWriter, ref string) {
	st := &fd.svc
	s := st.findService(ref)
	if s == nil {
		writeAPIError(w, http.StatusNotFound, "service "+ref+" not found")
		return
	}
	id := s.ID
	st.services = slices.DeleteFunc(st.services, func(s swarm.Service) bool { return s.ID == id })
	st.tasks = slices.DeleteFunc(st.tasks, func(t swarm.Task) bool { return t.ServiceID == id })
	w.WriteHeader(http.StatusOK)
}

func (fd *fakeDaemon) serviceLogs(w http.ResponseWriter, q url.Values, ref string) {
	s := fd.svc.findService(ref)
	if s == nil {
		writeAPIError(w, http.StatusNotFound, "service "+ref+" not found")
		return
	}
	fd.writeLogs(w, q, func(t *swarm.Task) bool { return t.ServiceID == s.ID })
}

func (fd *fakeDaemon) taskLogs(w http.ResponseWriter, q url.Values, ref string) {
	t := fd.svc.findTask(ref)
	if t == nil {
		writeAPIError(w, http.StatusNotFound, "task "+ref+" not found")
		return
	}
	id := t.ID
	fd.writeLogs(w, q, func(t *swarm.Task) bool { return t.ID == id })
}

// writeLogs streams the chosen tasks' lines in moby's multiplexed format:
// one frame per line, "[timestamp ]details message" (raw lines for TTY
// tasks).
func (fd *fakeDaemon) writeLogs(w http.ResponseWriter, q url.Values, want func(*swarm.Task) bool) {
	w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
	w.WriteHeader(http.StatusOK)
	lines := fd.svc.logs
	if n, err := strconv.Atoi(q.Get("tail")); err == nil && n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		t := fd.svc.findTask(l.taskID)
		if t == nil || !want(t) {
			continue
		}
		var payload bytes.Buffer
		if q.Get("timestamps") == "1" {
			payload.WriteString(l.time.Format("2006-01-02T15:04:05.000000000Z07:00") + " ")
		}
		if q.Get("details") == "1" {
			payload.WriteString(logDetails(t, l.attrs) + " ")
		}
		payload.WriteString(l.message)
		if cs := t.Spec.ContainerSpec; cs != nil && cs.TTY {
			// A TTY task's output is one raw stream.
			_, _ = w.Write(payload.Bytes())
			continue
		}
		hdr := make([]byte, 8)
		hdr[0] = l.stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(payload.Len()))
		_, _ = w.Write(append(hdr, payload.Bytes()...))
	}
}

// logDetails renders a line's attributes as moby does: k=v pairs, query
// escaped, sorted by key.
func logDetails(t *swarm.Task, extra map[string]string) string {
	attrs := map[string]string{
		"com.docker.swarm.node.id": t.NodeID, "com.docker.swarm.service.id": t.ServiceID, "com.docker.swarm.task.id": t.ID,
	}
	for k, v := range extra {
		attrs[k] = v
	}
	var parts []string
	for k, v := range attrs {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// fakeFilters is a decoded filters query parameter.
type fakeFilters map[string]map[string]bool

func parseFilters(q url.Values) fakeFilters {
	f := fakeFilters{}
	_ = json.Unmarshal([]byte(q.Get("filters")), &f)
	return f
}

// match reports whether value passes the filter on key: no filter, or one
// accepted value matching by cmp.
func (f fakeFilters) match(key, value string, cmp func(value, accepted string) bool) bool {
	if len(f[key]) == 0 {
		return true
	}
	for accepted := range f[key] {
		if cmp(value, accepted) {
			return true
		}
	}
	return false
}

// Service fixtures: "ping" (two replicas with a history), "web" (global,
// published port) and "capped" (most spec fields set), seen at fixture time.

const (
	idPing   = "0ppq8ctzu2mxkqd0ncwb8jyfw"
	idWeb    = "w3bx0tt1y7bz4lq2c6dk9vh1n"
	idCapped = "c4pp3dn0ho8d7r6wq5ktzy2va"

	digestAlpine = "sha256:a8560b36e8b8210634f77d9f7f9efd7ffa463e380b75e2e74aff4511df3ef88c"
)

func fixtureServices(now time.Time) []swarm.Service {
	meta := func(v uint64) swarm.Meta {
		return swarm.Meta{Version: swarm.Version{Index: v}, CreatedAt: fixtureTime, UpdatedAt: fixtureTime}
	}
	started := now.Add(-3 * time.Minute)
	return []swarm.Service{
		{
			ID: idWeb, Meta: meta(40),
			Spec: swarm.ServiceSpec{
				Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{}},
				TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "nginx:1.27", Init: ptr(false)},
					Placement: &swarm.Placement{}, Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{}, Reservations: &swarm.Resources{}}},
				Mode:         swarm.ServiceMode{Global: &swarm.GlobalService{}},
				EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: []swarm.PortConfig{{Protocol: network.TCP, TargetPort: 80, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeIngress}}},
			},
			Endpoint: swarm.Endpoint{Ports: []swarm.PortConfig{
				{Protocol: network.TCP, TargetPort: 80, PublishedPort: 8080, PublishMode: swarm.PortConfigPublishModeIngress},
				{Protocol: network.TCP, TargetPort: 81, PublishedPort: 8081, PublishMode: swarm.PortConfigPublishModeIngress},
				{Protocol: network.UDP, TargetPort: 53, PublishedPort: 5353, PublishMode: swarm.PortConfigPublishModeIngress},
				{Protocol: network.TCP, TargetPort: 9000, PublishedPort: 9000, PublishMode: swarm.PortConfigPublishModeHost},
			}},
		},
		{
			ID: idPing, Meta: meta(36),
			Spec: swarm.ServiceSpec{
				Annotations: swarm.Annotations{Name: "ping", Labels: map[string]string{}},
				TaskTemplate: swarm.TaskSpec{
					ContainerSpec: &swarm.ContainerSpec{Image: "alpine:latest@" + digestAlpine, Args: []string{"ping", "example.com"}, Init: ptr(false), DNSConfig: &swarm.DNSConfig{}},
					Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{}, Reservations: &swarm.Resources{}},
					Placement:     &swarm.Placement{Platforms: []swarm.Platform{{Architecture: "amd64", OS: "linux"}}},
				},
				Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr[uint64](2)}},
				EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP},
			},
			Endpoint: swarm.Endpoint{Spec: swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP}},
		},
		{
			ID: idCapped, Meta: meta(52),
			Spec: swarm.ServiceSpec{
				Annotations: swarm.Annotations{Name: "capped", Labels: map[string]string{"tier": "back", "canary": ""}},
				TaskTemplate: swarm.TaskSpec{
					ContainerSpec: &swarm.ContainerSpec{
						Image: "registry.example:5000/team/app:v2", Args: []string{"serve", "--port", "80"},
						Env: []string{"A=1", "B=two"}, Dir: "/srv", User: "app", Init: ptr(true),
						StopGracePeriod: ptr(20 * time.Second),
					},
					Resources: &swarm.ResourceRequirements{
						Limits:       &swarm.Limit{NanoCPUs: 1500000000, MemoryBytes: 256 << 20},
						Reservations: &swarm.Resources{NanoCPUs: 250000000, MemoryBytes: 64 << 20},
					},
					RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure, Delay: ptr(5 * time.Second), MaxAttempts: ptr[uint64](3)},
					Placement:     &swarm.Placement{Constraints: []string{"node.role==worker", "node.labels.zone==a"}, MaxReplicas: 1},
				},
				Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr[uint64](3)}},
				UpdateConfig: &swarm.UpdateConfig{Parallelism: 2, Delay: 10 * time.Second, FailureAction: swarm.UpdateFailureActionRollback,
					Monitor: 5 * time.Second, MaxFailureRatio: 0.25, Order: swarm.UpdateOrderStartFirst},
				RollbackConfig: &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.UpdateFailureActionPause, Order: swarm.UpdateOrderStopFirst},
				EndpointSpec:   &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
			},
			UpdateStatus: &swarm.UpdateStatus{State: swarm.UpdateStateUpdating, StartedAt: &started, Message: "update in progress"},
		},
	}
}

// fixtureTasks: ping.1 runs on the manager after a failed first try, ping.2
// runs on worker2; web has a task per node, the one on the down node
// rejected; capped waits for a node.
func fixtureTasks(now time.Time) []swarm.Task {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	task := func(id, service string, slot int, node string, created time.Duration, desired, state swarm.TaskState, image string) swarm.Task {
		return swarm.Task{
			ID: id, Meta: swarm.Meta{Version: swarm.Version{Index: 50}, CreatedAt: ago(created), UpdatedAt: ago(created)},
			Spec:      swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image}},
			ServiceID: service, Slot: slot, NodeID: node, DesiredState: desired,
			Status: swarm.TaskStatus{Timestamp: ago(created - time.Minute), State: state, Message: string(state)},
		}
	}
	pingImage := "alpine:latest@" + digestAlpine
	failed := task("9ndu0v4r1b3lzkse2a8y3wcmx", idPing, 1, idManager, 20*time.Minute, swarm.TaskStateShutdown, swarm.TaskStateFailed, pingImage)
	failed.Status.Err = "task: non-zero exit (1): the container stopped after printing a very long explanation"
	rejected := task("r8j2k4m6n8p0q2s4u6w8y0a2c", idWeb, 0, idWorker2, 10*time.Minute, swarm.TaskStateShutdown, swarm.TaskStateRejected, "nginx:1.27")
	rejected.Status.Err = "node is down"
	webRun := task("hw7t0e2r4t6y8u0i2o4p6a8s0", idWeb, 0, idManager, 12*time.Minute, swarm.TaskStateRunning, swarm.TaskStateRunning, "nginx:1.27")
	webRun.Status.PortStatus = swarm.PortStatus{Ports: []swarm.PortConfig{{Protocol: network.TCP, TargetPort: 9000, PublishedPort: 9000, PublishMode: swarm.PortConfigPublishModeHost}}}
	pending := task("p3nd1ngt4sk0000000000000a", idCapped, 1, "", 2*time.Minute, swarm.TaskStateRunning, swarm.TaskStatePending, "registry.example:5000/team/app:v2")
	pending.Status.Err = "no suitable node (scheduling constraints not satisfied on 3 nodes)"
	return []swarm.Task{
		task("54cz70chspxv0m7wdv8v8hfaq", idPing, 1, idManager, 11*time.Minute, swarm.TaskStateRunning, swarm.TaskStateRunning, pingImage),
		failed,
		task("kx2b4d6f8h0j2l4n6p8r0t2v4", idPing, 2, idWorker1, 11*time.Minute, swarm.TaskStateRunning, swarm.TaskStateRunning, pingImage),
		webRun,
		task("b5n7m9k1j3h5g7f9d1s3a5q7w", idWeb, 0, idWorker1, 12*time.Minute, swarm.TaskStateRunning, swarm.TaskStateStarting, "nginx:1.27"),
		rejected,
		pending,
	}
}

func fixtureLogs() []fakeLogLine {
	at := func(s int) time.Time { return time.Date(2025, 6, 1, 10, 30, s, 123000000, time.UTC) }
	return []fakeLogLine{
		{taskID: "54cz70chspxv0m7wdv8v8hfaq", stream: 1, time: at(1), message: "PING example.com (1.2.3.4): 56 data bytes\n"},
		{taskID: "kx2b4d6f8h0j2l4n6p8r0t2v4", stream: 1, time: at(2), message: "hello from kx2b4d6f8h0j line 0\n"},
		{taskID: "54cz70chspxv0m7wdv8v8hfaq", stream: 2, time: at(3), attrs: map[string]string{"env": "prod", "a b": "x,y"}, message: "ping: sendto: Network unreachable\n"},
		{taskID: "kx2b4d6f8h0j2l4n6p8r0t2v4", stream: 1, time: at(4), message: "hello from kx2b4d6f8h0j line 1\n"},
	}
}

// withServices loads the service fixtures into fd.
func withServices(fd *fakeDaemon) {
	now := time.Now()
	fd.svc.services = fixtureServices(now)
	fd.svc.tasks = fixtureTasks(now)
	fd.svc.logs = fixtureLogs()
	fd.svc.specVersion, fd.svc.taskVersion = map[string]uint64{}, map[string]uint64{}
	for _, s := range fd.svc.services {
		fd.svc.specVersion[s.ID] = s.Version.Index
	}
	for _, t := range fd.svc.tasks {
		fd.svc.taskVersion[t.ID] = fd.svc.specVersion[t.ServiceID]
	}
}

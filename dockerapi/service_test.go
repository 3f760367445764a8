package dockerapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// The body `docker service create --name ping --replicas 2 alpine ping
// docker.com` sends (DOCKER-API.md §3), with the image unpinned.
const cliCreateBody = `{"Name":"ping","Labels":{},
 "TaskTemplate":{"ContainerSpec":{"Image":"alpine:latest","Args":["ping","docker.com"],"Init":false,"DNSConfig":{}},
                 "Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},
 "Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}}`

func decodeSpec(t *testing.T, body string) wire.ServiceSpec {
	t.Helper()
	var w wire.ServiceSpec
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestServiceSpecFromWireCLICreate(t *testing.T) {
	got, err := ServiceSpecFromWire(decodeSpec(t, cliCreateBody))
	if err != nil {
		t.Fatal(err)
	}
	want := swarm.ServiceSpec{
		Name:     "ping",
		Task:     swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine:latest", Args: []string{"ping", "docker.com"}}},
		Mode:     swarm.ModeReplicated,
		Replicas: 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestServiceSpecFromWireModes(t *testing.T) {
	tests := []struct {
		mode     string
		want     swarm.ServiceMode
		replicas uint64
	}{
		{`{"Replicated":{}}`, swarm.ModeReplicated, 1}, // `docker service create` without --replicas
		{`{}`, swarm.ModeReplicated, 1},
		{`{"Replicated":{"Replicas":0}}`, swarm.ModeReplicated, 0},
		{`{"Replicated":{"Replicas":7}}`, swarm.ModeReplicated, 7},
		{`{"Global":{}}`, swarm.ModeGlobal, 0},
	}
	for _, tt := range tests {
		body := `{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a"}},"Mode":` + tt.mode + `}`
		got, err := ServiceSpecFromWire(decodeSpec(t, body))
		if err != nil || got.Mode != tt.want || got.Replicas != tt.replicas {
			t.Errorf("mode %s: got %q ×%d, %v; want %q ×%d", tt.mode, got.Mode, got.Replicas, err, tt.want, tt.replicas)
		}
	}
}

func TestServiceSpecFromWireRefusals(t *testing.T) {
	tests := []struct{ body, msg string }{
		{`{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a"}},"Mode":{"ReplicatedJob":{}}}`, "job services are not supported"},
		{`{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"a"}},"Mode":{"GlobalJob":{}}}`, "job services are not supported"},
		{`{"Name":"x","TaskTemplate":{},"Mode":{"Replicated":{}}}`, "ContainerSpec: container spec must be provided"},
		{`{"Name":"x"}`, "ContainerSpec: container spec must be provided"},
		{`{"Name":"x","TaskTemplate":{"Runtime":"plugin","PluginSpec":{}}}`, `TaskSpec: runtime "plugin" is not supported`},
	}
	for _, tt := range tests {
		_, err := ServiceSpecFromWire(decodeSpec(t, tt.body))
		if err == nil || err.Error() != tt.msg || !errors.Is(err, swarm.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want invalid argument %q", tt.body, err, tt.msg)
		}
	}
}

// fullSpec sets every field the conversion carries.
func fullSpec() swarm.ServiceSpec {
	grace, delay, window := 7*time.Second, 3*time.Second, time.Minute
	attempts := uint64(4)
	return swarm.ServiceSpec{
		Name:   "web",
		Labels: map[string]string{"team": "a"},
		Task: swarm.TaskSpec{
			Container: swarm.ContainerSpec{
				Image: "nginx:1", Labels: map[string]string{"c": "d"},
				Command: []string{"/bin/sh", "-c"}, Args: []string{"echo hi"}, Env: []string{"A=1"},
				Dir: "/srv", User: "nobody", Hostname: "{{.Node.Hostname}}", TTY: true,
				StopSignal: "SIGINT", StopGracePeriod: &grace,
			},
			Resources: swarm.ResourceRequirements{
				Limits:       swarm.Resources{NanoCPUs: 5e8, MemoryBytes: 64 << 20},
				Reservations: swarm.Resources{NanoCPUs: 1e8, MemoryBytes: 16 << 20},
			},
			RestartPolicy: swarm.RestartPolicy{Condition: swarm.RestartOnFailure, Delay: &delay, MaxAttempts: &attempts, Window: &window},
			Placement:     swarm.Placement{Constraints: []string{"node.role==worker"}, MaxReplicas: 2},
			ForceUpdate:   3,
		},
		Mode:     swarm.ModeReplicated,
		Replicas: 3,
		Update: &swarm.UpdateConfig{Parallelism: 2, Delay: time.Second, FailureAction: swarm.FailureRollback,
			Monitor: 5 * time.Second, MaxFailureRatio: 0.25, Order: swarm.StartFirst},
		Rollback: &swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.FailurePause, Order: swarm.StopFirst},
	}
}

// roundTrip goes through JSON, as a spec echoed by the docker CLI does.
func roundTrip(t *testing.T, s swarm.ServiceSpec) swarm.ServiceSpec {
	t.Helper()
	b, err := json.Marshal(ServiceSpecToWire(s))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ServiceSpecFromWire(decodeSpec(t, string(b)))
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return got
}

func TestServiceSpecRoundTrip(t *testing.T) {
	global := swarm.ServiceSpec{Name: "g", Mode: swarm.ModeGlobal, Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "a"}}}
	zeroReplicas := swarm.ServiceSpec{Name: "z", Mode: swarm.ModeReplicated, Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "a"}}}
	for _, s := range []swarm.ServiceSpec{fullSpec(), global, zeroReplicas} {
		if got := roundTrip(t, s); !reflect.DeepEqual(got, s) {
			t.Errorf("round trip\n got %#v\nwant %#v", got, s)
		}
	}
}

// The CLI turns nothing into {} and [] freely; the stored spec must still
// compare equal, or every echo would look like a change.
func TestServiceSpecFromWireNormalisesEmpties(t *testing.T) {
	body := `{"Name":"x","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"a","Labels":{},"Command":[],"Args":[],"Env":[]},
	  "Resources":{},"Placement":{"Constraints":[]},"RestartPolicy":{}},"Mode":{"Replicated":{"Replicas":1}}}`
	got, err := ServiceSpecFromWire(decodeSpec(t, body))
	if err != nil {
		t.Fatal(err)
	}
	want := swarm.ServiceSpec{Name: "x", Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "a"}}, Mode: swarm.ModeReplicated, Replicas: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestServiceSpecConversionsDoNotShare(t *testing.T) {
	s := fullSpec()
	w := ServiceSpecToWire(s)
	w.Labels["team"] = "b"
	w.TaskTemplate.ContainerSpec.Args[0] = "changed"
	*w.TaskTemplate.ContainerSpec.StopGracePeriod = 0
	*w.TaskTemplate.RestartPolicy.MaxAttempts = 0
	if !reflect.DeepEqual(s, fullSpec()) {
		t.Error("changing the wire spec changed the domain spec")
	}
	back, err := ServiceSpecFromWire(ServiceSpecToWire(s))
	if err != nil {
		t.Fatal(err)
	}
	back.Task.Placement.Constraints[0] = "changed"
	*back.Task.RestartPolicy.Delay = 0
	if !reflect.DeepEqual(s, fullSpec()) {
		t.Error("changing the read spec changed the original")
	}
}

func testService() *swarm.Service {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 5, time.FixedZone("x", 7200))
	return &swarm.Service{
		ID:   "svc1",
		Meta: swarm.Meta{Version: 36, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)},
		Spec: swarm.ServiceSpec{
			Name: "ping", Mode: swarm.ModeReplicated, Replicas: 2,
			Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine", Args: []string{"ping", "x"}}},
		},
	}
}

func TestServiceFromDomainShape(t *testing.T) {
	m := toMap(t, ServiceFromDomain(testService(), nil))
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, "svc1"},
		{[]string{"Version", "Index"}, 36.0},
		{[]string{"CreatedAt"}, "2025-06-01T10:00:00.000000005Z"},
		{[]string{"UpdatedAt"}, "2025-06-01T10:00:01.000000005Z"},
		{[]string{"Spec", "Name"}, "ping"},
		{[]string{"Spec", "Labels"}, map[string]any{}},
		{[]string{"Spec", "TaskTemplate", "ContainerSpec"}, map[string]any{"Image": "alpine", "Args": []any{"ping", "x"}, "Isolation": "default"}},
		{[]string{"Spec", "TaskTemplate", "Runtime"}, "container"},
		{[]string{"Spec", "TaskTemplate", "ForceUpdate"}, 0.0},
		{[]string{"Spec", "Mode"}, map[string]any{"Replicated": map[string]any{"Replicas": 2.0}}},
		{[]string{"Spec", "EndpointSpec"}, map[string]any{"Mode": "vip"}},
		{[]string{"Endpoint"}, map[string]any{"Spec": map[string]any{"Mode": "vip"}}},
	}
	for _, c := range checks {
		if got := path(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
	for _, k := range []string{"PreviousSpec", "UpdateStatus", "ServiceStatus", "JobStatus"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %v, want it absent", k, v)
		}
	}
	tmpl := path(t, m, "Spec", "TaskTemplate").(map[string]any)
	for _, k := range []string{"Resources", "RestartPolicy", "Placement"} {
		if v, ok := tmpl[k]; ok {
			t.Errorf("unset TaskTemplate.%s = %v, want it absent", k, v)
		}
	}
}

func TestServiceFromDomainStatusAndHistory(t *testing.T) {
	s := testService()
	prev := s.Spec.Copy()
	prev.Replicas = 1
	s.PreviousSpec = &prev
	started := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	s.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateUpdating, StartedAt: started, Message: "update in progress"}
	m := toMap(t, ServiceFromDomain(s, &ServiceStatus{RunningTasks: 1, DesiredTasks: 2}))
	if got := path(t, m, "PreviousSpec", "Mode", "Replicated", "Replicas"); got != 1.0 {
		t.Errorf("PreviousSpec replicas = %v", got)
	}
	if got := path(t, m, "PreviousSpec", "TaskTemplate", "ContainerSpec", "Image"); got != "alpine" {
		t.Errorf("PreviousSpec image = %v", got)
	}
	wantUS := map[string]any{"State": "updating", "StartedAt": "2025-06-02T00:00:00Z", "Message": "update in progress"}
	if got := path(t, m, "UpdateStatus"); !reflect.DeepEqual(got, wantUS) {
		t.Errorf("UpdateStatus = %#v, want %#v (no CompletedAt while updating)", got, wantUS)
	}
	wantSS := map[string]any{"RunningTasks": 1.0, "DesiredTasks": 2.0, "CompletedTasks": 0.0}
	if got := path(t, m, "ServiceStatus"); !reflect.DeepEqual(got, wantSS) {
		t.Errorf("ServiceStatus = %#v, want %#v", got, wantSS)
	}
}

func TestServiceFromDomainGlobal(t *testing.T) {
	s := testService()
	s.Spec.Mode, s.Spec.Replicas = swarm.ModeGlobal, 0
	if got := path(t, toMap(t, ServiceFromDomain(s, nil)), "Spec", "Mode"); !reflect.DeepEqual(got, map[string]any{"Global": map[string]any{}}) {
		t.Errorf("Mode = %#v", got)
	}
}

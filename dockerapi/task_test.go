package dockerapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

func TestTaskFromDomainRunning(t *testing.T) {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	task := &swarm.Task{
		ID:           "task1",
		Meta:         swarm.Meta{Version: 38, CreatedAt: t0, UpdatedAt: t0},
		ServiceID:    "svc1",
		Slot:         2,
		NodeID:       "node1",
		Spec:         swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine", TTY: true}},
		SpecVersion:  9,
		ServiceName:  "ping",
		DesiredState: swarm.TaskRunning,
		Status: swarm.TaskStatus{
			Timestamp: t0.Add(time.Second), State: swarm.TaskRunning, Message: "started",
			PID: 44031, ContainerID: "abc",
		},
	}
	m := toMap(t, TaskFromDomain(task))
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"ID"}, "task1"},
		{[]string{"Version", "Index"}, 38.0},
		{[]string{"CreatedAt"}, "2025-06-01T12:00:00Z"},
		{[]string{"Labels"}, map[string]any{}},
		{[]string{"Spec", "ContainerSpec"}, map[string]any{"Image": "alpine", "TTY": true, "Isolation": "default"}},
		{[]string{"ServiceID"}, "svc1"},
		{[]string{"Slot"}, 2.0},
		{[]string{"NodeID"}, "node1"},
		{[]string{"DesiredState"}, "running"},
		{[]string{"Status", "Timestamp"}, "2025-06-01T12:00:01Z"},
		{[]string{"Status", "State"}, "running"},
		{[]string{"Status", "Message"}, "started"},
		{[]string{"Status", "ContainerStatus"}, map[string]any{"ContainerID": "abc", "PID": 44031.0, "ExitCode": 0.0}},
	}
	for _, c := range checks {
		if got := path(t, m, c.keys...); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v = %#v, want %#v", c.keys, got, c.want)
		}
	}
}

// A new task of a global service: no node yet, no slot, no container, an
// error from the scheduler. ContainerSpec is still an object.
func TestTaskFromDomainPending(t *testing.T) {
	task := &swarm.Task{
		ID: "t2", ServiceID: "svc1", DesiredState: swarm.TaskRunning,
		Status: swarm.TaskStatus{State: swarm.TaskPending, Err: "no suitable node (3 nodes not available for new tasks)"},
	}
	m := toMap(t, TaskFromDomain(task))
	for _, k := range []string{"NodeID", "Slot"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %v, want it absent", k, v)
		}
	}
	if got := path(t, m, "Spec", "ContainerSpec"); !reflect.DeepEqual(got, map[string]any{"Isolation": "default"}) {
		t.Errorf("ContainerSpec = %#v, want an object", got)
	}
	status := path(t, m, "Status").(map[string]any)
	if _, ok := status["ContainerStatus"]; ok {
		t.Error("ContainerStatus present before the runtime reported one")
	}
	if status["State"] != "pending" || status["Err"] != "no suitable node (3 nodes not available for new tasks)" {
		t.Errorf("Status = %v", status)
	}
	// The zero timestamp still parses: the CLI prints "292 years ago".
	b, err := json.Marshal(TaskFromDomain(task))
	if err != nil {
		t.Fatal(err)
	}
	var back wire.Task
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the CLI's decode fails: %v", err)
	}
	if back.Spec.ContainerSpec == nil {
		t.Error("decoded ContainerSpec is nil")
	}
}

func TestTaskStatesAreDockerNames(t *testing.T) {
	for st := swarm.TaskNew; st <= swarm.TaskOrphaned; st++ {
		task := &swarm.Task{Status: swarm.TaskStatus{State: st}, DesiredState: st}
		w := TaskFromDomain(task)
		if string(w.Status.State) != st.String() || string(w.DesiredState) != st.String() {
			t.Errorf("%v: wire %q/%q", st, w.Status.State, w.DesiredState)
		}
	}
	if wire.TaskStateRunning != wire.TaskState(swarm.TaskRunning.String()) || wire.TaskStateOrphaned != wire.TaskState(swarm.TaskOrphaned.String()) {
		t.Error("domain state names differ from moby's")
	}
}

func TestTaskExitCodeShowsContainerStatus(t *testing.T) {
	w := TaskFromDomain(&swarm.Task{Status: swarm.TaskStatus{State: swarm.TaskFailed, ExitCode: 3}})
	if w.Status.ContainerStatus == nil || w.Status.ContainerStatus.ExitCode != 3 {
		t.Errorf("ContainerStatus = %+v, want exit code 3", w.Status.ContainerStatus)
	}
}

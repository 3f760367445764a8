package swarm

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestTaskStateMachine(t *testing.T) {
	cases := []struct {
		from, to TaskState
		ok       bool
	}{
		{TaskNew, TaskPending, true},
		{TaskPending, TaskAssigned, true},
		{TaskAssigned, TaskRunning, true},   // an agent may skip reporting steps
		{TaskRunning, TaskStarting, false},  // never backwards
		{TaskRunning, TaskRunning, false},   // no self transition
		{TaskRunning, TaskFailed, true},     // a running task can fail
		{TaskFailed, TaskRunning, false},    // terminal is final
		{TaskShutdown, TaskFailed, false},   // even to another terminal state
		{TaskAssigned, TaskRemove, false},   // remove is only desired
		{TaskPending, TaskRejected, true},   // the node may refuse at once
		{TaskComplete, TaskOrphaned, false}, // terminal
	}
	for _, c := range cases {
		if got := CanTransition(c.from, c.to); got != c.ok {
			t.Errorf("%s -> %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

func TestTaskStateJSON(t *testing.T) {
	b, err := json.Marshal(TaskStatus{State: TaskRunning})
	if err != nil {
		t.Fatal(err)
	}
	var back TaskStatus
	if err := json.Unmarshal(b, &back); err != nil || back.State != TaskRunning {
		t.Fatalf("round trip of %s: %v %v", b, back.State, err)
	}
	if err := json.Unmarshal([]byte(`{"State":"bogus"}`), &back); err == nil {
		t.Fatal("an unknown state decoded")
	}
}

func TestServiceSpecValidate(t *testing.T) {
	ok := ServiceSpec{Name: "ping", Mode: ModeReplicated, Replicas: 2, Task: TaskSpec{Container: ContainerSpec{Image: "busybox"}}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*ServiceSpec){
		func(s *ServiceSpec) { s.Name = "" },
		func(s *ServiceSpec) { s.Name = "-x" },
		func(s *ServiceSpec) { s.Task.Container.Image = "" },
		func(s *ServiceSpec) { s.Mode = ModeGlobal },
		func(s *ServiceSpec) { s.Mode = "weird" },
		func(s *ServiceSpec) { s.Task.RestartPolicy.Condition = "sometimes" },
		func(s *ServiceSpec) { s.Update = &UpdateConfig{Order: "random"} },
		func(s *ServiceSpec) { s.Task.Resources.Limits.MemoryBytes = -1 },
	}
	for i, mutate := range bad {
		s := ok.Copy()
		mutate(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("case %d: invalid spec accepted: %+v", i, s)
		}
	}
}

// Tasks travel as JSON in the Raft log, snapshots and assignments: zero
// fields are left out (a 10,000-task service writes half the bytes), and
// decoding gives back exactly what was encoded.
func TestTaskJSONOmitsZeroFieldsAndRoundTrips(t *testing.T) {
	b, err := json.Marshal(&Task{ID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"ID":"t1"}` {
		t.Fatalf("sparse task encodes as %s", b)
	}
	grace := 3 * time.Second
	attempts := uint64(0)
	full := &Task{
		ID: "t2", Meta: Meta{Version: 7, CreatedAt: time.Unix(5, 0).UTC(), UpdatedAt: time.Unix(6, 0).UTC()},
		ServiceID: "s1", Slot: 3, NodeID: "n1", SpecVersion: 4, ServiceName: "web", DesiredState: TaskShutdown,
		Spec: TaskSpec{
			Container: ContainerSpec{Image: "busybox", Labels: map[string]string{}, Command: []string{"sleep"}, Env: []string{},
				TTY: true, StopGracePeriod: &grace},
			Resources:     ResourceRequirements{Limits: Resources{NanoCPUs: 1}},
			RestartPolicy: RestartPolicy{Condition: RestartOnFailure, MaxAttempts: &attempts},
			Placement:     Placement{Constraints: []string{"node.role==worker"}, MaxReplicas: 2},
		},
		Status: TaskStatus{Timestamp: time.Unix(7, 0).UTC(), State: TaskFailed, Err: "boom", ExitCode: 1, PID: 42},
	}
	b, err = json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var back Task
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, full) {
		t.Fatalf("round trip changed the task:\n got %+v\nwant %+v", back, *full)
	}
}

package swarm

import (
	"encoding/json"
	"testing"
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

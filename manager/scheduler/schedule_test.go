package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/swarm"
)

const gib = 1 << 30

// node returns a ready, active worker with 4 CPUs and 8 GiB whose hostname
// is host-<id>, changed by opts.
func node(id string, opts ...func(*swarm.Node)) *swarm.Node {
	n := &swarm.Node{
		ID:          swarm.NodeID(id),
		Spec:        swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
		Description: swarm.NodeDescription{Hostname: "host-" + id, NanoCPUs: 4e9, MemoryBytes: 8 * gib},
		Status:      swarm.NodeStatus{State: swarm.NodeStateReady},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func state(s swarm.NodeState) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Status.State = s }
}

func availability(a swarm.Availability) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Spec.Availability = a }
}

func manager(n *swarm.Node) { n.Spec.Role = swarm.RoleManager }

func label(k, v string) func(*swarm.Node) {
	return func(n *swarm.Node) {
		if n.Spec.Labels == nil {
			n.Spec.Labels = map[string]string{}
		}
		n.Spec.Labels[k] = v
	}
}

func capacity(cpus float64, mem int64) func(*swarm.Node) {
	return func(n *swarm.Node) { n.Description.NanoCPUs, n.Description.MemoryBytes = int64(cpus*1e9), mem }
}

// task returns a pending task of a service, desired running, changed by
// opts.
func task(id, svc string, opts ...func(*swarm.Task)) *swarm.Task {
	t := &swarm.Task{
		ID: swarm.TaskID(id), ServiceID: swarm.ServiceID(svc),
		DesiredState: swarm.TaskRunning,
		Status:       swarm.TaskStatus{State: swarm.TaskPending},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// tasks returns n pending tasks of a service named <svc>.<slot>.
func tasks(svc string, n int, opts ...func(*swarm.Task)) []*swarm.Task {
	var out []*swarm.Task
	for i := 1; i <= n; i++ {
		t := task(fmt.Sprintf("%s.%02d", svc, i), svc, opts...)
		t.Slot = i
		out = append(out, t)
	}
	return out
}

// on makes a task one placed on a node, in state st.
func on(nodeID string, st swarm.TaskState) func(*swarm.Task) {
	return func(t *swarm.Task) { t.NodeID, t.Status.State = swarm.NodeID(nodeID), st }
}

func desired(st swarm.TaskState) func(*swarm.Task) {
	return func(t *swarm.Task) { t.DesiredState = st }
}

func constraints(cs ...string) func(*swarm.Task) {
	return func(t *swarm.Task) { t.Spec.Placement.Constraints = cs }
}

func reserve(cpus float64, mem int64) func(*swarm.Task) {
	return func(t *swarm.Task) {
		t.Spec.Resources.Reservations = swarm.Resources{NanoCPUs: int64(cpus * 1e9), MemoryBytes: mem}
	}
}

func maxPerNode(n uint64) func(*swarm.Task) {
	return func(t *swarm.Task) { t.Spec.Placement.MaxReplicas = n }
}

// render writes decisions one a line, by task ID: "t1 -> n1" or
// "t1 pending: reason".
func render(ds []Decision) string {
	lines := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.Node != "" {
			lines = append(lines, fmt.Sprintf("%s -> %s", d.Task, d.Node))
		} else {
			lines = append(lines, fmt.Sprintf("%s pending: %s", d.Task, d.Reason))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func lines(ls ...string) string { return strings.Join(ls, "\n") }

func three(opts ...[]func(*swarm.Node)) []*swarm.Node {
	out := []*swarm.Node{node("n1"), node("n2"), node("n3")}
	for i, o := range opts {
		for _, f := range o {
			f(out[i])
		}
	}
	return out
}

func with(opts ...func(*swarm.Node)) []func(*swarm.Node) { return opts }

func TestSchedule(t *testing.T) {
	tests := []struct {
		name    string
		nodes   []*swarm.Node
		placed  []*swarm.Task // already on nodes
		pending []*swarm.Task
		want    string
	}{
		{
			name:    "spread over three nodes",
			nodes:   three(),
			pending: tasks("a", 3),
			want:    lines("a.01 -> n1", "a.02 -> n2", "a.03 -> n3"),
		},
		{
			name:  "spread counts the tasks already placed",
			nodes: three(),
			placed: []*swarm.Task{
				task("old1", "a", on("n1", swarm.TaskRunning)),
				task("old2", "a", on("n1", swarm.TaskAssigned)),
				task("old3", "a", on("n3", swarm.TaskRunning)),
			},
			pending: tasks("a", 2),
			want:    lines("a.01 -> n2", "a.02 -> n2"),
		},
		{
			name:  "fewest tasks of the service first, then fewest tasks",
			nodes: three(),
			placed: []*swarm.Task{
				task("b1", "b", on("n1", swarm.TaskRunning)),
				task("b2", "b", on("n1", swarm.TaskRunning)),
				task("b3", "b", on("n2", swarm.TaskRunning)),
				task("a1", "a", on("n3", swarm.TaskRunning)),
			},
			pending: tasks("a", 2),
			// n2 (0 of a, 1 task) before n1 (0 of a, 2 tasks) before n3 (1 of a).
			want: lines("a.01 -> n2", "a.02 -> n1"),
		},
		{
			name:  "ended and unwanted tasks do not count for spread",
			nodes: three(),
			placed: []*swarm.Task{
				task("a1", "a", on("n1", swarm.TaskFailed)),
				task("a2", "a", on("n1", swarm.TaskRunning), desired(swarm.TaskShutdown)),
				task("a3", "a", on("n2", swarm.TaskRunning)),
				task("a4", "a", on("n3", swarm.TaskRunning)),
			},
			pending: tasks("a", 1),
			want:    "a.01 -> n1",
		},
		{
			name:    "a drained node gets no new task",
			nodes:   three(nil, with(availability(swarm.AvailabilityDrain))),
			pending: tasks("a", 4),
			want:    lines("a.01 -> n1", "a.02 -> n3", "a.03 -> n1", "a.04 -> n3"),
		},
		{
			name:    "a paused node gets no new task",
			nodes:   three(with(availability(swarm.AvailabilityPause))),
			pending: tasks("a", 2),
			want:    lines("a.01 -> n2", "a.02 -> n3"),
		},
		{
			name:    "down and unknown nodes get no new task",
			nodes:   three(with(state(swarm.NodeStateDown)), nil, with(state(swarm.NodeStateUnknown))),
			pending: tasks("a", 2),
			want:    lines("a.01 -> n2", "a.02 -> n2"),
		},
		{
			name: "no node available",
			nodes: three(with(state(swarm.NodeStateDown)), with(availability(swarm.AvailabilityDrain)),
				with(availability(swarm.AvailabilityPause))),
			pending: tasks("a", 2),
			want: lines(
				"a.01 pending: no suitable node (3 nodes not available for new tasks)",
				"a.02 pending: no suitable node (3 nodes not available for new tasks)"),
		},
		{
			name:    "no node at all",
			pending: tasks("a", 1),
			want:    "a.01 pending: no suitable node",
		},
		{
			name:    "label constraint satisfied",
			nodes:   three(with(label("zone", "b")), with(label("zone", "a")), with(label("zone", "b"))),
			pending: tasks("a", 2, constraints("node.labels.zone==a")),
			want:    lines("a.01 -> n2", "a.02 -> n2"),
		},
		{
			name:    "label constraint not satisfied",
			nodes:   three(with(label("zone", "b")), with(label("zone", "a"))),
			pending: tasks("a", 1, constraints("node.labels.zone==c")),
			want:    "a.01 pending: no suitable node (scheduling constraints not satisfied on 3 nodes)",
		},
		{
			name:    "hostname constraint",
			nodes:   three(),
			pending: tasks("a", 2, constraints("node.hostname==host-n3")),
			want:    lines("a.01 -> n3", "a.02 -> n3"),
		},
		{
			name:    "role constraint",
			nodes:   three(with(manager)),
			pending: tasks("a", 2, constraints("node.role!=manager")),
			want:    lines("a.01 -> n2", "a.02 -> n3"),
		},
		{
			name:    "several constraints must all hold",
			nodes:   three(with(manager, label("zone", "a")), with(label("zone", "a")), with(label("zone", "b"))),
			pending: tasks("a", 1, constraints("node.role==worker", "node.labels.zone==a")),
			want:    "a.01 -> n2",
		},
		{
			name:    "a constraint on an unknown key matches no node",
			nodes:   three(),
			pending: tasks("a", 1, constraints("node.name==n1")),
			want:    "a.01 pending: no suitable node (scheduling constraints not satisfied on 3 nodes)",
		},
		{
			name:    "a constraint that does not parse matches no node",
			nodes:   three(),
			pending: tasks("a", 1, constraints("node.id=n1")),
			want:    "a.01 pending: no suitable node (scheduling constraints not satisfied on 3 nodes)",
		},
		{
			name: "causes are counted under the first filter that refuses, most frequent first",
			nodes: three(with(state(swarm.NodeStateDown), label("zone", "a")), with(availability(swarm.AvailabilityDrain)),
				with(label("zone", "b"))),
			pending: tasks("a", 1, constraints("node.labels.zone==a")),
			want:    "a.01 pending: no suitable node (2 nodes not available for new tasks; scheduling constraints not satisfied on 1 node)",
		},
		{
			name:    "reservations exhaust nodes",
			nodes:   []*swarm.Node{node("n1", capacity(2, 8*gib)), node("n2", capacity(2, 8*gib))},
			placed:  []*swarm.Task{task("old", "a", on("n1", swarm.TaskRunning), reserve(1, 0))},
			pending: tasks("a", 4, reserve(1, 0)),
			want: lines("a.01 -> n2", "a.02 -> n1", "a.03 -> n2",
				"a.04 pending: no suitable node (insufficient resources on 2 nodes)"),
		},
		{
			name:  "a task holds its reservations until it ends, even when no longer wanted",
			nodes: []*swarm.Node{node("n1", capacity(2, 2*gib)), node("n2", capacity(2, 2*gib))},
			placed: []*swarm.Task{
				task("stopping", "a", on("n1", swarm.TaskRunning), desired(swarm.TaskShutdown), reserve(0, 2*gib)),
				task("ended", "a", on("n2", swarm.TaskComplete), reserve(0, 2*gib)),
			},
			pending: tasks("a", 2, reserve(0, 2*gib)),
			want:    lines("a.01 -> n2", "a.02 pending: no suitable node (insufficient resources on 2 nodes)"),
		},
		{
			name:    "memory reservation larger than any node",
			nodes:   three(),
			pending: tasks("a", 1, reserve(0, 16*gib)),
			want:    "a.01 pending: no suitable node (insufficient resources on 3 nodes)",
		},
		{
			name:    "a node that reports no resources fits only tasks that reserve none",
			nodes:   []*swarm.Node{node("n1", capacity(0, 0))},
			pending: append(tasks("a", 1, reserve(0.1, 0)), tasks("b", 1)...),
			want:    lines("a.01 pending: no suitable node (insufficient resources on 1 node)", "b.01 -> n1"),
		},
		{
			name:    "max replicas per node",
			nodes:   three(),
			placed:  []*swarm.Task{task("old", "a", on("n2", swarm.TaskRunning))},
			pending: tasks("a", 6, maxPerNode(2)),
			want: lines("a.01 -> n1", "a.02 -> n3", "a.03 -> n1", "a.04 -> n2", "a.05 -> n3",
				"a.06 pending: no suitable node (max replicas per node limit exceed)"),
		},
		{
			name:    "max replicas and an unavailable node",
			nodes:   three(nil, nil, with(state(swarm.NodeStateDown))),
			pending: tasks("a", 3, maxPerNode(1)),
			want: lines("a.01 -> n1", "a.02 -> n2",
				"a.03 pending: no suitable node (max replicas per node limit exceed; 1 node not available for new tasks)"),
		},
		{
			name:  "a task that names its node is checked against that node only",
			nodes: three(nil, with(availability(swarm.AvailabilityDrain))),
			pending: []*swarm.Task{
				task("g1", "g", on("n1", swarm.TaskPending)),
				task("g2", "g", on("n2", swarm.TaskNew)),
				task("g3", "g", on("gone", swarm.TaskPending)),
			},
			want: lines("g1 -> n1", "g2 pending: no suitable node (1 node not available for new tasks)"),
		},
		{
			name:    "tasks placed on their node first load it for the others",
			nodes:   []*swarm.Node{node("n1", capacity(1, 8*gib)), node("n2", capacity(1, 8*gib))},
			pending: []*swarm.Task{task("a.1", "a", reserve(1, 0)), task("g1", "g", on("n1", swarm.TaskPending), reserve(1, 0))},
			want:    lines("a.1 -> n2", "g1 -> n1"),
		},
		{
			name:    "tasks of one service with different constraints",
			nodes:   three(with(label("zone", "a")), with(label("zone", "b"))),
			pending: []*swarm.Task{task("a.1", "a", constraints("node.labels.zone==b")), task("a.2", "a")},
			// a.1 goes to n2 first, so spread sends a.2 elsewhere.
			want: lines("a.1 -> n2", "a.2 -> n1"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := NewSnapshot(tt.nodes, append(slices.Clone(tt.placed), tt.pending...))
			got := render(Schedule(snap, tt.pending))
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func perNode(ds []Decision) map[swarm.NodeID]int {
	out := map[swarm.NodeID]int{}
	for _, d := range ds {
		out[d.Node]++
	}
	return out
}

func TestScheduleSpreadsABatch(t *testing.T) {
	got := perNode(Schedule(NewSnapshot(three(), nil), tasks("a", 10)))
	want := map[swarm.NodeID]int{"n1": 4, "n2": 3, "n3": 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("10 tasks on 3 nodes: %v, want %v", got, want)
	}
}

// Two services in one batch: each is spread on its own, and the second
// avoids the nodes the first loaded most.
func TestScheduleSpreadsEachServiceOfABatch(t *testing.T) {
	pending := append(tasks("a", 4), tasks("b", 2)...)
	got := render(Schedule(NewSnapshot(three(), nil), pending))
	want := lines("a.01 -> n1", "a.02 -> n2", "a.03 -> n3", "a.04 -> n1", "b.01 -> n2", "b.02 -> n3")
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// Schedule leaves its snapshot alone and answers the same every time,
// whatever the order of its input.
func TestScheduleIsPureAndDeterministic(t *testing.T) {
	nodes := three(with(label("zone", "a")), nil, with(capacity(1, gib)))
	pending := append(tasks("a", 7, reserve(0.5, 0)), tasks("b", 5, constraints("node.labels.zone!=a"))...)
	snap := NewSnapshot(nodes, nil)
	first := Schedule(snap, pending)
	reversed := slices.Clone(pending)
	slices.Reverse(reversed)
	for range 3 {
		if got := Schedule(snap, reversed); render(got) != render(first) {
			t.Fatalf("second run differs:\n%s\nfirst:\n%s", render(got), render(first))
		}
	}
	for _, n := range snap.nodes {
		if n.tasks != 0 || len(n.services) != 0 || n.available.NanoCPUs != n.node.Description.NanoCPUs {
			t.Fatalf("snapshot changed: %+v", n)
		}
	}
}

func TestWaitsForNode(t *testing.T) {
	tests := []struct {
		t    *swarm.Task
		want bool
	}{
		{task("t", "a", func(t *swarm.Task) { t.Status.State = swarm.TaskNew }), true},
		{task("t", "a", func(t *swarm.Task) { t.Status.State = swarm.TaskAllocated }), true},
		{task("t", "a"), true},
		{task("t", "a", on("n1", swarm.TaskPending)), true},
		{task("t", "a", on("n1", swarm.TaskAssigned)), false},
		{task("t", "a", desired(swarm.TaskShutdown)), false},
		{task("t", "a", desired(swarm.TaskReady)), true},
	}
	for i, tt := range tests {
		if got := tt.t.WaitsForNode(); got != tt.want {
			t.Errorf("%d: WaitsForNode(state %s, desired %s) = %v", i, tt.t.Status.State, tt.t.DesiredState, got)
		}
	}
}

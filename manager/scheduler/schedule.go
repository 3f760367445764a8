package scheduler

import (
	"cmp"
	"container/heap"
	"slices"
	"sort"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// Decision is the scheduler's verdict on one task.
type Decision struct {
	Task swarm.TaskID
	// Node is where the task goes; empty when no node fits.
	Node swarm.NodeID
	// Reason says why no node fits, in Docker's words ("no suitable node
	// (2 nodes not available for new tasks; insufficient resources on 1
	// node)"); empty when Node is set.
	Reason string
}

// Schedule places tasks on the snapshot's nodes and returns one decision
// per task, in the order they were made. It does not change the snapshot
// or the tasks, and gives the same answer for the same input.
//
// Tasks that already name a node (a global service's) are checked against
// that node alone, first; a task naming a node the snapshot lacks gets no
// decision (the orchestrator removes such tasks). The others are taken by
// service and slot, and each goes to the node that passes the filters and
// ranks first by spread: fewest tasks of its service, then fewest tasks,
// then lowest ID. Each placement loads its node before the next task is
// placed, so a batch spreads across nodes and cannot overfill one.
func Schedule(snap *Snapshot, tasks []*swarm.Task) []Decision {
	w := &pass{nodes: snap.clone(), p: newPipeline(), out: make([]Decision, 0, len(tasks))}
	var free []*swarm.Task
	for _, t := range tasks {
		if t.NodeID != "" {
			w.placeOnItsNode(t)
		} else {
			free = append(free, t)
		}
	}
	for _, g := range groupTasks(free) {
		w.placeGroup(g)
	}
	return w.out
}

// pass is the state of one Schedule call.
type pass struct {
	nodes []nodeInfo // by ID; loads grow as tasks are placed
	p     *pipeline
	out   []Decision
}

func (w *pass) placeOnItsNode(t *swarm.Task) {
	i, ok := sort.Find(len(w.nodes), func(i int) int { return strings.Compare(string(t.NodeID), string(w.nodes[i].node.ID)) })
	if !ok {
		return
	}
	w.p.setTask(t)
	if !w.p.process(&w.nodes[i]) {
		w.out = append(w.out, Decision{Task: t.ID, Reason: noSuitableNode(w.p.explain())})
		return
	}
	w.nodes[i].place(t)
	w.out = append(w.out, Decision{Task: t.ID, Node: t.NodeID})
}

// placeGroup places tasks the filters cannot tell apart. The nodes that pass
// the filters go into a heap ordered by spread; the first is taken, loaded,
// checked again and put back if it still passes. Only that node's load
// changed, so the heap stays right, and each task costs O(log nodes).
// Once the heap is empty every node has been refused exactly once, and the
// counts explain why the rest of the group fits nowhere.
func (w *pass) placeGroup(g []*swarm.Task) {
	w.p.setTask(g[0])
	svc := g[0].ServiceID
	h := make(candidates, 0, len(w.nodes))
	for i := range w.nodes {
		if n := &w.nodes[i]; w.p.process(n) {
			h = append(h, candidate{n: n, service: n.services[svc]})
		}
	}
	heap.Init(&h)
	reason := ""
	for _, t := range g {
		if len(h) == 0 {
			if reason == "" {
				reason = noSuitableNode(w.p.explain())
			}
			w.out = append(w.out, Decision{Task: t.ID, Reason: reason})
			continue
		}
		c := heap.Pop(&h).(candidate)
		c.n.place(t)
		c.service++
		w.out = append(w.out, Decision{Task: t.ID, Node: c.n.node.ID})
		if w.p.process(c.n) {
			heap.Push(&h, c)
		}
	}
}

// groupKey holds everything the filters read from a task: tasks with the
// same key get the same answers from them.
type groupKey struct {
	service     swarm.ServiceID
	constraints string
	reserve     swarm.Resources
	maxReplicas uint64
}

func keyOf(t *swarm.Task) groupKey {
	return groupKey{
		service:     t.ServiceID,
		constraints: strings.Join(t.Spec.Placement.Constraints, "\x00"),
		reserve:     t.Spec.Resources.Reservations,
		maxReplicas: t.Spec.Placement.MaxReplicas,
	}
}

// groupTasks orders tasks by service, slot and ID, and splits them into
// groups of equal keys, in order of first appearance.
func groupTasks(tasks []*swarm.Task) [][]*swarm.Task {
	sorted := slices.Clone(tasks)
	slices.SortFunc(sorted, func(a, b *swarm.Task) int {
		return cmp.Or(
			strings.Compare(string(a.ServiceID), string(b.ServiceID)),
			cmp.Compare(a.Slot, b.Slot),
			strings.Compare(string(a.ID), string(b.ID)))
	})
	index := map[groupKey]int{}
	var groups [][]*swarm.Task
	for _, t := range sorted {
		k := keyOf(t)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], t)
	}
	return groups
}

// candidate is a node that can take the group's next task.
type candidate struct {
	n       *nodeInfo
	service int // tasks of the group's service on n
}

// candidates is a min-heap by spread rank.
type candidates []candidate

func (h candidates) Len() int { return len(h) }
func (h candidates) Less(i, j int) bool {
	a, b := h[i], h[j]
	return cmp.Or(
		cmp.Compare(a.service, b.service),
		cmp.Compare(a.n.tasks, b.n.tasks),
		strings.Compare(string(a.n.node.ID), string(b.n.node.ID))) < 0
}
func (h candidates) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidates) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidates) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

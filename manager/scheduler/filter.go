package scheduler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// filter decides whether a task may run on a node. The pipeline calls
// SetTask once for a group of tasks that filters cannot tell apart (same
// service, constraints, reservations and replica cap), then Check for many
// nodes; a filter keeps what it needs of the task in between. A filter is
// used by one goroutine at a time and keeps no reference to the nodes.
type filter interface {
	// SetTask prepares the filter for t and reports whether it applies to
	// t at all: a task without constraints skips the constraint filter.
	SetTask(t *swarm.Task) bool
	// Check reports whether the task given to SetTask fits on n.
	Check(n *nodeInfo) bool
	// Explain says, in Docker's words, why the filter refused the task on
	// the given number of nodes.
	Explain(nodes int) string
}

// nodeCount is "1 node" or "3 nodes".
func nodeCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// readyFilter refuses nodes that are down, unknown or disconnected.
type readyFilter struct{}

func (readyFilter) SetTask(*swarm.Task) bool { return true }
func (readyFilter) Check(n *nodeInfo) bool   { return n.node.Status.State == swarm.NodeStateReady }
func (readyFilter) Explain(nodes int) string {
	return nodeCount(nodes) + " not available for new tasks"
}

// activeFilter refuses paused and drained nodes. Docker gives the same
// reason as for a node that is not ready.
type activeFilter struct{ readyFilter }

func (activeFilter) Check(n *nodeInfo) bool {
	return n.node.Spec.Availability == swarm.AvailabilityActive
}

// resourceFilter refuses nodes whose CPU or memory left, after the
// reservations of the tasks already there, is less than the task reserves.
type resourceFilter struct{ need swarm.Resources }

func (f *resourceFilter) SetTask(t *swarm.Task) bool {
	f.need = t.Spec.Resources.Reservations
	return f.need != swarm.Resources{}
}

func (f *resourceFilter) Check(n *nodeInfo) bool {
	return f.need.NanoCPUs <= n.available.NanoCPUs && f.need.MemoryBytes <= n.available.MemoryBytes
}

func (f *resourceFilter) Explain(nodes int) string {
	return "insufficient resources on " + nodeCount(nodes)
}

// constraintFilter refuses nodes that do not satisfy the placement
// constraints. Constraints the control API should have refused match no
// node: a task must not run where its owner did not mean it to.
type constraintFilter struct {
	constraints []Constraint
	bad         bool
}

func (f *constraintFilter) SetTask(t *swarm.Task) bool {
	exprs := t.Spec.Placement.Constraints
	if len(exprs) == 0 {
		return false
	}
	cs, err := ParseConstraints(exprs)
	f.constraints, f.bad = cs, err != nil
	return true
}

func (f *constraintFilter) Check(n *nodeInfo) bool {
	return !f.bad && MatchNode(f.constraints, n.node)
}

func (f *constraintFilter) Explain(nodes int) string {
	return "scheduling constraints not satisfied on " + nodeCount(nodes)
}

// maxReplicasFilter refuses nodes that already run the service's cap of
// tasks per node.
type maxReplicasFilter struct {
	service swarm.ServiceID
	max     uint64
}

func (f *maxReplicasFilter) SetTask(t *swarm.Task) bool {
	f.service, f.max = t.ServiceID, t.Spec.Placement.MaxReplicas
	return f.max > 0
}

func (f *maxReplicasFilter) Check(n *nodeInfo) bool {
	return uint64(n.services[f.service]) < f.max
}

// Explain gives no count: Docker's wording has none.
func (f *maxReplicasFilter) Explain(int) string { return "max replicas per node limit exceed" }

// stage is one filter of the chain.
type stage struct {
	f  filter
	on bool // f applies to the current task
	// cause is the index of the stage whose Explain speaks for this
	// stage's refusals: stages that Docker explains with the same words
	// are counted together.
	cause int
}

// pipeline runs a node through the filters, first refusal wins, and counts
// refusals per cause to explain a task that fits nowhere.
type pipeline struct {
	stages []stage
	fails  []int // by cause
}

// newPipeline builds the chain. The order is:
//
//  1. ready: the node's status is Ready;
//  2. active: its availability is active (not pause, not drain);
//  3. resources: what is left of its CPU and memory covers the task's
//     reservations;
//  4. constraints: it satisfies the service's placement constraints;
//  5. max replicas: it runs fewer of the service's tasks than the cap.
//
// A node is counted under the first filter that refuses it, so a drained
// node is "not available" even if it also misses a label, as in Docker.
// Ready and active share one cause.
func newPipeline() *pipeline {
	p := &pipeline{stages: []stage{
		{f: readyFilter{}, cause: 0},
		{f: activeFilter{}, cause: 0},
		{f: &resourceFilter{}, cause: 2},
		{f: &constraintFilter{}, cause: 3},
		{f: &maxReplicasFilter{}, cause: 4},
	}}
	p.fails = make([]int, len(p.stages))
	return p
}

// setTask prepares every filter for t and clears the refusal counts.
func (p *pipeline) setTask(t *swarm.Task) {
	for i := range p.stages {
		p.stages[i].on = p.stages[i].f.SetTask(t)
	}
	clear(p.fails)
}

// process reports whether the current task fits on n, and counts the
// refusal if not.
func (p *pipeline) process(n *nodeInfo) bool {
	for _, s := range p.stages {
		if s.on && !s.f.Check(n) {
			p.fails[s.cause]++
			return false
		}
	}
	return true
}

// explain lists the causes of refusal counted since setTask, the most
// frequent first (chain order among equals), separated by "; ".
func (p *pipeline) explain() string {
	var causes []int
	for c, n := range p.fails {
		if n > 0 {
			causes = append(causes, c)
		}
	}
	slices.SortStableFunc(causes, func(a, b int) int { return p.fails[b] - p.fails[a] })
	parts := make([]string, len(causes))
	for i, c := range causes {
		parts[i] = p.stages[c].f.Explain(p.fails[c])
	}
	return strings.Join(parts, "; ")
}

// noSuitableNode is the reason a task stays pending, in Docker's words.
func noSuitableNode(explanation string) string {
	if explanation == "" {
		return "no suitable node"
	}
	return "no suitable node (" + explanation + ")"
}

package orchestrator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// plan is one pass: the snapshot it reads and the changes it decides.
type plan struct {
	tx    store.ReadTxn
	now   time.Time
	nodes map[swarm.NodeID]*swarm.Node
	keep  int // tasks kept per slot
	fits  func(*swarm.TaskSpec) func(*swarm.Node) bool

	creates  []*swarm.Task
	desired  []store.TaskChange
	statuses []store.TaskChange
	deletes  []swarm.TaskID
	refresh  []store.TaskChange
	services []*swarm.Service
	failures []failure // services left as they are (guard.go)
	wake     time.Time
}

func newPlan(tx store.ReadTxn, now time.Time) *plan {
	p := &plan{tx: tx, now: now, nodes: map[swarm.NodeID]*swarm.Node{}, keep: retention(tx)}
	nodes, _ := store.ListNodes(tx)
	for _, n := range nodes {
		p.nodes[n.ID] = n
	}
	return p
}

// wakeAt asks for another pass at t.
func (p *plan) wakeAt(t time.Time) {
	if p.wake.IsZero() || t.Before(p.wake) {
		p.wake = t
	}
}

// Items per command: batch for task changes; createBatch for new tasks,
// which are written compactly (an ID and a slot each), so that a large
// service's tasks take few commands, all proposed together.
const (
	batch       = 500
	createBatch = 2000
)

// commands turns the decisions into store commands, in phases whose order
// keeps every intermediate state sensible: stop first, then create, then
// tidy. The commands within a phase are independent of each other.
func (p *plan) commands() [][]*store.Command {
	var out [][]*store.Command
	phase := func(cmds []*store.Command) {
		if len(cmds) > 0 {
			out = append(out, cmds)
		}
	}
	var services []*store.Command
	for _, svc := range p.services {
		services = append(services, store.NewUpdateService(svc, svc.Version))
	}
	phase(services)
	phase(batches(p.statuses, store.NewUpdateTaskStatus))
	phase(batches(p.desired, store.NewSetTasksDesired))
	phase(createCommands(p.creates))
	phase(batches(p.refresh, store.NewRefreshTasks))
	phase(batches(p.deletes, store.NewDeleteTasks))
	return out
}

// createCommands writes new tasks compactly: each command names one
// service's spec version and, per task, only its ID and slot or node; the
// store makes the tasks from the service's spec when it applies them.
func createCommands(tasks []*swarm.Task) []*store.Command {
	var out []*store.Command
	for i := 0; i < len(tasks); {
		first := tasks[i]
		news := make([]store.NewTask, 0, min(createBatch, len(tasks)-i))
		for ; i < len(tasks) && len(news) < createBatch && tasks[i].ServiceID == first.ServiceID && tasks[i].SpecVersion == first.SpecVersion; i++ {
			news = append(news, store.NewTask{ID: tasks[i].ID, Slot: tasks[i].Slot, NodeID: tasks[i].NodeID})
		}
		out = append(out, store.NewCreateServiceTasks(first.ServiceID, first.SpecVersion, news))
	}
	return out
}

// batches cuts items into commands of at most batch items.
func batches[T any](items []T, cmd func([]T) *store.Command) []*store.Command {
	var out []*store.Command
	for i := 0; i < len(items); i += batch {
		out = append(out, cmd(items[i:min(i+batch, len(items))]))
	}
	return out
}

func (p *plan) reconcileAll() {
	services, _ := store.ListServices(p.tx)
	known := map[swarm.ServiceID]bool{}
	for _, svc := range services {
		known[svc.ID] = true
		tasks, _ := store.TasksOfService(p.tx, svc.ID)
		p.reconcileGuarded(svc, tasks)
	}
	all, _ := store.ListTasks(p.tx)
	for _, t := range all {
		if !known[t.ServiceID] {
			p.removeOrphan(t)
		}
	}
}

// removeOrphan stops a task whose service is gone and deletes it once it
// has stopped (or its node is gone).
func (p *plan) removeOrphan(t *swarm.Task) {
	if t.Status.State.Terminal() || t.NodeID == "" || p.nodeDown(t.NodeID) {
		p.deletes = append(p.deletes, t.ID)
		return
	}
	if t.DesiredState < swarm.TaskRemove {
		p.desired = append(p.desired, store.TaskChange{ID: t.ID, Desired: swarm.TaskRemove})
	}
}

// nodeDown reports whether a node is down or gone.
func (p *plan) nodeDown(id swarm.NodeID) bool {
	n, ok := p.nodes[id]
	return !ok || n.Status.State == swarm.NodeStateDown
}

// nodeUsable reports whether a node may keep running tasks: not down and
// not drained.
func (p *plan) nodeUsable(id swarm.NodeID) bool {
	n, ok := p.nodes[id]
	return ok && n.Status.State != swarm.NodeStateDown && n.Spec.Availability != swarm.AvailabilityDrain
}

// slotKey names a slot: its number (replicated) or its node (global).
type slotKey struct {
	slot int
	node swarm.NodeID
}

func keyOf(t *swarm.Task) slotKey {
	if t.Slot > 0 {
		return slotKey{slot: t.Slot}
	}
	return slotKey{node: t.NodeID}
}

func (p *plan) reconcileService(svc *swarm.Service, tasks []*swarm.Task) {
	slots := make(map[slotKey][]*swarm.Task, len(tasks))
	for _, t := range tasks {
		slots[keyOf(t)] = append(slots[keyOf(t)], t)
	}
	for _, ts := range slots {
		if len(ts) > 1 {
			slices.SortFunc(ts, newestFirst)
		}
	}
	keys, wanted := p.wantedSlots(svc)
	u := newUpdate(p, svc)
	for key, ts := range slots {
		if !wanted(key) {
			p.retire(ts)
		}
	}
	for _, key := range keys {
		p.reconcileSlot(svc, key, slots[key], u)
	}
	u.finish()
	for _, ts := range slots {
		p.trim(ts)
	}
}

// newestFirst orders a slot's tasks: the newest first, ties by ID.
func newestFirst(a, b *swarm.Task) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(string(b.ID), string(a.ID))
}

// wantedSlots lists the slots the service should have, in order: 1..N, or
// one per eligible node; wanted tells whether a slot is among them.
func (p *plan) wantedSlots(svc *swarm.Service) (keys []slotKey, wanted func(slotKey) bool) {
	if svc.Spec.Mode == swarm.ModeReplicated {
		n := int(svc.Spec.Replicas)
		keys = make([]slotKey, n)
		for i := range keys {
			keys[i] = slotKey{slot: i + 1}
		}
		return keys, func(k slotKey) bool { return k.node == "" && k.slot >= 1 && k.slot <= n }
	}
	fits := p.globalFits(svc)
	set := map[slotKey]bool{}
	for id, n := range p.nodes {
		if n.Status.State != swarm.NodeStateDown && n.Spec.Availability != swarm.AvailabilityDrain && fits(n) {
			set[slotKey{node: id}] = true
			keys = append(keys, slotKey{node: id})
		}
	}
	slices.SortFunc(keys, func(a, b slotKey) int { return strings.Compare(string(a.node), string(b.node)) })
	return keys, func(k slotKey) bool { return set[k] }
}

// retire stops the live tasks of a slot the service no longer has.
func (p *plan) retire(ts []*swarm.Task) {
	for _, t := range ts {
		if t.DesiredState <= swarm.TaskRunning {
			p.stop(t, "")
		}
	}
}

// stop asks a task to shut down. If its node is down, the task keeps its
// last reported state, marked unconfirmed: nobody can know its real state.
func (p *plan) stop(t *swarm.Task, why string) {
	p.desired = append(p.desired, store.TaskChange{ID: t.ID, Desired: swarm.TaskShutdown})
	if why != "" && !t.Status.State.Terminal() {
		st := t.Status
		st.Message = why
		p.statuses = append(p.statuses, store.TaskChange{ID: t.ID, Status: &st})
	}
}

// reconcileSlot keeps one slot filled with a task of the current spec.
func (p *plan) reconcileSlot(svc *swarm.Service, key slotKey, ts []*swarm.Task, u *update) {
	var live []*swarm.Task
	for _, t := range ts {
		if t.DesiredState > swarm.TaskRunning {
			continue
		}
		switch {
		case t.Status.State.Terminal():
			p.stop(t, "") // it ended: the restart policy decides below
			u.noteEnded(t)
		case t.NodeID != "" && p.nodeDown(t.NodeID):
			p.stop(t, fmt.Sprintf("unconfirmed: node is down; last reported %s", t.Status.State))
		case t.NodeID != "" && !p.nodeUsable(t.NodeID):
			p.stop(t, "node drained")
		default:
			live = append(live, t)
			continue
		}
	}
	if len(live) > 0 {
		u.consider(key, live)
		return
	}
	if key.node != "" && !p.nodeAcceptsNew(key.node) {
		return
	}
	if p.waitForStop(ts) {
		u.inFlight()
		return
	}
	if !p.restartAllowed(svc, ts) {
		return
	}
	p.create(svc, key)
	u.inFlight()
}

// nodeAcceptsNew reports whether a node may get new tasks: ready and active.
func (p *plan) nodeAcceptsNew(id swarm.NodeID) bool {
	n, ok := p.nodes[id]
	return ok && n.Status.State == swarm.NodeStateReady && n.Spec.Availability == swarm.AvailabilityActive
}

// waitForStop holds a replacement back while the slot's previous task is
// still stopping on a live node, so the slot never runs twice.
func (p *plan) waitForStop(ts []*swarm.Task) bool {
	for _, t := range ts {
		if t.DesiredState > swarm.TaskRunning && !t.Status.State.Terminal() &&
			t.Status.State >= swarm.TaskAssigned && t.NodeID != "" && !p.nodeDown(t.NodeID) {
			return true
		}
	}
	return false
}

// restartAllowed applies the restart policy to the slot's newest task.
func (p *plan) restartAllowed(svc *swarm.Service, ts []*swarm.Task) bool {
	if len(ts) == 0 {
		return true
	}
	last := ts[0]
	rp := svc.Spec.Task.RestartPolicy
	if !last.Status.State.Terminal() || last.Status.State == swarm.TaskShutdown {
		return true // stopped by us (update, node lost): replace at once
	}
	switch rp.Condition {
	case swarm.RestartNone:
		return false
	case swarm.RestartOnFailure:
		if last.Status.State == swarm.TaskComplete {
			return false
		}
	}
	if rp.MaxAttempts != nil && *rp.MaxAttempts > 0 && uint64(p.attempts(ts, rp.Window)) >= *rp.MaxAttempts {
		return false
	}
	delay := defaultRestartDelay
	if rp.Delay != nil && *rp.Delay >= 0 { // negative: refused today, stored by older versions
		delay = *rp.Delay
	}
	if due := last.Status.Timestamp.Add(delay); p.now.Before(due) {
		p.wakeAt(due)
		return false
	}
	return true
}

// attempts counts the slot's tasks that ended on their own within window.
func (p *plan) attempts(ts []*swarm.Task, window *time.Duration) int {
	n := 0
	for _, t := range ts {
		if t.Status.State != swarm.TaskFailed && t.Status.State != swarm.TaskComplete && t.Status.State != swarm.TaskRejected {
			continue
		}
		if window != nil && *window > 0 && p.now.Sub(t.Status.Timestamp) > *window {
			continue
		}
		n++
	}
	return n
}

// create adds a new task for a slot, from the service's current spec.
func (p *plan) create(svc *swarm.Service, key slotKey) *swarm.Task {
	t := svc.NewTask(swarm.TaskID(swarm.NewID()), key.slot, key.node, p.now) // global: its node is its slot
	p.creates = append(p.creates, t)
	return t
}

// trim deletes a slot's oldest finished tasks beyond the retention limit.
func (p *plan) trim(ts []*swarm.Task) {
	keep := max(p.keep, 1)
	for i, t := range ts {
		if i < keep {
			continue
		}
		if t.DesiredState > swarm.TaskRunning && (t.Status.State.Terminal() || t.NodeID == "" || p.nodeDown(t.NodeID)) {
			p.deletes = append(p.deletes, t.ID)
		}
	}
}

// globalFits returns whether a global service's task may run on a node.
func (p *plan) globalFits(svc *swarm.Service) func(*swarm.Node) bool {
	if p.fits == nil {
		return func(*swarm.Node) bool { return true }
	}
	return p.fits(&svc.Spec.Task)
}

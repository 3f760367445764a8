package orchestrator

import (
	"fmt"
	"reflect"

	"github.com/shoal-project/shoal/manager/store"

	"github.com/shoal-project/shoal/swarm"
)

// update rolls a service's slots onto its current spec during one pass.
// It decides per slot (consider) and then, once all slots are seen, which
// out-of-date slots to replace now and how the update status moves
// (finish).
type update struct {
	p       *plan
	svc     *swarm.Service
	cfg     swarm.UpdateConfig
	paused  bool
	stale   []staleSlot   // live slots still on an old spec
	pending int           // up-to-date tasks not yet running (in flight)
	ready   []*swarm.Task // up-to-date running tasks
	failed  *swarm.Task   // an up-to-date task that failed during the update
}

type staleSlot struct {
	key  slotKey
	live []*swarm.Task
}

func newUpdate(p *plan, svc *swarm.Service) *update {
	cfg := swarm.UpdateConfig{Parallelism: 1, FailureAction: swarm.FailurePause, Order: swarm.StopFirst, Monitor: defaultMonitor}
	spec := svc.Spec.Update
	if s := svc.UpdateStatus; s != nil && (s.State == swarm.UpdateRollbackStarted || s.State == swarm.UpdateRollbackPaused) && svc.Spec.Rollback != nil {
		spec = svc.Spec.Rollback
	}
	if spec != nil {
		cfg = *spec
		if cfg.Order == "" {
			cfg.Order = swarm.StopFirst
		}
		if cfg.FailureAction == "" {
			cfg.FailureAction = swarm.FailurePause
		}
		if cfg.Monitor == 0 {
			cfg.Monitor = defaultMonitor
		}
	}
	s := svc.UpdateStatus
	return &update{p: p, svc: svc, cfg: cfg, paused: s != nil && (s.State == swarm.UpdatePaused || s.State == swarm.UpdateRollbackPaused)}
}

// defaultMonitor is Docker's update monitor period.
const defaultMonitor = 5e9

// upToDate reports whether t runs the service's current task spec. A task
// whose spec did not change (e.g. a change was undone) is moved to
// the new spec version in place, as Swarm does, instead of being replaced.
func (u *update) upToDate(t *swarm.Task) bool {
	if t.SpecVersion == u.svc.SpecVersion {
		return true
	}
	if reflect.DeepEqual(t.Spec, u.svc.Spec.Task) {
		u.p.refresh = append(u.p.refresh, store.TaskChange{ID: t.ID, SpecVersion: u.svc.SpecVersion})
		return true
	}
	return false
}

// inFlight counts a slot whose replacement is being made.
func (u *update) inFlight() { u.pending++ }

// noteEnded records a task of the current spec that ended on its own.
func (u *update) noteEnded(t *swarm.Task) {
	if u.upToDate(t) && t.Status.State != swarm.TaskComplete && u.updating() {
		u.failed = t
	}
}

func (u *update) updating() bool {
	s := u.svc.UpdateStatus
	return s != nil && (s.State == swarm.UpdateUpdating || s.State == swarm.UpdateRollbackStarted)
}

// consider looks at a slot's live tasks.
func (u *update) consider(key slotKey, live []*swarm.Task) {
	var current *swarm.Task
	var old []*swarm.Task
	for _, t := range live {
		if u.upToDate(t) {
			current = t
		} else {
			old = append(old, t)
		}
	}
	switch {
	case current == nil:
		u.stale = append(u.stale, staleSlot{key: key, live: old})
	case current.Status.State < swarm.TaskRunning:
		u.pending++
	default:
		u.ready = append(u.ready, current)
		for _, t := range old { // start-first: the new one runs, stop the old
			u.p.stop(t, "")
		}
	}
}

// finish replaces the next batch of stale slots and moves the update status.
func (u *update) finish() {
	if u.failed != nil && u.cfg.FailureAction != swarm.FailureContinue && !u.paused {
		u.fail()
		return
	}
	if len(u.stale) == 0 && u.pending == 0 {
		u.complete()
		return
	}
	if len(u.stale) == 0 || u.paused {
		return
	}
	u.start()
	room := len(u.stale)
	if u.cfg.Parallelism > 0 {
		room = int(u.cfg.Parallelism) - u.pending
	}
	if room <= 0 || u.delayed() {
		return
	}
	for _, s := range u.stale[:min(room, len(u.stale))] {
		if u.cfg.Order == swarm.StartFirst {
			u.p.create(u.svc, s.key)
			continue
		}
		for _, t := range s.live {
			u.p.stop(t, "")
		}
	}
}

// delayed holds the next batch until Delay has passed since the newest
// replacement started running.
func (u *update) delayed() bool {
	if u.cfg.Delay == 0 {
		return false
	}
	for _, t := range u.ready {
		if due := t.Status.Timestamp.Add(u.cfg.Delay); u.p.now.Before(due) {
			u.p.wakeAt(due)
			return true
		}
	}
	return false
}

// start marks the service as updating when tasks first roll.
func (u *update) start() {
	if u.svc.UpdateStatus != nil {
		return
	}
	if len(u.stale) == 0 {
		return
	}
	u.setStatus(swarm.UpdateUpdating, "update in progress")
}

// complete marks the update done once every new task has run for the
// monitor period, so that watchers do not stop before it is stable.
func (u *update) complete() {
	if !u.updating() {
		return
	}
	for _, t := range u.ready {
		if due := t.Status.Timestamp.Add(u.cfg.Monitor); u.p.now.Before(due) {
			u.p.wakeAt(due)
			return
		}
	}
	if u.svc.UpdateStatus.State == swarm.UpdateRollbackStarted {
		u.setStatus(swarm.UpdateRollbackCompleted, "rollback completed")
		return
	}
	u.setStatus(swarm.UpdateCompleted, "update completed")
}

// fail applies the failure action: pause, or roll back to the previous spec.
func (u *update) fail() {
	if u.cfg.FailureAction == swarm.FailureRollback && u.svc.PreviousSpec != nil && u.svc.UpdateStatus.State == swarm.UpdateUpdating {
		svc := u.svc.Copy()
		prev := svc.PreviousSpec.Copy()
		cur := svc.Spec.Copy()
		svc.Spec, svc.PreviousSpec = prev, &cur
		svc.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdateRollbackStarted, StartedAt: u.p.now,
			Message: fmt.Sprintf("update rolled back due to failure or early termination of task %s", u.failed.ID)}
		u.p.services = append(u.p.services, svc)
		return
	}
	state := swarm.UpdatePaused
	if u.svc.UpdateStatus.State == swarm.UpdateRollbackStarted {
		state = swarm.UpdateRollbackPaused
	}
	u.setStatus(state, fmt.Sprintf("update paused due to failure or early termination of task %s", u.failed.ID))
}

func (u *update) setStatus(state swarm.UpdateState, msg string) {
	svc := u.svc.Copy()
	st := swarm.UpdateStatus{State: state, Message: msg, StartedAt: u.p.now}
	if old := u.svc.UpdateStatus; old != nil {
		st.StartedAt = old.StartedAt
	}
	if state == swarm.UpdateCompleted || state == swarm.UpdateRollbackCompleted {
		st.CompletedAt = u.p.now
	}
	svc.UpdateStatus = &st
	u.p.services = append(u.p.services, svc)
}

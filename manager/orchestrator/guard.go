package orchestrator

import (
	"fmt"
	"runtime/debug"

	"github.com/shoal-project/shoal/swarm"
)

// A service the orchestrator cannot reconcile (a spec stored before the
// limits existed, or a bug meeting one service's data) must not stop the
// others, nor the manager: every manager replays the same log and would
// fail the same way, at every restart. Such a service is left as it is,
// its failure reported on it (an update status, paused, that `service
// inspect` shows) until a user updates or removes it.

// failure is a service this pass could not reconcile.
type failure struct {
	svc *swarm.Service
	err error
	// stack is where a panic happened (nil for a refusal).
	stack []byte
	// reported: the service already says so; nothing new to write or log.
	reported bool
}

// reconcileGuarded reconciles one service, keeping whatever goes wrong to
// it: a spec beyond what the orchestrator can act on is not reconciled, and
// a panic undoes what the service had added to the plan. Either is recorded
// as a failure, to be written on the service.
func (p *plan) reconcileGuarded(svc *swarm.Service, tasks []*swarm.Task) {
	if svc.Spec.Mode == swarm.ModeReplicated && svc.Spec.Replicas > swarm.MaxReplicas {
		p.fail(svc, fmt.Errorf("%d replicas is more than the maximum of %d; update the service with fewer", svc.Spec.Replicas, swarm.MaxReplicas), nil)
		return
	}
	m := p.mark()
	defer func() {
		if r := recover(); r != nil {
			p.undo(m)
			p.fail(svc, fmt.Errorf("reconciling it failed: %v", r), debug.Stack())
		}
	}()
	p.reconcileService(svc, tasks)
}

// planMark is how far each list of a plan had grown.
type planMark struct{ creates, desired, statuses, deletes, refresh, services int }

func (p *plan) mark() planMark {
	return planMark{len(p.creates), len(p.desired), len(p.statuses), len(p.deletes), len(p.refresh), len(p.services)}
}

// undo drops what the plan gained since m.
func (p *plan) undo(m planMark) {
	p.creates, p.desired, p.statuses = p.creates[:m.creates], p.desired[:m.desired], p.statuses[:m.statuses]
	p.deletes, p.refresh, p.services = p.deletes[:m.deletes], p.refresh[:m.refresh], p.services[:m.services]
}

// fail records that svc could not be reconciled and, unless the service
// says so already, writes it on the service as a paused update status.
func (p *plan) fail(svc *swarm.Service, err error, stack []byte) {
	msg := "orchestrator: cannot reconcile this service: " + err.Error()
	f := failure{svc: svc, err: err, stack: stack}
	if s := svc.UpdateStatus; s != nil && s.State == swarm.UpdatePaused && s.Message == msg {
		f.reported = true
	} else {
		c := svc.Copy()
		c.UpdateStatus = &swarm.UpdateStatus{State: swarm.UpdatePaused, StartedAt: p.now, Message: msg}
		p.services = append(p.services, c)
	}
	p.failures = append(p.failures, f)
}

// logFailures logs the failures not reported before (once per service and
// cause, not at every pass).
func (o *Orchestrator) logFailures(fs []failure) {
	for _, f := range fs {
		if f.reported {
			continue
		}
		args := []any{"service", f.svc.ID, "name", f.svc.Spec.Name, "err", f.err}
		if f.stack != nil {
			args = append(args, "stack", string(f.stack))
		}
		o.cfg.Logger.Error("service not reconciled", args...)
	}
}

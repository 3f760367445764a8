package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// worker keeps one runner per task the managers placed on this node, and
// stops the runners of tasks that disappear from the assignments.
func (a *Agent) worker(ctx context.Context) {
	runners := map[swarm.TaskID]*runner{}
	defer func() {
		for _, r := range runners {
			r.stop()
		}
	}()
	fp := ""
	unavailable := 0 // calls answered "no leader" in a row
	for ctx.Err() == nil {
		resp, err := a.assignments(ctx, fp)
		if err != nil {
			if ctx.Err() == nil {
				unavailable++
				if !errors.Is(err, swarm.ErrUnavailable) {
					unavailable = 1
				}
				a.cfg.Logger.Debug("assignments failed", "err", err)
				a.advance()
				sleep(ctx, retryAfter(200*time.Millisecond, 2*time.Second, unavailable))
			}
			continue
		}
		unavailable = 0
		if resp.Unchanged && resp.Fingerprint == fp {
			continue // the poll ran out: keep the set
		}
		fp = resp.Fingerprint
		a.setTasks(resp.Tasks)
		seen := map[swarm.TaskID]bool{}
		for _, t := range resp.Tasks {
			seen[t.ID] = true
			if r, ok := runners[t.ID]; ok {
				r.update(t)
				continue
			}
			runners[t.ID] = a.startRunner(ctx, t)
		}
		for id, r := range runners {
			if !seen[id] {
				r.remove()
				delete(runners, id)
			}
		}
	}
}

func (a *Agent) assignments(ctx context.Context, fp string) (*dispatchapi.AssignmentsResponse, error) {
	addr := a.current()
	if addr == "" {
		return nil, errors.New("agent: no manager known")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var resp dispatchapi.AssignmentsResponse
	err := a.rpc(ctx, addr, dispatchapi.PathAssignments, dispatchapi.AssignmentsRequest{Fingerprint: fp}, &resp)
	return &resp, err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// runner drives one task through the executor, one exec.Do step at a time.
type runner struct {
	a       *Agent
	updates chan *swarm.Task // the newest version of the task; capacity 1
	removed chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

func (a *Agent) startRunner(parent context.Context, t *swarm.Task) *runner {
	ctx, cancel := context.WithCancel(parent)
	r := &runner{a: a, updates: make(chan *swarm.Task, 1), removed: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.run(ctx, t)
	}()
	return r
}

// update hands the runner a newer version of its task (desired state).
func (r *runner) update(t *swarm.Task) {
	select {
	case <-r.updates: // drop the older pending version
	default:
	}
	r.updates <- t
}

// remove stops the task for good: it was deleted from the cluster.
func (r *runner) remove() {
	r.once.Do(func() { close(r.removed) })
}

// stop ends the runner (the agent stops) and waits for it.
func (r *runner) stop() {
	r.cancel()
	<-r.done
}

func (r *runner) run(ctx context.Context, t *swarm.Task) {
	t, err := expand(t, r.a.cfg.Hostname)
	var ctlr exec.Controller
	if err == nil {
		ctlr, err = r.a.cfg.Executor.Controller(t)
	}
	if err != nil {
		r.report(t, swarm.TaskStatus{State: swarm.TaskRejected, Err: err.Error(), Message: "rejected"})
		r.waitRemoved(ctx)
		return
	}
	defer ctlr.Close()
	defer r.cleanup(ctlr)
	t = r.settleInherited(ctx, t, ctlr)
	for {
		next, err := r.step(ctx, t, ctlr)
		if ctx.Err() != nil {
			return
		}
		if next != nil {
			t = next
			continue
		}
		if err != nil && !errors.Is(err, exec.ErrTaskNoop) {
			r.a.cfg.Logger.Debug("task step failed", "task", t.ID, "err", err)
		}
		select { // nothing to do until the task changes
		case nt := <-r.updates:
			t = merge(t, nt)
		case <-r.removed:
			return
		case <-ctx.Done():
			return
		}
	}
}

// step runs one exec.Do step; a newer version of the task interrupts it.
// It returns the task to go on with, or nil when there is nothing to do.
func (r *runner) step(ctx context.Context, t *swarm.Task, ctlr exec.Controller) (*swarm.Task, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		st  *swarm.TaskStatus
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := exec.Do(sctx, t, ctlr)
		res <- result{st, err}
	}()
	select {
	case out := <-res:
		if out.st == nil || errors.Is(out.err, exec.ErrTaskNoop) {
			return nil, out.err // nothing to do until the task changes
		}
		nt := t.Copy()
		nt.Status = *out.st
		if statusChanged(t.Status, nt.Status) {
			r.report(nt, nt.Status)
		}
		if errors.Is(out.err, exec.ErrTaskRetry) {
			r.backoff(ctx)
		}
		return nt, nil
	case nt := <-r.updates:
		cancel()
		out := <-res
		if out.st != nil && out.err == nil && statusChanged(t.Status, *out.st) {
			t = t.Copy()
			t.Status = *out.st
			r.report(t, t.Status)
		}
		return merge(t, nt), nil
	case <-r.removed:
		cancel()
		<-res
		return nil, nil
	}
}

// merge takes the managers' view of a task but keeps the status this node
// observed: the node is the authority on its own tasks' states.
func merge(local, remote *swarm.Task) *swarm.Task {
	nt := remote.Copy()
	nt.Spec = local.Spec // already expanded
	if swarm.CanTransition(remote.Status.State, local.Status.State) || remote.Status.State == local.Status.State {
		nt.Status = local.Status
	}
	return nt
}

func (r *runner) waitRemoved(ctx context.Context) {
	select {
	case <-r.removed:
	case <-ctx.Done():
	}
}

// cleanup stops the task's process if it still runs and forgets it.
func (r *runner) cleanup(ctlr exec.Controller) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-r.removed:
		_ = ctlr.Shutdown(ctx)
		_ = ctlr.Remove(ctx)
	default:
		// The agent stops (daemon shutdown): stop the process so it does
		// not outlive its daemon; the task is reported after restart.
		_ = ctlr.Shutdown(ctx)
	}
}

func (r *runner) report(t *swarm.Task, st swarm.TaskStatus) {
	if st.Timestamp.IsZero() {
		st.Timestamp = time.Now()
	}
	r.a.queueReport(dispatchapi.TaskStatusUpdate{TaskID: t.ID, Status: st})
}

func (a *Agent) setTasks(tasks []*swarm.Task) {
	m := make(map[swarm.TaskID]*swarm.Task, len(tasks))
	for _, t := range tasks {
		m[t.ID] = t
	}
	a.tasksMu.Lock()
	a.tasks = m
	a.tasksMu.Unlock()
}

func (a *Agent) task(id swarm.TaskID) *swarm.Task {
	a.tasksMu.Lock()
	defer a.tasksMu.Unlock()
	return a.tasks[id]
}

// settleInherited reports how a task that a previous run of this daemon had
// started ended: its process died with the daemon (or was stopped at
// restart), and that is a failure to report, not a clean shutdown, even if
// the managers meanwhile asked it to stop.
func (r *runner) settleInherited(ctx context.Context, t *swarm.Task, ctlr exec.Controller) *swarm.Task {
	if t.Status.State < swarm.TaskStarting || t.Status.State.Terminal() {
		return t
	}
	probe := t.Copy()
	probe.DesiredState = swarm.TaskRunning
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := exec.Do(ctx, probe, ctlr)
	if err != nil || st == nil || !st.State.Terminal() {
		return t
	}
	nt := t.Copy()
	nt.Status = *st
	r.report(nt, nt.Status)
	return nt
}

// statusChanged reports whether a step changed what the managers should
// know: the state or its words.
func statusChanged(old, cur swarm.TaskStatus) bool {
	return old.State != cur.State || old.Message != cur.Message || old.Err != cur.Err
}

// retryDelay spaces the retries of a step the runtime asked to try again
// (e.g. its engine is briefly unreachable), so a runner never spins.
const retryDelay = time.Second

// backoff waits before a retried step, or until the task changes or goes.
func (r *runner) backoff(ctx context.Context) {
	t := time.NewTimer(retryDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-r.removed:
	}
}

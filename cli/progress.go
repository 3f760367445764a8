package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// The convergence monitor: after create, update, scale and rollback, the
// docker CLI polls the service, its up-to-date tasks and the nodes about
// every 200 ms and shows how many tasks run, until they all have run for
// the service's update monitor window. This file reproduces it.

// pollInterval is the pause between two rounds of the monitor.
var pollInterval = 200 * time.Millisecond

// Monitor display limits, as docker's.
const (
	maxSlotBars  = 20 // services with more tasks get no per-task lines
	maxStateStep = 9  // the running step
	stateWidth   = 9  // the longest state name shown ("allocated")
	maxErrWidth  = 75 // a task error is cut to this many bytes
)

// stateSteps orders task states for the monitor; states not listed (remove,
// orphaned) are ignored. Steps above running are terminal.
var stateSteps = map[swarm.TaskState]int64{
	swarm.TaskStateNew: 1, swarm.TaskStateAllocated: 2, swarm.TaskStatePending: 3,
	swarm.TaskStateAssigned: 4, swarm.TaskStateAccepted: 5, swarm.TaskStatePreparing: 6,
	swarm.TaskStateReady: 7, swarm.TaskStateStarting: 8, swarm.TaskStateRunning: 9,
	swarm.TaskStateComplete: 10, swarm.TaskStateShutdown: 11, swarm.TaskStateFailed: 12,
	swarm.TaskStateRejected: 13,
}

func terminalState(s swarm.TaskState) bool { return stateSteps[s] > maxStateStep }

// waitOnService runs the monitor for service ref on the command's output
// (or silently, with quiet). Interrupting the command ends it early with a
// hint, not an error, as in docker.
func waitOnService(c *call, ref string, quiet bool) error {
	out := c.out
	if quiet {
		out = io.Discard
	}
	tty, width := terminalOf(out)
	w := &serviceWatch{api: c.api, ref: ref, show: newLineDisplay(out, tty, width)}
	return w.run(c.ctx)
}

// serviceWatch is one run of the monitor.
type serviceWatch struct {
	api  *client.Client
	ref  string
	show *lineDisplay
}

// progressTracker turns one round's tasks into display lines and says
// whether the service has converged.
type progressTracker interface {
	update(svc swarm.Service, tasks []swarm.Task, active map[string]bool, rollback bool) (bool, error)
}

// watchState is what the monitor remembers between rounds.
type watchState struct {
	tracker     progressTracker
	converged   bool
	convergedAt time.Time
	monitor     time.Duration
	rollback    bool
	final       *progressLine // shown after "converged" (a rollback's message)
}

func (w *serviceWatch) run(ctx context.Context) error {
	st := watchState{monitor: defaultMonitor}
	for {
		done, err := w.round(ctx, &st)
		if ctx.Err() != nil {
			w.interrupted(st.converged)
			return nil
		}
		if err != nil || done {
			return err
		}
		select {
		case <-time.After(pollInterval):
		case <-ctx.Done():
			w.interrupted(st.converged)
			return nil
		}
	}
}

// round is one poll: it reports whether the watch is over.
func (w *serviceWatch) round(ctx context.Context, st *watchState) (bool, error) {
	svc, _, err := w.api.ServiceInspect(ctx, w.ref, false)
	if err != nil {
		return true, err
	}
	if u := svc.Spec.UpdateConfig; u != nil && u.Monitor != 0 {
		st.monitor = u.Monitor
	}
	if st.tracker == nil {
		if st.tracker, err = newTracker(svc, w.show); err != nil {
			return true, err
		}
	}
	if done, err := w.checkUpdateStatus(svc.UpdateStatus, st); done || err != nil {
		return done, err
	}
	if st.converged && time.Since(st.convergedAt) >= st.monitor {
		w.show.write(progressLine{id: "verify", text: "Service " + w.ref + " converged"})
		if st.final != nil {
			w.show.write(*st.final)
		}
		return true, nil
	}
	tasks, err := w.api.TaskList(ctx, client.NewFilters().Add("service", svc.ID).Add("_up-to-date", "true"))
	if err != nil {
		return true, err
	}
	active, err := activeNodes(ctx, w.api)
	if err != nil {
		return true, err
	}
	if st.converged, err = st.tracker.update(svc, tasks, active, st.rollback); err != nil {
		return true, err
	}
	w.verify(st)
	return false, nil
}

// checkUpdateStatus applies the daemon's view of a rolling update: a
// completed update ends the watch (unless the tasks converged and are being
// verified), a paused one is an error.
func (w *serviceWatch) checkUpdateStatus(us *swarm.UpdateStatus, st *watchState) (bool, error) {
	if us == nil {
		return false, nil
	}
	switch us.State {
	case swarm.UpdateStateUpdating:
		st.rollback = false
	case swarm.UpdateStateCompleted:
		if !st.converged {
			return true, nil
		}
	case swarm.UpdateStatePaused:
		return true, fmt.Errorf("service update paused: %s", us.Message)
	case swarm.UpdateStateRollbackStarted:
		if !st.rollback && us.Message != "" {
			w.show.write(progressLine{id: "rollback", text: us.Message})
		}
		st.rollback = true
	case swarm.UpdateStateRollbackPaused:
		return true, fmt.Errorf("service rollback paused: %s", us.Message)
	case swarm.UpdateStateRollbackCompleted:
		if !st.converged {
			st.final = &progressLine{id: "rollback", text: us.Message, message: true}
		}
		st.rollback = true
	}
	return false, nil
}

// verify starts, continues or abandons the stability window after a round.
func (w *serviceWatch) verify(st *watchState) {
	if !st.converged {
		if !st.convergedAt.IsZero() {
			w.show.write(progressLine{id: "verify", text: "Detected task failure"})
		}
		st.convergedAt = time.Time{}
		return
	}
	if st.convergedAt.IsZero() {
		st.convergedAt = time.Now()
	}
	if wait := st.monitor - time.Since(st.convergedAt); wait >= 0 {
		w.show.write(progressLine{id: "verify", text: fmt.Sprintf("Waiting %d seconds to verify that tasks are stable...", wait/time.Second+1)})
	}
}

func (w *serviceWatch) interrupted(converged bool) {
	if converged {
		return
	}
	w.show.write(progressLine{text: "Operation continuing in background.", message: true})
	w.show.write(progressLine{text: fmt.Sprintf("Use `shoal service ps %s` to check progress.", w.ref), message: true})
}

// activeNodes returns the IDs of the nodes that are not down: tasks on down
// nodes do not count.
func activeNodes(ctx context.Context, api *client.Client) (map[string]bool, error) {
	nodes, err := api.NodeList(ctx, nil)
	if err != nil {
		return nil, err
	}
	active := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if n.Status.State != swarm.NodeStateDown {
			active[n.ID] = true
		}
	}
	return active, nil
}

func newTracker(svc swarm.Service, show *lineDisplay) (progressTracker, error) {
	switch m := svc.Spec.Mode; {
	case m.Replicated != nil && m.Replicated.Replicas != nil:
		return &replicatedTracker{show: show, rows: map[int]int{}}, nil
	case m.Global != nil:
		return &globalTracker{show: show}, nil
	}
	return nil, errors.New("unrecognized service mode")
}

func showOverall(show *lineDisplay, running, total int, rollback bool) {
	text := fmt.Sprintf("%d out of %d tasks", running, total)
	if rollback {
		text = "rolling back update: " + text
	}
	show.write(progressLine{id: "overall progress", text: text})
}

// showTask draws one task's line: its error, or its state with a bar.
func showTask(show *lineDisplay, id string, t swarm.Task) {
	switch {
	case t.Status.Err != "":
		show.write(progressLine{id: id, text: truncError(t.Status.Err)})
	case !terminalState(t.DesiredState) && !terminalState(t.Status.State):
		show.write(progressLine{id: id, text: fmt.Sprintf("%-*s", stateWidth, t.Status.State),
			step: stateSteps[t.Status.State], steps: maxStateStep})
	}
}

// truncError keeps a task error on one line of at most maxErrWidth bytes.
func truncError(msg string) string {
	msg = strings.ReplaceAll(msg, "\n", " ")
	if len(msg) > maxErrWidth {
		msg = msg[:maxErrWidth-1] + "…"
	}
	return msg
}

// preferTask reports whether candidate should stand for its slot (or node)
// instead of current: the lower desired state wins, then the lower state.
func preferTask(current, candidate swarm.Task) bool {
	cd, nd := stateSteps[current.DesiredState], stateSteps[candidate.DesiredState]
	if cd != nd {
		return nd < cd
	}
	return stateSteps[candidate.Status.State] < stateSteps[current.Status.State]
}

func knownStates(t swarm.Task) bool {
	return stateSteps[t.DesiredState] != 0 && stateSteps[t.Status.State] != 0
}

// replicatedTracker shows a line per slot ("2/3") under the overall count.
type replicatedTracker struct {
	show    *lineDisplay
	rows    map[int]int // task slot → line number (1-based), in order of appearance
	started bool
	done    bool // converged once: per-task lines stop until a task falters
}

func (t *replicatedTracker) update(svc swarm.Service, tasks []swarm.Task, active map[string]bool, rollback bool) (bool, error) {
	r := svc.Spec.Mode.Replicated
	if r == nil || r.Replicas == nil {
		return false, errors.New("no replica count")
	}
	replicas := int(*r.Replicas)
	if !t.started {
		showOverall(t.show, 0, replicas, rollback)
		if replicas <= maxSlotBars {
			for i := 1; i <= replicas; i++ {
				t.show.write(progressLine{id: fmt.Sprintf("%d/%d", i, replicas), text: " "})
			}
		}
		t.started = true
	}
	bySlot := map[int]swarm.Task{}
	for _, task := range tasks {
		if !knownStates(task) {
			continue
		}
		if cur, ok := bySlot[task.Slot]; ok && !preferTask(cur, task) {
			continue
		}
		if task.NodeID != "" && !active[task.NodeID] {
			continue
		}
		bySlot[task.Slot] = task
	}
	t.recheck(bySlot)
	running := 0
	for _, slot := range sortedKeys(bySlot) {
		task := bySlot[slot]
		row, ok := t.rows[slot]
		if !ok {
			row = len(t.rows) + 1
			t.rows[slot] = row
		}
		if !terminalState(task.DesiredState) && task.Status.State == swarm.TaskStateRunning {
			running++
		}
		if !t.done && replicas <= maxSlotBars && row <= replicas {
			showTask(t.show, fmt.Sprintf("%d/%d", row, replicas), task)
		}
	}
	if !t.done {
		showOverall(t.show, running, replicas, rollback)
		t.done = running == replicas
	}
	return running == replicas, nil
}

// recheck leaves the converged state when some task no longer runs.
func (t *replicatedTracker) recheck(bySlot map[int]swarm.Task) {
	for _, task := range bySlot {
		if task.Status.State != swarm.TaskStateRunning {
			t.done = false
			return
		}
	}
}

// globalTracker shows a line per node (its short ID): the denominator is
// the number of nodes among the up-to-date tasks.
type globalTracker struct {
	show    *lineDisplay
	started bool
	done    bool
}

func (t *globalTracker) update(_ swarm.Service, tasks []swarm.Task, active map[string]bool, rollback bool) (bool, error) {
	byNode := map[string]swarm.Task{}
	for _, task := range tasks {
		if !knownStates(task) {
			continue
		}
		if cur, ok := byNode[task.NodeID]; ok && !preferTask(cur, task) {
			continue
		}
		byNode[task.NodeID] = task
	}
	nodes := len(byNode)
	if !t.started {
		if nodes == 0 {
			t.show.write(progressLine{id: "overall progress", text: "waiting for new tasks"})
			return false, nil
		}
		showOverall(t.show, 0, nodes, rollback)
		t.started = true
	}
	for _, task := range byNode {
		if task.Status.State != swarm.TaskStateRunning {
			t.done = false
			break
		}
	}
	running := 0
	for _, node := range sortedKeys(byNode) {
		task := byNode[node]
		if !active[task.NodeID] {
			continue
		}
		if !terminalState(task.DesiredState) && task.Status.State == swarm.TaskStateRunning {
			running++
		}
		if !t.done && nodes <= maxSlotBars {
			showTask(t.show, shortID(task.NodeID), task)
		}
	}
	if !t.done {
		showOverall(t.show, running, nodes, rollback)
		t.done = running == nodes
	}
	return running == nodes, nil
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// shortID is an object ID as tables show it: 12 characters, without an
// algorithm prefix.
func shortID(id string) string {
	if _, rest, ok := strings.Cut(id, ":"); ok {
		id = rest
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

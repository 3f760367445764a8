package store

import (
	"slices"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// GetTask returns the task with exactly this ID, or swarm.ErrNotFound.
func GetTask(tx ReadTxn, id swarm.TaskID) (*swarm.Task, error) {
	return getTask(tx.txn, id)
}

func getTask(tx *memdb.Txn, id swarm.TaskID) (*swarm.Task, error) {
	obj, err := tx.First(tableTask, indexID, string(id))
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, swarm.Errorf(swarm.ErrNotFound, "task %s not found", id)
	}
	return obj.(*swarm.Task), nil
}

// ListTasks returns every task, ordered by ID.
func ListTasks(tx ReadTxn) ([]*swarm.Task, error) {
	return tasksBy(tx.txn, indexID)
}

// TasksOfService returns a service's tasks, history included.
func TasksOfService(tx ReadTxn, id swarm.ServiceID) ([]*swarm.Task, error) {
	return tasksBy(tx.txn, indexService, string(id))
}

// WaitingTasks returns the tasks the scheduler must place
// (swarm.Task.WaitsForNode), without reading the others.
func WaitingTasks(tx ReadTxn) ([]*swarm.Task, error) {
	return tasksBy(tx.txn, indexWaiting, true)
}

// TasksOfNode returns the tasks placed on a node.
func TasksOfNode(tx ReadTxn, id swarm.NodeID) ([]*swarm.Task, error) {
	return tasksBy(tx.txn, indexNode, string(id))
}

func tasksBy(tx *memdb.Txn, index string, args ...any) ([]*swarm.Task, error) {
	it, err := tx.Get(tableTask, index, args...)
	if err != nil {
		return nil, err
	}
	return collectTasks(it), nil
}

// collectTasks drains it, ordered by ID. The task indexes end their keys
// with the task's ID, so one index value comes out in that order already;
// the sort is then only checked.
func collectTasks(it memdb.ResultIterator) []*swarm.Task {
	var out []*swarm.Task
	for obj := it.Next(); obj != nil; obj = it.Next() {
		out = append(out, obj.(*swarm.Task))
	}
	byID := func(a, b *swarm.Task) int { return strings.Compare(string(a.ID), string(b.ID)) }
	if !slices.IsSortedFunc(out, byID) {
		slices.SortFunc(out, byID)
	}
	return out
}

func createTasks(tx *memdb.Txn, index uint64, cmd *Command) error {
	for _, t := range cmd.Tasks {
		if t == nil || t.ID == "" {
			return swarm.Errorf(swarm.ErrInvalidArgument, "create-tasks with a task without ID")
		}
		if err := insertNewTask(tx, index, cmd.Time, t.Copy()); err != nil {
			return err
		}
	}
	return nil
}

// createServiceTasks makes the tasks of a create-service-tasks command
// from their service's spec. The spec must be the one the orchestrator saw
// (else out of sequence: it plans again from the new spec).
func createServiceTasks(tx *memdb.Txn, index uint64, cmd *Command) error {
	svc, err := getService(tx, cmd.ServiceID)
	if err != nil {
		return err
	}
	if svc.SpecVersion != cmd.SpecVersion {
		return swarm.Errorf(swarm.ErrOutOfSequence, "service %s is at spec version %d, not %d", svc.ID, svc.SpecVersion, cmd.SpecVersion)
	}
	for _, n := range cmd.NewTasks {
		if n.ID == "" {
			return swarm.Errorf(swarm.ErrInvalidArgument, "create-service-tasks with a task without ID")
		}
		if err := insertNewTask(tx, index, cmd.Time, svc.NewTask(n.ID, n.Slot, n.NodeID, cmd.Time)); err != nil {
			return err
		}
	}
	return nil
}

// insertNewTask stores t, which the caller owns, as created at index.
func insertNewTask(tx *memdb.Txn, index uint64, at time.Time, t *swarm.Task) error {
	if old, _ := getTask(tx, t.ID); old != nil {
		return swarm.Errorf(swarm.ErrAlreadyExists, "task %s already exists", t.ID)
	}
	t.Version, t.CreatedAt, t.UpdatedAt = index, at, at
	if t.Status.Timestamp.IsZero() {
		t.Status.Timestamp = at
	}
	if err := tx.Insert(tableTask, t); err != nil {
		return err
	}
	return touchAssignments(tx, nil, t)
}

// changeTasks applies fn to each task named in cmd.Changes. A task that is
// gone, or a change fn declines (returns false), is skipped: batched writes
// from the scheduler, orchestrator and dispatcher race with each other, and
// one stale entry must not fail the others.
func changeTasks(tx *memdb.Txn, index uint64, cmd *Command, fn func(t *swarm.Task, c TaskChange) bool) error {
	for _, ch := range cmd.Changes {
		old, err := getTask(tx, ch.ID)
		if err != nil {
			continue
		}
		t := old.Copy()
		if !fn(t, ch) {
			continue
		}
		t.Version, t.UpdatedAt = index, cmd.Time
		if err := tx.Insert(tableTask, t); err != nil {
			return err
		}
		if err := touchAssignments(tx, old, t); err != nil {
			return err
		}
	}
	return nil
}

func assignTasks(tx *memdb.Txn, index uint64, cmd *Command) error {
	return changeTasks(tx, index, cmd, func(t *swarm.Task, c TaskChange) bool {
		if t.Status.State > swarm.TaskPending || t.DesiredState > swarm.TaskRunning {
			return false // already placed, or no longer wanted
		}
		if c.NodeID == "" { // still no room: record why
			msg := ""
			if c.Status != nil {
				msg = c.Status.Err
			}
			if t.Status.State == swarm.TaskPending && t.Status.Err == msg {
				return false
			}
			t.Status = swarm.TaskStatus{State: swarm.TaskPending, Timestamp: cmd.Time, Message: "pending task scheduling", Err: msg}
			return true
		}
		t.NodeID = c.NodeID
		t.Status = swarm.TaskStatus{State: swarm.TaskAssigned, Timestamp: cmd.Time, Message: "scheduler assigned task to node"}
		return true
	})
}

func setTasksDesired(tx *memdb.Txn, index uint64, cmd *Command) error {
	return changeTasks(tx, index, cmd, func(t *swarm.Task, c TaskChange) bool {
		if c.Desired <= t.DesiredState {
			return false // desired states only move forward
		}
		t.DesiredState = c.Desired
		return true
	})
}

// updateTaskStatus records status reports. routine is true when no task
// ended, none is being stopped and none belongs to a service whose update
// is under way: such reports change nothing a reconciler of services acts
// on (a slot whose task runs, or is on its way to running, needs nothing).
// While 10,000 new tasks start, nearly every command is such a report;
// waking the orchestrator for each had it read every task over and over.
func updateTaskStatus(tx *memdb.Txn, index uint64, cmd *Command) (routine bool, err error) {
	routine = true
	var lastService swarm.ServiceID // the last service looked up, and whether it updates
	var lastUpdating bool
	err = changeTasks(tx, index, cmd, func(t *swarm.Task, c TaskChange) bool {
		if c.Status == nil {
			return false
		}
		if routine && (c.Status.State.Terminal() || t.DesiredState > swarm.TaskRunning) {
			routine = false
		}
		if routine && t.ServiceID != lastService {
			lastService, lastUpdating = t.ServiceID, serviceUpdating(tx, t.ServiceID)
		}
		if routine && lastUpdating {
			routine = false
		}
		if c.Status.State == t.Status.State {
			// Same state, new words (e.g. "unconfirmed"): keep the time.
			if c.Status.Message == t.Status.Message && c.Status.Err == t.Status.Err {
				return false
			}
			ts := t.Status.Timestamp
			t.Status = *c.Status
			t.Status.Timestamp = ts
			return true
		}
		if !swarm.CanTransition(t.Status.State, c.Status.State) {
			return false
		}
		t.Status = *c.Status
		if t.Status.Timestamp.IsZero() {
			t.Status.Timestamp = cmd.Time
		}
		return true
	})
	return routine, err
}

func deleteTasks(tx *memdb.Txn, cmd *Command) error {
	for _, id := range cmd.TaskIDs {
		t, err := getTask(tx, id)
		if err != nil {
			continue
		}
		if err := tx.Delete(tableTask, t); err != nil {
			return err
		}
		if err := touchAssignments(tx, t, nil); err != nil {
			return err
		}
	}
	return nil
}

func refreshTasks(tx *memdb.Txn, index uint64, cmd *Command) error {
	return changeTasks(tx, index, cmd, func(t *swarm.Task, c TaskChange) bool {
		if c.SpecVersion <= t.SpecVersion {
			return false
		}
		t.SpecVersion = c.SpecVersion
		return true
	})
}

// nodeAssignments is a node's row in tableAssign: a new one is stored each
// time what the node must run changes, which fires its watches.
type nodeAssignments struct {
	NodeID swarm.NodeID
}

// placed reports whether t is one of its node's assignments: on a node,
// and assigned or further along.
func placed(t *swarm.Task) bool {
	return t != nil && t.NodeID != "" && t.Status.State >= swarm.TaskAssigned
}

// touchAssignments marks the nodes whose assignments a task's change (old
// to t; nil for none) alters: a task placed on a node or taken off it, or
// a placed task's desired state or spec version changed. A status report
// alters none: the node made it itself. At 1,000 nodes, each group commit
// of status reports had woken a long poll per node, for nothing.
func touchAssignments(tx *memdb.Txn, old, t *swarm.Task) error {
	switch {
	case !placed(old) && !placed(t):
		return nil
	case placed(old) && placed(t) && old.NodeID == t.NodeID &&
		old.DesiredState == t.DesiredState && old.SpecVersion == t.SpecVersion:
		return nil
	}
	for _, x := range []*swarm.Task{old, t} {
		if placed(x) {
			if err := tx.Insert(tableAssign, &nodeAssignments{NodeID: x.NodeID}); err != nil {
				return err
			}
		}
	}
	return nil
}

// serviceUpdating reports whether the service has an update or rollback
// that is not completed (paused included).
func serviceUpdating(tx *memdb.Txn, id swarm.ServiceID) bool {
	svc, err := getService(tx, id)
	if err != nil || svc.UpdateStatus == nil {
		return false
	}
	st := svc.UpdateStatus.State
	return st != swarm.UpdateCompleted && st != swarm.UpdateRollbackCompleted
}

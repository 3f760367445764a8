package dispatcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// longPoll bounds how long an assignments call waits for a change.
const longPoll = 20 * time.Second

// Assignments returns the tasks placed on a node once they differ from
// what the node last saw (or after longPoll). Called from request
// goroutines; it waits on a watch of this node and its tasks only, so a
// change elsewhere in the cluster wakes none of the other nodes' polls.
func (d *Dispatcher) Assignments(ctx context.Context, id swarm.NodeID, req dispatchapi.AssignmentsRequest) (dispatchapi.AssignmentsResponse, error) {
	wait, cancel := context.WithTimeout(ctx, longPoll)
	defer cancel()
	stop := context.AfterFunc(d.runCtx, cancel) // the term ended
	defer stop()
	for {
		tasks, w, err := assigned(d.cfg.Store.ReadTxn(), id)
		if err != nil {
			return dispatchapi.AssignmentsResponse{}, err
		}
		fp := fingerprint(tasks)
		if fp != req.Fingerprint {
			return dispatchapi.AssignmentsResponse{Fingerprint: fp, Tasks: tasks}, nil
		}
		if w.Wait(wait) == nil {
			continue
		}
		switch {
		case d.runCtx.Err() != nil:
			return dispatchapi.AssignmentsResponse{}, swarm.ErrNoLeader
		case ctx.Err() != nil:
			return dispatchapi.AssignmentsResponse{}, ctx.Err()
		}
		// The long poll is over and nothing changed: a thousand idle nodes
		// were sent their whole sets every 20 s for nothing.
		return dispatchapi.AssignmentsResponse{Fingerprint: fp, Unchanged: true}, nil
	}
}

// assigned lists the tasks a node must know of: placed on it, and not
// merely pending; and a watch that fires when they may have changed.
func assigned(tx store.ReadTxn, id swarm.NodeID) ([]*swarm.Task, store.Watch, error) {
	_, all, w, err := store.WatchNodeTasks(tx, id)
	if errors.Is(err, swarm.ErrNotFound) {
		return nil, w, swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a member of the swarm", id)
	}
	if err != nil {
		return nil, w, err
	}
	out := make([]*swarm.Task, 0, len(all))
	for _, t := range all {
		if t.Status.State >= swarm.TaskAssigned {
			out = append(out, t)
		}
	}
	return out, w, nil
}

// fingerprint identifies what a node must do: each task's identity, desired
// state and spec version (a status the node itself reported changes none).
func fingerprint(tasks []*swarm.Task) string {
	h := sha256.New()
	for _, t := range tasks {
		fmt.Fprintf(h, "%s/%d/%d;", t.ID, t.DesiredState, t.SpecVersion)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// UpdateTaskStatus records the states a node reports for its own tasks. A
// report about a task placed elsewhere is refused. Reports from many nodes
// are written together (see statusWriter); it returns once its own are
// committed.
func (d *Dispatcher) UpdateTaskStatus(ctx context.Context, id swarm.NodeID, req dispatchapi.TaskStatusRequest) error {
	tx := d.cfg.Store.ReadTxn()
	changes := make([]store.TaskChange, 0, len(req.Updates))
	for _, u := range req.Updates {
		t, err := store.GetTask(tx, u.TaskID)
		if err != nil {
			continue // deleted meanwhile: nothing to record
		}
		if t.NodeID != id {
			return swarm.Errorf(swarm.ErrPermissionDenied, "task %s is not assigned to node %s", u.TaskID, id)
		}
		st := u.Status
		st.Message, st.Err, st.ContainerID = swarm.CutStatusText(st.Message), swarm.CutStatusText(st.Err), swarm.CutStatusText(st.ContainerID)
		changes = append(changes, store.TaskChange{ID: u.TaskID, Status: &st})
	}
	if len(changes) == 0 {
		return nil
	}
	r := statusReport{changes: changes, done: make(chan error, 1)}
	select {
	case <-d.doneCh:
		return swarm.ErrNoLeader
	default:
	}
	select {
	case d.reports <- r:
	case <-d.doneCh:
		return swarm.ErrNoLeader
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-d.doneCh: // the term ended before this report was written
		select {
		case err := <-r.done:
			return err
		default:
			return swarm.ErrNoLeader
		}
	case <-ctx.Done():
		return ctx.Err() // the write goes on; the node reports again
	}
}

// statusReport is one node's report waiting to be written.
type statusReport struct {
	changes []store.TaskChange
	done    chan error // buffered: the writer never waits on it
}

// maxStatusBatch caps the task changes in one status command.
const maxStatusBatch = 5000

// statusWriter writes task status reports until ctx ends: everything that
// arrived while the previous write was being committed goes into the next
// one (group commit), so a thousand nodes reporting at once make a few
// Raft entries and store changes instead of a thousand.
func (d *Dispatcher) statusWriter(ctx context.Context) {
	for {
		var batch []statusReport
		select {
		case <-ctx.Done():
			return
		case r := <-d.reports:
			batch = append(batch, r)
		}
		n := len(batch[0].changes)
	more:
		for n < maxStatusBatch {
			select {
			case r := <-d.reports:
				batch = append(batch, r)
				n += len(r.changes)
			default:
				break more
			}
		}
		changes := make([]store.TaskChange, 0, n)
		for _, r := range batch {
			changes = append(changes, r.changes...)
		}
		err := store.ProposeSplit(ctx, d.cfg.Proposer, store.NewUpdateTaskStatus(changes))
		for _, r := range batch {
			r.done <- err
		}
	}
}

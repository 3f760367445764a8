package dispatcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// goroutines; it reads the store and waits on its change signal.
func (d *Dispatcher) Assignments(ctx context.Context, id swarm.NodeID, req dispatchapi.AssignmentsRequest) (dispatchapi.AssignmentsResponse, error) {
	deadline := time.NewTimer(longPoll)
	defer deadline.Stop()
	for {
		changed := d.cfg.Store.Changes()
		tasks, err := assigned(d.cfg.Store.ReadTxn(), id)
		if err != nil {
			return dispatchapi.AssignmentsResponse{}, err
		}
		fp := fingerprint(tasks)
		if fp != req.Fingerprint {
			return dispatchapi.AssignmentsResponse{Fingerprint: fp, Tasks: tasks}, nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return dispatchapi.AssignmentsResponse{Fingerprint: fp, Tasks: tasks}, nil
		case <-d.doneCh:
			return dispatchapi.AssignmentsResponse{}, swarm.ErrNoLeader
		case <-ctx.Done():
			return dispatchapi.AssignmentsResponse{}, ctx.Err()
		}
	}
}

// assigned lists the tasks a node must know of: placed on it, and not
// merely pending.
func assigned(tx store.ReadTxn, id swarm.NodeID) ([]*swarm.Task, error) {
	if _, err := store.GetNode(tx, id); err != nil {
		return nil, swarm.Errorf(swarm.ErrPermissionDenied, "node %s is not a member of the swarm", id)
	}
	all, err := store.TasksOfNode(tx, id)
	if err != nil {
		return nil, err
	}
	out := make([]*swarm.Task, 0, len(all))
	for _, t := range all {
		if t.Status.State >= swarm.TaskAssigned {
			out = append(out, t)
		}
	}
	return out, nil
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
// report about a task placed elsewhere is refused.
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
		changes = append(changes, store.TaskChange{ID: u.TaskID, Status: &st})
	}
	if len(changes) == 0 {
		return nil
	}
	return d.cfg.Proposer.Propose(ctx, store.NewUpdateTaskStatus(changes))
}

package store

import (
	"context"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// Watch fires when the data read with it may have changed: it lets a reader
// wait for the few objects it cares about instead of every change of the
// store (Changes). It may fire for unrelated changes too, never misses one.
type Watch struct{ ws memdb.WatchSet }

func newWatch(tx ReadTxn) Watch {
	ws := memdb.NewWatchSet()
	ws.Add(tx.abandoned)
	return Watch{ws: ws}
}

// Wait blocks until the watch fires (nil) or ctx ends (its error).
func (w Watch) Wait(ctx context.Context) error {
	if w.ws.WatchCtx(ctx) != nil {
		return ctx.Err()
	}
	return nil
}

// Fired reports, without waiting, whether the watch has fired.
func (w Watch) Fired() bool {
	for ch := range w.ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// WatchNodeTasks returns a node and the tasks placed on it (ordered by ID),
// with a Watch that fires when the node changes or what it must run does:
// a task placed on it (assigned) or removed from it, or a placed task's
// desired state or spec version changed. A task's status alone does not
// fire it (see touchAssignments).
func WatchNodeTasks(tx ReadTxn, id swarm.NodeID) (*swarm.Node, []*swarm.Task, Watch, error) {
	w := newWatch(tx)
	nodeCh, obj, err := tx.txn.FirstWatch(tableNode, indexID, string(id))
	if err != nil {
		return nil, nil, w, err
	}
	w.ws.Add(nodeCh)
	if obj == nil {
		return nil, nil, w, swarm.Errorf(swarm.ErrNotFound, "node %s not found", id)
	}
	assignCh, _, err := tx.txn.FirstWatch(tableAssign, indexID, string(id))
	if err != nil {
		return nil, nil, w, err
	}
	w.ws.Add(assignCh)
	it, err := tx.txn.Get(tableTask, indexNode, string(id))
	if err != nil {
		return nil, nil, w, err
	}
	tasks := collectTasks(it)
	return obj.(*swarm.Node), tasks, w, nil
}

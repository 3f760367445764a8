package agent

import (
	"context"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// queueReport hands a task status to the reporter; the newest status of a
// task replaces an unsent older one.
func (a *Agent) queueReport(u dispatchapi.TaskStatusUpdate) {
	a.repMu.Lock()
	defer a.repMu.Unlock()
	if a.pending == nil {
		a.pending = map[swarm.TaskID]dispatchapi.TaskStatusUpdate{}
	}
	if old, ok := a.pending[u.TaskID]; ok && !swarm.CanTransition(old.Status.State, u.Status.State) && old.Status.State != u.Status.State {
		return // never replace a newer state with an older one
	}
	a.pending[u.TaskID] = u
	select {
	case a.repKick <- struct{}{}:
	default:
	}
}

// reporter sends queued task statuses in batches, retrying until a manager
// takes them.
func (a *Agent) reporter(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.repKick:
		}
		sleep(ctx, 10*time.Millisecond) // gather a batch
		for ctx.Err() == nil {
			batch := a.takePending()
			if len(batch) == 0 {
				break
			}
			if err := a.sendReports(ctx, batch); err != nil {
				a.cfg.Logger.Debug("task status report failed", "err", err)
				a.requeue(batch)
				a.advance()
				sleep(ctx, 200*time.Millisecond)
			}
		}
	}
}

// maxReportBatch caps the updates of one report, so that a report stays
// well under the manager's body limit for it (4 MiB) whatever the number
// of tasks on the node; each update's texts are cut to
// swarm.MaxStatusTextBytes, as the manager would.
const maxReportBatch = 1000

func (a *Agent) takePending() []dispatchapi.TaskStatusUpdate {
	a.repMu.Lock()
	defer a.repMu.Unlock()
	out := make([]dispatchapi.TaskStatusUpdate, 0, min(len(a.pending), maxReportBatch))
	for id, u := range a.pending {
		if len(out) == maxReportBatch {
			break
		}
		u.Status.Message, u.Status.Err = swarm.CutStatusText(u.Status.Message), swarm.CutStatusText(u.Status.Err)
		u.Status.ContainerID = swarm.CutStatusText(u.Status.ContainerID)
		out = append(out, u)
		delete(a.pending, id)
	}
	return out
}

func (a *Agent) requeue(batch []dispatchapi.TaskStatusUpdate) {
	for _, u := range batch {
		a.repMu.Lock()
		_, newer := a.pending[u.TaskID]
		a.repMu.Unlock()
		if !newer {
			a.queueReport(u)
		}
	}
}

func (a *Agent) sendReports(ctx context.Context, batch []dispatchapi.TaskStatusUpdate) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.rpc(ctx, a.current(), dispatchapi.PathTaskStatus, dispatchapi.TaskStatusRequest{Updates: batch}, nil)
}

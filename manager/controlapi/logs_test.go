package controlapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// logSourceFunc is a LogSource made of one function.
type logSourceFunc func(ctx context.Context, t *swarm.Task, out func(LogMessage) error) error

func (f logSourceFunc) TaskLogs(ctx context.Context, t *swarm.Task, _ LogOptions, out func(LogMessage) error) error {
	return f(ctx, t, out)
}

func logTasks() []*swarm.Task {
	return []*swarm.Task{
		{ID: "t1", NodeID: "n1"},
		{ID: "t2", NodeID: "n2"},
		{ID: "t3"}, // never placed: no node to read from
	}
}

// TestStreamLogsAllAtOnce: the tasks' streams run together (t1 waits for
// t2's first line before it sends its own, as a followed stream would), a
// task with no node is skipped, and out sees one message at a time (-race).
func TestStreamLogsAllAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t2Sent := make(chan struct{})
	src := logSourceFunc(func(ctx context.Context, task *swarm.Task, out func(LogMessage) error) error {
		if task.NodeID == "" {
			t.Errorf("logs read for %s, which has no node", task.ID)
		}
		if task.ID == "t1" {
			select {
			case <-t2Sent:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for i := range 100 {
			if err := out(LogMessage{TaskID: task.ID}); err != nil {
				return err
			}
			if task.ID == "t2" && i == 0 {
				close(t2Sent)
			}
		}
		return nil
	})
	s := &Server{cfg: Config{Logs: src}}
	got := map[swarm.TaskID]int{} // unguarded: out must be called one at a time
	err := s.streamLogs(ctx, logTasks(), LogOptions{Follow: true}, func(m LogMessage) error {
		got[m.TaskID]++
		return nil
	})
	if err != nil || got["t1"] != 100 || got["t2"] != 100 || len(got) != 2 {
		t.Fatalf("streamLogs = %v, lines %v", err, got)
	}
}

// TestStreamLogsFirstErrorEndsTheOthers: one stream's failure is returned
// and ends the streams still running.
func TestStreamLogsFirstErrorEndsTheOthers(t *testing.T) {
	gone := errors.New("node n1 is gone")
	src := logSourceFunc(func(ctx context.Context, task *swarm.Task, _ func(LogMessage) error) error {
		if task.ID == "t1" {
			return gone
		}
		<-ctx.Done() // a followed stream: ends only when told
		return ctx.Err()
	})
	s := &Server{cfg: Config{Logs: src}}
	done := make(chan error, 1)
	go func() {
		done <- s.streamLogs(context.Background(), logTasks(), LogOptions{Follow: true}, func(LogMessage) error { return nil })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, gone) {
			t.Fatalf("streamLogs = %v, want %v", err, gone)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("t2's stream still runs 10 s after t1's failed")
	}
}

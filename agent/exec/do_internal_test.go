package exec

import (
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// TestDoPanicsBackwards: a step that would move a task back is a bug and
// must not be reported.
func TestDoPanicsBackwards(t *testing.T) {
	s := &step{task: &swarm.Task{ID: "t1"}, status: swarm.TaskStatus{State: swarm.TaskRunning}}
	defer func() {
		if recover() == nil {
			t.Fatal("moving running → ready did not panic")
		}
	}()
	s.advance(swarm.TaskReady, MsgPrepared)
}

func TestStampOnlyOnChange(t *testing.T) {
	old := swarm.TaskStatus{State: swarm.TaskRunning, Timestamp: time.Unix(1, 0)}
	same := old
	stamp(&same, &old)
	if !same.Timestamp.Equal(old.Timestamp) {
		t.Fatal("unchanged status got a new timestamp")
	}
	next := old
	next.State = swarm.TaskComplete
	stamp(&next, &old)
	if next.Timestamp.Equal(old.Timestamp) {
		t.Fatal("changed status kept the old timestamp")
	}
}

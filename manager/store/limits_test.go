package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// TestEncodeRefusesTooLargeCommand: a command beyond swarm.MaxCommandBytes
// (swarmkit's 1.5 MB) is refused before it is proposed, with swarmkit's
// words and the too-large class; one just under the limit is fine.
func TestEncodeRefusesTooLargeCommand(t *testing.T) {
	// One time for all: a command's encoded time is shorter when its
	// nanoseconds end in zeros, which would move the limit by a byte.
	at := time.Date(2026, 12, 8, 1, 2, 3, 123456789, time.UTC)
	svc := func(n int) *Command {
		cmd := NewCreateService(&swarm.Service{ID: "s", Spec: swarm.ServiceSpec{Name: "s", Labels: map[string]string{"k": strings.Repeat("x", n)}}})
		cmd.Time = at
		return cmd
	}
	b, err := svc(0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	room := swarm.MaxCommandBytes - len(b)
	if _, err := svc(room).Encode(); err != nil {
		t.Fatalf("a command of exactly the limit: %v", err)
	}
	_, err = svc(room + 1).Encode()
	if !errors.Is(err, swarm.ErrTooLarge) || !strings.Contains(err.Error(), "raft: raft message is too large and can't be sent") {
		t.Fatalf("a command one byte over the limit: %v", err)
	}
}

// encodingProposer encodes (as consensus does) and records what it took.
type encodingProposer struct {
	mu    sync.Mutex
	taken []*Command
}

func (p *encodingProposer) Propose(_ context.Context, cmd *Command) error {
	if _, err := cmd.Encode(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.taken = append(p.taken, cmd)
	return nil
}

// TestProposeSplitCutsLargeBatches: a batch of task statuses too large for
// one Raft entry (1,000 nodes' reports with long messages) is written as
// several entries holding every change once; a single command that cannot
// be cut is refused.
func TestProposeSplitCutsLargeBatches(t *testing.T) {
	changes := make([]TaskChange, 5000)
	for i := range changes {
		changes[i] = TaskChange{ID: swarm.TaskID(swarm.NewID()), Status: &swarm.TaskStatus{State: swarm.TaskFailed,
			Err: strings.Repeat("e", swarm.MaxStatusTextBytes), Timestamp: time.Now()}}
	}
	p := &encodingProposer{}
	if err := ProposeAll(context.Background(), p, []*Command{NewUpdateTaskStatus(changes)}, 8); err != nil {
		t.Fatal(err)
	}
	seen := map[swarm.TaskID]int{}
	for _, c := range p.taken {
		for _, ch := range c.Changes {
			seen[ch.ID]++
		}
	}
	if len(p.taken) < 4 || len(seen) != len(changes) {
		t.Fatalf("%d commands holding %d distinct changes, want several holding all %d", len(p.taken), len(seen), len(changes))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("change of %s written %d times", id, n)
		}
	}
	one := NewUpdateTaskStatus([]TaskChange{{ID: "t", Status: &swarm.TaskStatus{Err: strings.Repeat("e", swarm.MaxCommandBytes)}}})
	if err := ProposeSplit(context.Background(), p, one); !errors.Is(err, swarm.ErrTooLarge) {
		t.Fatalf("a single change beyond the limit: %v", err)
	}
}

// TestApplyPanicIsAnError: a command that makes Apply panic fails, the
// state unchanged, instead of stopping the manager (at every replay).
func TestApplyPanicIsAnError(t *testing.T) {
	s := New()
	if err := s.Apply(1, NewCreateCluster(&swarm.Cluster{ID: "c"})); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(2, nil); err == nil || !strings.Contains(err.Error(), "command at index 2 failed") {
		t.Fatalf("Apply of a command that panics: %v", err)
	}
	if c, err := GetCluster(s.ReadTxn()); err != nil || c.Version != 1 {
		t.Fatalf("state after the failed command: %v %v", c, err)
	}
	if err := s.Apply(3, NewCreateNode(&swarm.Node{ID: "n"})); err != nil {
		t.Fatalf("the next command: %v", err)
	}
}

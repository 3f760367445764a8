package consensus

import (
	"fmt"
	"io"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/manager/store"
)

// fsm is the thin adapter between Raft and the store: decode, then Apply.
// Raft calls Apply, Snapshot and Restore from one goroutine; Persist runs on
// another, over a view captured by Snapshot.
type fsm struct {
	st *store.Store
	// snapshotBytes, if not zero: after this many bytes of commands since
	// the last snapshot, due is signalled (see Raft.snapshotWhenDue).
	snapshotBytes int
	due           chan struct{} // capacity 1
	applied       int           // command bytes since the last snapshot
}

// applyResult is what Apply returns to the proposer through the future.
type applyResult struct{ err error }

func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return applyResult{}
	}
	cmd, err := store.Decode(l.Data)
	if err != nil {
		// A committed entry we cannot read means this binary cannot follow
		// the cluster: stopping is safer than diverging.
		panic(fmt.Sprintf("consensus: undecodable log entry %d: %v", l.Index, err))
	}
	res := applyResult{err: f.st.Apply(l.Index, cmd)}
	if f.applied += len(l.Data); f.snapshotBytes > 0 && f.applied >= f.snapshotBytes {
		select {
		case f.due <- struct{}{}:
		default:
		}
	}
	return res
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.applied = 0
	return &fsmSnapshot{snap: f.st.Snapshot()}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	return f.st.Restore(rc)
}

type fsmSnapshot struct{ snap *store.Snapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.snap.Write(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

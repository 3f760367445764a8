package consensus

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/manager/store"
)

// fsm is the thin adapter between Raft and the store: decode, then Apply.
// Raft calls Apply, Snapshot and Restore from one goroutine; Persist runs on
// another, over a view captured by Snapshot.
type fsm struct {
	st  *store.Store
	log *slog.Logger
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
		// Every member skips the same entry the same way, so their stores
		// stay equal; dying here instead would kill every manager again at
		// every replay of the log. Only a leader writes entries, and only
		// current managers may speak Raft, so this is a bug or a newer
		// binary's command: say it loudly.
		if f.log != nil {
			f.log.Error("skipped an undecodable raft entry", "index", l.Index, "bytes", len(l.Data), "err", err)
		}
		return applyResult{err: fmt.Errorf("consensus: undecodable log entry %d: %w", l.Index, err)}
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

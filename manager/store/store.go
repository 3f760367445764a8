package store

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// Store is the in-memory cluster state. Apply must be called from one
// goroutine at a time (the Raft FSM guarantees it); reads may run
// concurrently with it and see consistent snapshots.
type Store struct {
	db atomic.Pointer[state] // replaced whole by Restore

	mu      sync.Mutex
	index   uint64        // last applied Raft index
	changed chan struct{} // closed and replaced at each Apply
	work    chan struct{} // closed and replaced at each Apply that is not routine
}

// state is one generation of the database: Restore starts a new one and
// closes the old one's abandoned channel.
type state struct {
	db        *memdb.MemDB
	abandoned chan struct{}
}

// New returns an empty store.
func New() *Store {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic("store: bad schema: " + err.Error())
	}
	s := &Store{changed: make(chan struct{}), work: make(chan struct{})}
	s.db.Store(&state{db: db, abandoned: make(chan struct{})})
	return s
}

// ReadTxn is a consistent read-only view of the state.
type ReadTxn struct {
	txn *memdb.Txn
	// abandoned closes when Restore replaces the state this view reads, so
	// a Watch taken from it also fires then.
	abandoned <-chan struct{}
}

// ReadTxn opens a read view; it needs no closing.
func (s *Store) ReadTxn() ReadTxn {
	st := s.db.Load()
	return ReadTxn{txn: st.db.Txn(false), abandoned: st.abandoned}
}

// Index returns the Raft index of the last applied command.
func (s *Store) Index() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

// Changes returns a channel closed at the next Apply or Restore.
func (s *Store) Changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// WorkChanges returns a channel closed at the next Apply or Restore that
// is not routine (a status report of tasks progressing as they should, see
// updateTaskStatus): what a reconciler of services and tasks waits on.
func (s *Store) WorkChanges() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.work
}

func (s *Store) bump(index uint64, work bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index > s.index {
		s.index = index
	}
	s.signal(work)
}

// signal wakes the waiters on Changes and, if work, on WorkChanges. The
// caller holds s.mu.
func (s *Store) signal(work bool) {
	close(s.changed)
	s.changed = make(chan struct{})
	if work {
		close(s.work)
		s.work = make(chan struct{})
	}
}

// Apply performs cmd as the change at Raft index. The returned error is the
// command's outcome (a refusal such as swarm.ErrOutOfSequence); the state is
// unchanged when it is not nil.
func (s *Store) Apply(index uint64, cmd *Command) error {
	tx := s.db.Load().db.Txn(true)
	defer tx.Abort()
	routine, err := applySafely(tx, index, cmd)
	if err != nil {
		s.bump(index, false)
		return err
	}
	tx.Commit()
	s.bump(index, !routine)
	return nil
}

// applySafely is apply with a panic turned into the command's error, the
// state unchanged: a command that makes Apply panic (a bug meeting an
// unforeseen value) would otherwise stop every manager, and again at every
// replay of the log. Apply is deterministic, so every manager reaches the
// same verdict.
func applySafely(tx *memdb.Txn, index uint64, cmd *Command) (routine bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			routine, err = false, fmt.Errorf("store: command at index %d failed: %v", index, p)
		}
	}()
	return apply(tx, index, cmd)
}

// apply performs cmd; routine says it only recorded tasks progressing as
// they should (see updateTaskStatus), which WorkChanges does not signal.
func apply(tx *memdb.Txn, index uint64, cmd *Command) (routine bool, err error) {
	switch cmd.Op {
	case OpCreateCluster:
		return false, createCluster(tx, index, cmd)
	case OpUpdateCluster:
		return false, updateCluster(tx, index, cmd)
	case OpCreateNode:
		return false, createNode(tx, index, cmd)
	case OpUpdateNodeSpec, OpUpdateNodeStatus, OpSetNodeManager, OpUpdateNodeDescription, OpSetNodeCertFloor:
		return false, updateNode(tx, index, cmd)
	case OpUpdateNodeStatuses:
		return false, updateNodeStatuses(tx, index, cmd)
	case OpRemoveNode:
		return false, removeNode(tx, index, cmd)
	case OpCreateService:
		return false, createService(tx, index, cmd)
	case OpUpdateService:
		return false, updateService(tx, index, cmd)
	case OpRemoveService:
		return false, removeService(tx, cmd)
	case OpCreateTasks:
		return false, createTasks(tx, index, cmd)
	case OpCreateServiceTasks:
		return false, createServiceTasks(tx, index, cmd)
	case OpAssignTasks:
		return false, assignTasks(tx, index, cmd)
	case OpSetTasksDesired:
		return false, setTasksDesired(tx, index, cmd)
	case OpUpdateTaskStatus:
		return updateTaskStatus(tx, index, cmd)
	case OpDeleteTasks:
		return false, deleteTasks(tx, cmd)
	case OpRefreshTasks:
		return false, refreshTasks(tx, index, cmd)
	}
	return false, fmt.Errorf("store: unknown op %s", cmd.Op)
}

// snapshot is the serialised form of the whole state.
type snapshot struct {
	Index    uint64
	Clusters []*swarm.Cluster
	Nodes    []*swarm.Node
	Services []*swarm.Service
	Tasks    []*swarm.Task
}

// Snapshot is a consistent view of the whole state, taken at one instant
// and written out later (possibly while Apply goes on).
type Snapshot struct {
	tx    ReadTxn
	index uint64
}

// Snapshot captures the current state. It is cheap: memdb views are
// immutable trees.
func (s *Store) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Snapshot{tx: s.ReadTxn(), index: s.index}
}

// Write serialises the captured state.
func (sn *Snapshot) Write(w io.Writer) error {
	snap := snapshot{Index: sn.index}
	var err error
	if snap.Nodes, err = ListNodes(sn.tx); err != nil {
		return err
	}
	if c, err := GetCluster(sn.tx); err == nil {
		snap.Clusters = []*swarm.Cluster{c}
	}
	if snap.Services, err = ListServices(sn.tx); err != nil {
		return err
	}
	if snap.Tasks, err = ListTasks(sn.tx); err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(&snap); err != nil {
		return fmt.Errorf("store: save: %w", err)
	}
	return nil
}

// Save writes the whole current state to w.
func (s *Store) Save(w io.Writer) error { return s.Snapshot().Write(w) }

// Restore replaces the whole state with what Save wrote.
func (s *Store) Restore(r io.Reader) error {
	var snap snapshot
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return err
	}
	tx := db.Txn(true)
	if err := insertAll(tx, tableCluster, snap.Clusters); err != nil {
		return err
	}
	if err := insertAll(tx, tableNode, snap.Nodes); err != nil {
		return err
	}
	if err := insertAll(tx, tableService, snap.Services); err != nil {
		return err
	}
	if err := insertAll(tx, tableTask, snap.Tasks); err != nil {
		return err
	}
	tx.Commit()
	old := s.db.Swap(&state{db: db, abandoned: make(chan struct{})})
	close(old.abandoned) // wakes the watches on the old state
	s.mu.Lock()
	s.index = snap.Index
	s.signal(true)
	s.mu.Unlock()
	return nil
}

// insertAll inserts the objects of one table; a null one (which the
// indexes would panic on) refuses the snapshot.
func insertAll[T comparable](tx *memdb.Txn, table string, objs []T) error {
	var null T
	for _, o := range objs {
		if o == null {
			tx.Abort()
			return fmt.Errorf("store: restore %s: a null object", table)
		}
		if err := tx.Insert(table, o); err != nil {
			tx.Abort()
			return fmt.Errorf("store: restore %s: %w", table, err)
		}
	}
	return nil
}

package store

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/shoal-project/shoal/swarm"
)

// Table and index names.
const (
	tableNode    = "node"
	tableCluster = "cluster"
	tableService = "service"
	tableTask    = "task"
	// tableAssign holds a row per node, stored again each time what the
	// node must run changes (see WatchNodeTasks); derived, not in snapshots.
	tableAssign  = "assignment"
	indexID      = "id"
	indexName    = "name"
	indexService = "service"
	indexNode    = "node"
	indexWaiting = "waiting" // tasks the scheduler must place
)

func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableNode: {Name: tableNode, Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		}},
		tableCluster: {Name: tableCluster, Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		}},
		tableService: {Name: tableService, Indexes: map[string]*memdb.IndexSchema{
			indexID:   {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			indexName: {Name: indexName, Unique: true, Indexer: serviceNameIndex{}},
		}},
		tableAssign: {Name: tableAssign, Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		}},
		tableTask: {Name: tableTask, Indexes: map[string]*memdb.IndexSchema{
			indexID:      {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			indexService: {Name: indexService, Indexer: &memdb.StringFieldIndex{Field: "ServiceID"}},
			indexNode:    {Name: indexNode, AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
			indexWaiting: {Name: indexWaiting, AllowMissing: true, Indexer: waitingIndex{}},
		}},
	}}
}

// waitingIndex holds only the tasks that wait for a node. (memdb's
// ConditionalIndex would hold every task, under true or false, and each
// status report would rewrite the task's entry there too.)
type waitingIndex struct{}

func (waitingIndex) FromObject(obj any) (bool, []byte, error) {
	if !obj.(*swarm.Task).WaitsForNode() {
		return false, nil, nil
	}
	return true, []byte{1}, nil
}

// FromArgs takes true, the only value the index holds.
func (waitingIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 || args[0] != true {
		return nil, fmt.Errorf("store: the waiting index takes true, not %v", args)
	}
	return []byte{1}, nil
}

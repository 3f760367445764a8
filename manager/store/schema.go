package store

import (
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
			indexWaiting: {Name: indexWaiting, Indexer: &memdb.ConditionalIndex{Conditional: func(obj any) (bool, error) {
				return obj.(*swarm.Task).WaitsForNode(), nil
			}}},
		}},
	}}
}

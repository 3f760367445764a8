package swarm

import "time"

// Meta is the bookkeeping every stored object carries. Version is the Raft
// index of the last change and is what update requests must echo back.
type Meta struct {
	Version   uint64
	CreatedAt time.Time
	UpdatedAt time.Time
}

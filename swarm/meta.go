package swarm

import "time"

// Meta is the bookkeeping every stored object carries. Version is the Raft
// index of the last change and is what update requests must echo back.
type Meta struct {
	Version   uint64    `json:",omitzero"`
	CreatedAt time.Time `json:",omitzero"`
	UpdatedAt time.Time `json:",omitzero"`
}

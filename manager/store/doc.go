// Package store owns the replicated cluster state: go-memdb tables of nodes
// and the cluster object, the commands that change them, and snapshots.
//
// Apply is the only place where state changes. It is deterministic: it reads
// neither the clock nor randomness (a command carries its own timestamp), so
// every manager that applies the same log reaches the same state. The Raft
// FSM (package consensus) decodes log entries and calls Apply; tests call it
// directly with an incrementing index.
//
// Reading:
//
//	tx := st.ReadTxn()
//	n, err := store.GetNode(tx, id)      // objects are shared: Copy before changing
//	nodes, err := store.ListNodes(tx)
//
// Writing goes through Raft: build a Command (NewCreateNode, NewUpdateNodeSpec,
// ...) and propose it; the error Apply returned comes back to the proposer.
//
// Watching: Changes returns a channel that is closed at the next Apply, so an
// owner loop can select on it and re-read.
package store

// Package swarm is shoal's domain model: the cluster, its nodes, services
// and tasks, with their specs, observed status, typed identifiers and
// enumerations, and the invariants a spec must hold.
//
// It holds data and rules about data only. Behaviour lives with the component
// that owns it (the store applies changes, controlapi decides what a request
// may change). It imports nothing internal, so every other package may import it.
//
// Objects read from the store are shared and must not be modified: call Copy
// before changing one.
//
// The objects' JSON (Raft log, snapshots, the node protocol) is the Go
// field names; services' and tasks' fields are tagged omitzero, so a value
// left at zero is not written and decodes back to zero (a task's JSON is
// about half as long).
package swarm

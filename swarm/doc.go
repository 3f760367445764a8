// Package swarm is shoal's domain model: the cluster, its nodes and (later)
// services and tasks, with their specs, observed status, typed identifiers and
// enumerations, and the invariants a spec must hold.
//
// It holds data and rules about data only. Behaviour lives with the component
// that owns it (the store applies changes, controlapi decides what a request
// may change). It imports nothing internal, so every other package may import it.
//
// Objects read from the store are shared and must not be modified: call Copy
// before changing one.
package swarm

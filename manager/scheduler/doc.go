// Package scheduler places tasks on nodes. It runs on the leader only.
//
// It has two halves:
//
//   - A pure core. Schedule takes a Snapshot (the nodes, with what the tasks
//     already on them use and count) and the tasks that wait for a node, and
//     returns one Decision per task: a node, or Docker's "no suitable node
//     (...)" reason. It reads no clock, no randomness and no store, and ties
//     are broken by node ID, so the same input always gives the same
//     placements. Each node goes through a chain of small filters (ready,
//     active, resources, constraints, max replicas; see newPipeline); nodes
//     that pass are ranked by spread: fewest tasks of the same service, then
//     fewest tasks overall, then lowest node ID. Tasks placed earlier in the
//     same call count, so a batch spreads across nodes.
//
//   - A loop (Scheduler.Run). One goroutine watches the store, waits a short
//     debounce after a change so bursts are handled together, reads a
//     snapshot, schedules every waiting task, and proposes the placements and
//     reasons as batched assign-tasks commands. A task that fits nowhere stays
//     pending with its reason, and is placed by the first pass after a change
//     (a node joins or comes back, a label or availability changes, a task
//     ends and frees resources) makes room for it.
//
// ParseConstraints is also what the control API uses to refuse placement
// constraints with bad syntax when a service is created or updated, in
// Docker's words.
//
// Draining (moving tasks off a drained node) is the orchestrator's job; the
// scheduler only stops giving new tasks to nodes that are not active.
package scheduler

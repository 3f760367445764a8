// Package orchestrator runs on the leader and turns services into tasks:
// slots 1..N for a replicated service, one task per eligible node for a
// global one. It keeps every slot filled (a task that ended, a task whose
// node went down or was drained, a slot scaled away), applies the restart
// policy, rolls out spec changes (parallelism, delay, stop-first or
// start-first, failure action), and trims each slot's history to the
// cluster's retention limit.
//
// It is level-triggered: each pass reads one store snapshot, decides, and
// proposes the resulting commands in batches; the next store change (or a
// timer for delayed actions) triggers the next pass. One goroutine, Run.
//
// A slot never runs two copies by its own doing while the network is
// whole: a replacement waits until the old task has stopped, unless the old
// task's node is down (then the old task keeps its last reported state,
// marked unconfirmed) or the update order is start-first.
//
// One service never stops the others (guard.go): a service it cannot act
// on (more than swarm.MaxReplicas from an older version's log) or whose
// reconcile panics is left as it is, its failure written on it once as a
// paused update status, and the pass goes on; so does a pass one of whose
// writes is beyond the Raft entry limit.
package orchestrator

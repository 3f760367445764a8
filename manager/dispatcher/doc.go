// Package dispatcher runs on the leader and owns node sessions: it takes
// each node's heartbeats, tells the node when to send the next one, who the
// managers are and which role it should hold, and writes node liveness into
// the store: Ready on a heartbeat, Unknown when heartbeats stop, Down once the
// cluster's grace period has passed.
//
// Liveness is kept in memory by one goroutine (Run). A new leader starts
// with every node freshly seen, so a change of leader puts no healthy node in
// doubt: only a node that stays silent for the grace period is declared down.
// Silence is forgiven when the leader itself is the likelier cause: while
// most nodes are silent together (mass silence), and by as much as
// heartbeats currently arrive late (lateness).
//
// It also answers each node's assignment long poll and writes the task
// statuses nodes report, batched across nodes (statusWriter).
package dispatcher

// Package consensus wires hashicorp/raft to the store: the FSM (decode a log
// entry, then store.Apply), snapshots, the durable log (raft-boltdb),
// membership changes, leadership transfer, and the managers' reachability as
// the leader sees it.
//
// The Raft transport runs over a StreamLayer the caller provides (package
// clusternet: mutual TLS on the node's one cluster port).
//
// Duties of a caller, in order:
//  1. New, with Bootstrap set only by swarm init (a joining manager starts
//     empty and waits to be added by the leader).
//  2. Propose commands; only the leader may (others get swarm.ErrNoLeader,
//     callers forward to the leader instead).
//  3. Watch Changes to learn of leadership changes; read IsLeader/Leader.
//  4. Shutdown when the manager role ends; Shutdown waits for Raft to stop.
package consensus

// Package manager runs a node's manager role: the store and its Raft member,
// the control API, the RPCs other nodes call on the cluster port (join,
// heartbeat, certificate renewal, Raft membership, forwarded Docker API
// requests), and the components that only the leader runs (the dispatcher
// and the role reconciler), started when leadership is won and stopped when
// it is lost.
//
// Requests that need the leader and reach a follower are forwarded to the
// leader over mutual TLS; with no leader they fail at once with Docker's
// no-leader message.
package manager

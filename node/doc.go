// Package node is shoal's composition root. It owns what a node is across
// its life: its identity and certificates on disk, the cluster port, the
// local Docker API sockets, the agent session, and the manager role, which
// it starts on swarm init, on a manager join, on promotion and on restart,
// and stops on demotion and leave.
//
// Changes of membership (init, join, leave, role changes) are serialised by
// one lock; requests read the current parts through small accessors.
package node

// Package agent is the worker side of a node: its session with the
// managers. It sends heartbeats to one manager at a time, moving to the next
// in the list when one fails; it keeps the list of managers current from
// each answer, and when the cluster wants the node in another role it
// renews the node's certificate and tells the node.
//
// (Running tasks joins here later: the agent never imports the manager.)
package agent

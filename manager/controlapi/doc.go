// Package controlapi holds the rules of the cluster API: what a request may
// read or change, validation, name resolution, version checks and the
// refusals Docker users know (demoting the last manager, removing a node that
// is not down). It runs on the leader, reads the store and writes through a
// Proposer it declares; it never imports the consensus package.
package controlapi

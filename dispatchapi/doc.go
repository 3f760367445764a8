// Package dispatchapi is the node-to-manager protocol: the paths and the JSON
// messages of the RPCs carried by HTTP over mutual TLS on a manager's cluster
// port. The manager side (dispatcher, node) and the agent side both import
// it; it imports only the domain model.
//
// Every RPC except Join needs the caller's node certificate; Join is
// authenticated by its token and runs over a TLS connection that the joining
// node pinned to the CA digest in the token.
package dispatchapi

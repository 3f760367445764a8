// Package clusternet owns a node's one cluster port: a TCP listener whose
// connections are mutual TLS, sorted by their ALPN protocol either to Raft
// (manager to manager) or to the HTTP server of the node RPCs and forwarded
// Docker API requests. It also dials peers with the node's credentials.
//
// A joining node has no certificate yet: the listener accepts TLS clients
// without one, and each RPC handler decides whether it needs an identity
// (ca.PeerIdentity). Raft connections always need a manager certificate.
package clusternet

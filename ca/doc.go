// Package ca owns shoal's security material: the cluster's root certificate
// authority, node certificates, join tokens, the TLS configurations nodes use
// to authenticate each other, and a node's identity on disk.
//
// # Trust model
//
// One self-signed ECDSA P-256 root ("swarm-ca") per cluster. Managers hold its
// key (replicated in the store) and sign node certificates; every node holds
// its certificate. A node certificate names the node: CommonName is the node
// ID, OrganizationalUnit its role ("swarm-manager" or "swarm-worker"), and
// Organization the cluster ID, as in Swarm. Only the public key of a CSR is
// trusted; everything else in the certificate comes from the signer.
//
// Nodes are addressed by IP, so no TLS configuration here checks host names:
// a peer is trusted because its certificate chains to the cluster root, and
// who it is comes from Identity, never from the address dialled.
//
// A node that is joining has only a join token,
// SWMTKN-1-<root digest>-<secret>. The digest pins the root: the joining node
// accepts a manager only if the chain it presents contains a CA certificate
// with that digest (BootstrapTLSConfig), learns the root from it, and then
// presents the secret to get its first certificate.
//
// # Run-time changes
//
// Credentials hold a node's current certificate and key behind an atomic
// pointer. TLS configurations built from them read the certificate on every
// handshake, so renewal, promotion and demotion take effect on the next
// connection without restarting a listener. The root of a Credentials value
// is fixed for its life: rotating the root means building new Credentials.
//
// # Time
//
// Signing and verification read time.Now (SignAt takes an explicit time). In
// a testing/synctest bubble time.Now starts in the year 2000, so create the
// CA, the certificates and the connections inside the same bubble.
package ca

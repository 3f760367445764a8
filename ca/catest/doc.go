// Package catest makes throwaway certificate authorities and node
// credentials for tests, and runs real TLS handshakes over loopback between
// configurations built from them.
//
// Every credential it makes belongs to the cluster ClusterID. Nothing is
// written to disk.
package catest

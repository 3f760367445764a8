package clusternet

import (
	"crypto/tls"
	"net"
	"net/http"

	"github.com/shoal-project/shoal/ca"
)

// peerConn is what the mux knows of an open connection: who is behind it
// (hasID false for a joining node, which has no certificate yet).
type peerConn struct {
	id    ca.Identity
	hasID bool
}

// track records an open connection and its peer's identity.
func (m *Mux) track(c *tls.Conn) {
	pc := peerConn{}
	if id, err := ca.PeerIdentity(c.ConnectionState()); err == nil {
		pc = peerConn{id: id, hasID: true}
	}
	m.connsMu.Lock()
	m.conns[c] = pc
	m.connsMu.Unlock()
}

// forget drops a closed connection from the set.
func (m *Mux) forget(c net.Conn) {
	m.connsMu.Lock()
	delete(m.conns, c)
	m.connsMu.Unlock()
}

// connState keeps the set current for the HTTP server of the port.
func (m *Mux) connState(c net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateHijacked {
		m.forget(c)
	}
}

// CloseIf closes every open connection (Raft or HTTP) whose peer presented
// a certificate for which refuse returns true, and returns how many it
// closed. Managers call it when the membership changes, so that a node
// demoted or removed loses its open connections at once instead of keeping
// what it was allowed when it connected.
func (m *Mux) CloseIf(refuse func(ca.Identity) bool) int {
	m.connsMu.Lock()
	var doomed []net.Conn
	for c, pc := range m.conns {
		if pc.hasID && refuse(pc.id) {
			doomed = append(doomed, c)
			delete(m.conns, c)
		}
	}
	m.connsMu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
	return len(doomed)
}

// NewHTTPServer returns the server for this port's HTTP listener: as the
// package's NewHTTPServer, and it keeps the port's set of open connections
// current (see CloseIf).
func (m *Mux) NewHTTPServer(h http.Handler) *http.Server {
	s := NewHTTPServer(h)
	s.ConnState = m.connState
	return s
}

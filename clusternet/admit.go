package clusternet

import (
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// reservedFDs are the descriptors the cluster port leaves to the rest of
// the process (the API sockets, Raft's log and snapshots, task logs,
// connections it dials): it holds at most the descriptor limit less these
// (half the limit if that is more). A connection beyond is closed as soon
// as accepted, so that a flood of connections to the port (each held up to
// the handshake's bound, or for the idle bound once past it) cannot leave
// the API socket unable to accept `node ls`.
const reservedFDs = 256

// connLimit is the most connections the cluster port holds at once, from
// the current descriptor limit (read each time: it may be changed while
// the process runs).
func connLimit() int64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > math.MaxInt32 {
		return math.MaxInt64
	}
	n := int64(r.Cur)
	return max(n-reservedFDs, n/2)
}

// admit counts conn among the port's open connections, or closes it and
// returns nil if the port holds its limit already.
func (m *Mux) admit(conn net.Conn) net.Conn {
	if m.open.Load() >= connLimit() {
		conn.Close()
		return nil
	}
	m.open.Add(1)
	return &countedConn{Conn: conn, open: &m.open}
}

// countedConn leaves the count of open connections when closed.
type countedConn struct {
	net.Conn
	once sync.Once
	open *atomic.Int64
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.open.Add(-1) })
	return err
}

package clusternet

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/swarm"
)

// RaftLayer is a raft.StreamLayer over the mux: it accepts Raft connections
// from peers with a manager certificate and dials peers the same way. Each
// Raft instance gets its own layer; closing it leaves the mux running.
type RaftLayer struct {
	mux   *Mux
	creds *ca.Credentials

	closeOnce sync.Once
	closed    chan struct{}
}

// RaftLayer returns a new stream layer for one Raft instance.
func (m *Mux) RaftLayer(creds *ca.Credentials) *RaftLayer {
	return &RaftLayer{mux: m, creds: creds, closed: make(chan struct{})}
}

// Accept waits for the next Raft connection from a manager.
func (l *RaftLayer) Accept() (net.Conn, error) {
	for {
		select {
		case c := <-l.mux.raftCh:
			if err := requireManager(l.creds.Root(), c.(*tls.Conn)); err != nil {
				l.mux.log.Warn("refused raft connection", "remote", c.RemoteAddr(), "err", err)
				c.Close()
				continue
			}
			return c, nil
		case <-l.closed:
			return nil, net.ErrClosed
		case <-l.mux.stopCh:
			return nil, net.ErrClosed
		}
	}
}

// Close stops this layer's Accept.
func (l *RaftLayer) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr is the cluster port's address.
func (l *RaftLayer) Addr() net.Addr { return l.mux.Addr() }

// Dial opens a Raft connection to a peer manager.
func (l *RaftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", string(addr), l.creds.ClientTLSConfig(ProtoRaft))
	if err != nil {
		return nil, err
	}
	if err := requireManager(l.creds.Root(), c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func requireManager(root *ca.RootCA, c *tls.Conn) error {
	id, err := root.VerifyPeer(c.ConnectionState())
	if err != nil {
		return err
	}
	if id.Role != swarm.RoleManager {
		return fmt.Errorf("clusternet: peer %s is not a manager", id.NodeID)
	}
	return nil
}

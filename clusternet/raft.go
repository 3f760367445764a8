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
// from peers with a manager certificate that its policy admits, and dials
// peers the same way. Each Raft instance gets its own layer; closing it
// leaves the mux running.
type RaftLayer struct {
	mux   *Mux
	creds *ca.Credentials
	admit PeerPolicy

	closeOnce sync.Once
	closed    chan struct{}

	mu       sync.Mutex
	accepted map[*layerConn]struct{} // open inbound connections
	walkers  sync.WaitGroup          // of the accepted connections' headerConns
}

// layerConn is an accepted connection that leaves its layer's set when
// closed.
type layerConn struct {
	net.Conn          // the checked connection (headerConn)
	raw      net.Conn // the TLS connection, as the mux knows it
	l        *RaftLayer
	once     sync.Once
}

func (c *layerConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.accepted, c)
		c.l.mu.Unlock()
		c.l.mux.forget(c.raw)
	})
	return c.Conn.Close()
}

// PeerPolicy decides whether a peer whose certificate chains to the root
// and says "manager" may speak Raft with this member now: a certificate
// says what its holder was when it was issued, the replicated state says
// what it is (still a member? removed? demoted? certificate replaced?). A
// nil error admits it.
type PeerPolicy func(ca.Identity) error

// RaftLayer returns a new stream layer for one Raft instance. admit is
// asked about every inbound connection's peer; nil admits any manager
// certificate of the cluster.
func (m *Mux) RaftLayer(creds *ca.Credentials, admit PeerPolicy) *RaftLayer {
	return &RaftLayer{mux: m, creds: creds, admit: admit, closed: make(chan struct{}), accepted: map[*layerConn]struct{}{}}
}

// Accept waits for the next Raft connection from a manager.
func (l *RaftLayer) Accept() (net.Conn, error) {
	for {
		select {
		case c := <-l.mux.raftCh:
			id, err := l.check(c.(*tls.Conn))
			if err != nil {
				l.mux.log.Warn("refused raft connection", "remote", c.RemoteAddr(), "err", err)
				l.mux.forget(c)
				c.Close()
				continue
			}
			return l.track(c, string(id))
		case <-l.closed:
			return nil, net.ErrClosed
		case <-l.mux.stopCh:
			return nil, net.ErrClosed
		}
	}
}

func (l *RaftLayer) track(c net.Conn, node string) (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		c.Close()
		return nil, net.ErrClosed
	default:
	}
	lc := &layerConn{Conn: newHeaderConn(c, node, &l.walkers), raw: c, l: l}
	l.accepted[lc] = struct{}{}
	return lc, nil
}

// Close stops this layer's Accept and closes the connections it accepted:
// the transport's handlers of those connections end now, not whenever the
// peers hang up.
func (l *RaftLayer) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		close(l.closed)
		conns := make([]*layerConn, 0, len(l.accepted))
		for c := range l.accepted {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	l.walkers.Wait()
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

// check admits an inbound connection: a manager certificate of this
// cluster, whose holder the policy admits. Its requests must then carry
// that node's ID in their header (headerConn).
func (l *RaftLayer) check(c *tls.Conn) (swarm.NodeID, error) {
	if err := requireManager(l.creds.Root(), c); err != nil {
		return "", err
	}
	id, err := ca.PeerIdentity(c.ConnectionState())
	if err != nil {
		return "", err
	}
	if l.admit != nil {
		err = l.admit(id)
	}
	return id.NodeID, err
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

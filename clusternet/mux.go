package clusternet

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-project/shoal/ca"
)

// ALPN protocols on the cluster port.
const (
	ProtoRaft  = "shoal-raft"
	ProtoHTTP2 = "h2"
	ProtoHTTP  = "http/1.1"
)

// MaxStreams is how many requests one peer may have in flight on one HTTP/2
// connection. A follower proxies the long polls of every node attached to
// it to the leader, so this is well above net/http's default of 250.
const MaxStreams = 4096

// handshakeTimeout bounds a TLS handshake on the cluster port, on either
// side, once connected. It is well above DialTimeout: a peer that accepted
// the connection is alive, and on a loaded machine a handshake given up on
// half-way is CPU thrown away that the next attempt spends again (a
// client's dial goes on after the request that started it gave up, and
// the connection is kept for the next one).
const handshakeTimeout = 10 * time.Second

// Mux accepts TLS connections on the cluster port and hands each to the
// Raft layer or the HTTP listener.
type Mux struct {
	tcp    net.Listener
	conf   *tls.Config
	log    *slog.Logger
	raftCh chan net.Conn
	http   *chanListener

	stopCh    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
	open      atomic.Int64 // connections accepted and not closed (admit.go)

	connsMu sync.Mutex
	conns   map[net.Conn]peerConn // open connections after their handshake
}

// Listen opens addr and starts accepting. Close stops it.
func Listen(addr string, creds *ca.Credentials, log *slog.Logger) (*Mux, error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serve(tcp, creds, log), nil
}

// serve starts accepting on tcp.
func serve(tcp net.Listener, creds *ca.Credentials, log *slog.Logger) *Mux {
	m := &Mux{
		tcp:    tcp,
		conf:   creds.ServerTLSConfig(ProtoRaft, ProtoHTTP2, ProtoHTTP),
		log:    log,
		raftCh: make(chan net.Conn),
		stopCh: make(chan struct{}),
		conns:  map[net.Conn]peerConn{},
	}
	m.http = newChanListener(tcp.Addr(), m.stopCh)
	m.wg.Add(1)
	go m.accept()
	return m
}

// Addr is the address the port listens on.
func (m *Mux) Addr() net.Addr { return m.tcp.Addr() }

// HTTPListener yields the connections that negotiated HTTP (HTTP/2 or
// HTTP/1.1): serve it with an http.Server made by NewHTTPServer.
func (m *Mux) HTTPListener() net.Listener { return m.http }

// Close stops accepting and waits for pending handshakes.
func (m *Mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		close(m.stopCh)
		err = m.tcp.Close()
	})
	m.wg.Wait()
	return err
}

// Accept backoff: after a failed accept (e.g. EMFILE, ENFILE: the process
// or the system is out of descriptors) the loop waits, 5 ms doubling up to
// 1 s as net/http's Server.Serve does, and goes on. Only closing the port
// ends it: a node that stopped accepting would stay deaf after the flood.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func (m *Mux) accept() {
	defer m.wg.Done()
	var delay time.Duration
	var refusedLog time.Time
	for {
		conn, err := m.tcp.Accept()
		if err != nil {
			if m.stopped() || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			m.log.Warn("cluster port accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-m.stopCh:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		if conn = m.admit(conn); conn == nil {
			if time.Since(refusedLog) > time.Second {
				refusedLog = time.Now()
				m.log.Warn("cluster port: too many connections, closing new ones", "limit", connLimit())
			}
			continue
		}
		m.wg.Add(1)
		go m.sort(conn)
	}
}

func (m *Mux) stopped() bool {
	select {
	case <-m.stopCh:
		return true
	default:
		return false
	}
}

// sort completes the handshake and routes the connection by protocol.
func (m *Mux) sort(raw net.Conn) {
	defer m.wg.Done()
	conn := tls.Server(raw, m.conf)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := conn.HandshakeContext(ctx); err != nil {
		m.log.Debug("cluster handshake failed", "remote", raw.RemoteAddr(), "err", err)
		raw.Close()
		return
	}
	m.track(conn)
	switch conn.ConnectionState().NegotiatedProtocol {
	case ProtoRaft:
		m.handoff(m.raftCh, conn, nil)
	default:
		m.handoff(m.http.ch, conn, m.http.closed)
	}
}

func (m *Mux) handoff(ch chan net.Conn, conn *tls.Conn, closed <-chan struct{}) {
	t := time.NewTimer(handshakeTimeout)
	defer t.Stop()
	select {
	case ch <- conn:
		return
	case <-t.C: // nobody serves this protocol now (e.g. Raft on a worker)
	case <-closed:
	case <-m.stopCh:
	}
	m.forget(conn)
	conn.Close()
}

// chanListener is a net.Listener fed from a channel. Closing it ends its
// Accept (so an http.Server on it can shut down) without closing the mux.
type chanListener struct {
	addr      net.Addr
	ch        chan net.Conn
	stopCh    <-chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func newChanListener(addr net.Addr, stop <-chan struct{}) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), stopCh: stop, closed: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.stopCh:
		return nil, net.ErrClosed
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}
func (l *chanListener) Addr() net.Addr { return l.addr }

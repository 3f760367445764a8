package clusternet

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/shoal-project/shoal/ca"
)

// DialTimeout bounds connecting to a peer (TCP), so that a dead manager
// is given up on quickly and the caller can try the next.
const DialTimeout = 2 * time.Second

// idleTimeout is how long an unused connection to a peer is kept. Nodes
// talk to a few managers only, so keeping them costs little, and a node
// that moves between managers then does not pay a handshake each time.
const idleTimeout = 5 * time.Minute

// NewHTTPClient returns a client for RPCs to other nodes' cluster ports,
// authenticated with creds (read at each new connection, so a renewed
// certificate is used from the next connection on; a client made after a
// renewal uses it at once). It speaks HTTP/2 where the peer does: all of a
// node's RPCs, and all the requests a follower proxies to the leader, share
// one connection per peer instead of one each, and so one TLS handshake.
func NewHTTPClient(creds *ca.Credentials) *http.Client {
	return newClient(func() *tls.Config { return creds.ClientTLSConfig(ProtoHTTP2, ProtoHTTP) })
}

// Bounds of the cluster port's server. There is no ReadTimeout or
// WriteTimeout on the whole connection: a node's session, its assignment
// long poll and a followed log stream each last as long as they are used.
const (
	// ServerIdleTimeout closes a connection that carries no request (no
	// open HTTP/2 stream) for that long. It is above the clients' own
	// idleTimeout, so that a peer normally closes its idle connections
	// itself and never races a request against the server's close.
	ServerIdleTimeout = idleTimeout + time.Minute
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// A peer that sends nothing for serverPingAfter is pinged; with no
	// answer within serverPingTimeout its connection is closed (a frozen
	// or cut-off peer would otherwise hold its open streams for ever).
	serverPingAfter   = 30 * time.Second
	serverPingTimeout = 15 * time.Second
)

// NewHTTPServer returns the server for a Mux's HTTP listener. Reading a
// request's body is bounded by the handler (see node's boundBodies).
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       ServerIdleTimeout, // HTTP/2 too
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: MaxStreams,
			SendPingTimeout: serverPingAfter, PingTimeout: serverPingTimeout},
	}
}

// NewBootstrapClient returns a client that pins the server's CA to the
// digest of a join token and presents no certificate.
func NewBootstrapClient(conf *tls.Config) *http.Client {
	return newClient(func() *tls.Config { return conf })
}

func newClient(conf func() *tls.Config) *http.Client {
	tr := &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialTLS(ctx, network, addr, conf())
		},
		ForceAttemptHTTP2: true, // with a custom dialer, HTTP/2 is opt-in
		// One dial at a time per peer: requests that start together wait
		// for the first HTTP/2 connection instead of each dialing its own.
		MaxConnsPerHost:       1,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       idleTimeout,
		ResponseHeaderTimeout: 0,
		// One connection carries every request to a peer: a connection
		// that went silent (a frozen or cut-off peer) is pinged and closed
		// rather than trusted for ever.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 5 * time.Second, PingTimeout: 3 * time.Second},
	}
	return &http.Client{Transport: tr}
}

// dialTLS connects within DialTimeout, then completes the TLS handshake
// within handshakeTimeout.
func dialTLS(ctx context.Context, network, addr string, conf *tls.Config) (net.Conn, error) {
	d := &net.Dialer{Timeout: DialTimeout}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if conf.ServerName == "" {
		conf = conf.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			conf.ServerName = host
		}
	}
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn := tls.Client(raw, conf)
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

package clusternet

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/shoal-project/shoal/ca"
)

// DialTimeout bounds connecting to a peer, so that a dead manager is given
// up on quickly and the caller can try the next.
const DialTimeout = 2 * time.Second

// NewHTTPClient returns a client for RPCs to other nodes' cluster ports,
// authenticated with creds (read at each new connection, so a renewed
// certificate is used from the next connection on; a client made after a
// renewal uses it at once). It speaks HTTP/2 where the peer does: all of a
// node's RPCs, and all the requests a follower proxies to the leader, share
// one connection per peer instead of one each, and so one TLS handshake.
func NewHTTPClient(creds *ca.Credentials) *http.Client {
	return newClient(func() *tls.Config { return creds.ClientTLSConfig(ProtoHTTP2, ProtoHTTP) })
}

// NewHTTPServer returns the server for a Mux's HTTP listener.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: MaxStreams},
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
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: DialTimeout}, Config: conf()}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2: true, // with a custom dialer, HTTP/2 is opt-in
		// One dial at a time per peer: requests that start together wait
		// for the first HTTP/2 connection instead of each dialing its own.
		MaxConnsPerHost:       1,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0,
		// One connection carries every request to a peer: a connection
		// that went silent (a frozen or cut-off peer) is pinged and closed
		// rather than trusted for ever.
		HTTP2: &http.HTTP2Config{SendPingTimeout: 5 * time.Second, PingTimeout: 3 * time.Second},
	}
	return &http.Client{Transport: tr}
}

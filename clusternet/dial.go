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
// certificate is used from the next connection on).
func NewHTTPClient(creds *ca.Credentials) *http.Client {
	return newClient(func() *tls.Config { return creds.ClientTLSConfig(ProtoHTTP) })
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
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 0,
	}
	return &http.Client{Transport: tr}
}

package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// DefaultAPIVersion is the highest API version the client speaks. It uses a
// lower one only when the server reports a lower one.
const DefaultAPIVersion = "1.50"

// fallbackAPIVersion is used when a server answers /_ping without an
// Api-Version header, as the docker client does.
const fallbackAPIVersion = "1.24"

// Client talks to one of several daemon endpoints, failing over between them.
// It is safe for concurrent use. Close releases its idle connections.
type Client struct {
	endpoints []*endpoint
	userAgent string
	// fixedVersion, when set, skips negotiation (like DOCKER_API_VERSION).
	fixedVersion string

	mu      sync.Mutex
	current int // index of the endpoint requests go to; guarded by mu
}

// endpoint is one daemon address with its own connection pool.
type endpoint struct {
	host    hostAddr
	scheme  string // http or https
	urlHost string // host part of request URLs
	http    *http.Client

	mu      sync.Mutex
	version string // negotiated API version; "" until the first ping
}

// config gathers the options of New.
type config struct {
	tls         *tls.Config
	userAgent   string
	apiVersion  string
	dialTimeout time.Duration
}

// Option configures a Client.
type Option func(*config)

// WithTLSConfig makes tcp:// endpoints use HTTPS with cfg.
func WithTLSConfig(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithAPIVersion pins the API version (e.g. "1.50") and skips negotiation.
func WithAPIVersion(v string) Option { return func(c *config) { c.apiVersion = v } }

// WithDialTimeout bounds how long connecting to one endpoint may take before
// the client moves to the next. The default is 5 seconds.
func WithDialTimeout(d time.Duration) Option { return func(c *config) { c.dialTimeout = d } }

// New returns a client for the given endpoints, tried in order. It does not
// connect: the first request does.
func New(hosts []string, opts ...Option) (*Client, error) {
	cfg := config{
		userAgent:   "shoal-client (" + runtime.GOOS + ")",
		dialTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if len(hosts) == 0 {
		return nil, errors.New("no daemon endpoint given")
	}
	c := &Client{userAgent: cfg.userAgent, fixedVersion: cfg.apiVersion}
	for _, raw := range hosts {
		h, err := parseHost(raw)
		if err != nil {
			return nil, err
		}
		c.endpoints = append(c.endpoints, newEndpoint(h, cfg))
	}
	return c, nil
}

func newEndpoint(h hostAddr, cfg config) *endpoint {
	dialer := &net.Dialer{Timeout: cfg.dialTimeout}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	ep := &endpoint{host: h, scheme: "http", urlHost: h.addr, http: &http.Client{Transport: tr}}
	switch h.kind {
	case kindUnix:
		path := h.addr
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		}
		ep.urlHost = unixHostHeader
	case kindTCP:
		tr.DialContext = dialer.DialContext
		if cfg.tls != nil {
			tr.TLSClientConfig = cfg.tls.Clone()
			ep.scheme = "https"
		}
	}
	return ep
}

// Hosts returns the endpoints as given to New.
func (c *Client) Hosts() []string {
	hosts := make([]string, len(c.endpoints))
	for i, ep := range c.endpoints {
		hosts[i] = ep.host.raw
	}
	return hosts
}

// CurrentHost returns the endpoint requests currently go to.
func (c *Client) CurrentHost() string {
	_, ep := c.currentEndpoint()
	return ep.host.raw
}

// APIVersion returns the API version used with the current endpoint:
// the pinned one, the negotiated one, or DefaultAPIVersion before any
// negotiation.
func (c *Client) APIVersion() string {
	if c.fixedVersion != "" {
		return c.fixedVersion
	}
	_, ep := c.currentEndpoint()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.version == "" {
		return DefaultAPIVersion
	}
	return ep.version
}

// Close releases idle connections. The client stays usable.
func (c *Client) Close() error {
	for _, ep := range c.endpoints {
		ep.http.CloseIdleConnections()
	}
	return nil
}

func (c *Client) currentEndpoint() (int, *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current, c.endpoints[c.current]
}

// failover moves past endpoint idx, unless another request already did.
func (c *Client) failover(idx int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current == idx {
		c.current = (idx + 1) % len(c.endpoints)
	}
}

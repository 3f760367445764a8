package client

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

const (
	// HostEnv names the environment variable holding the daemon endpoints,
	// comma separated, used when no -H/--host flag is given.
	HostEnv = "SHOAL_HOST"
	// DefaultHost is the endpoint used when neither flag nor HostEnv is set.
	DefaultHost = "unix:///var/run/shoal.sock"
	// defaultTCPPort is the port of a tcp:// endpoint given without one.
	defaultTCPPort = "2375"
	// unixHostHeader is the Host header sent over unix sockets, as the
	// docker client does.
	unixHostHeader = "api.moby.localhost"
)

// ResolveHosts returns the endpoint list for the given -H/--host flag values
// (each may hold several comma-separated endpoints). Without any it falls
// back to $SHOAL_HOST, then to DefaultHost.
func ResolveHosts(flagValues []string) []string {
	if hosts := splitHosts(flagValues...); len(hosts) > 0 {
		return hosts
	}
	if hosts := splitHosts(os.Getenv(HostEnv)); len(hosts) > 0 {
		return hosts
	}
	return []string{DefaultHost}
}

func splitHosts(values ...string) []string {
	var hosts []string
	for _, v := range values {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	return hosts
}

// hostKind is the transport an endpoint uses.
type hostKind int

const (
	kindUnix hostKind = iota
	kindTCP
)

// hostAddr is a parsed endpoint.
type hostAddr struct {
	raw  string // as given by the user, for messages
	kind hostKind
	addr string // socket path or host:port
}

// parseHost accepts unix:///path, tcp://host[:port] and http://host[:port].
func parseHost(raw string) (hostAddr, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return hostAddr{}, fmt.Errorf("invalid host %q: expected unix:///path or tcp://host:port", raw)
	}
	switch strings.ToLower(scheme) {
	case "unix":
		if rest == "" {
			return hostAddr{}, fmt.Errorf("invalid host %q: empty socket path", raw)
		}
		return hostAddr{raw: raw, kind: kindUnix, addr: rest}, nil
	case "tcp", "http", "https":
		addr, err := tcpAddr(rest)
		if err != nil {
			return hostAddr{}, fmt.Errorf("invalid host %q: %w", raw, err)
		}
		return hostAddr{raw: raw, kind: kindTCP, addr: addr}, nil
	}
	return hostAddr{}, fmt.Errorf("invalid host %q: unsupported protocol %q", raw, scheme)
}

// tcpAddr validates host[:port][/] and adds the default port.
func tcpAddr(s string) (string, error) {
	u, err := url.Parse("tcp://" + s)
	if err != nil {
		return "", err
	}
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("unexpected path %q", u.Path)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", fmt.Errorf("missing host name")
	}
	if port == "" {
		port = defaultTCPPort
	}
	return net.JoinHostPort(host, port), nil
}

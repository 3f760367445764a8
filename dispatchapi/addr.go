package dispatchapi

import "net"

// Host returns the host part of an advertised address (host:port), or the
// address itself if it has no port: a node's IP as Docker shows it.
func Host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

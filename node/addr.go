package node

import (
	"net"
	"strconv"

	"github.com/shoal-project/shoal/swarm"
)

// DefaultPort is the cluster port when an address gives none, as in Docker.
const DefaultPort = 2377

// withPort adds the default port to an address that has none.
func withPort(addr string, port int) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, strconv.Itoa(port))
}

// resolveAddrs works out the listen and advertised addresses from what the
// user gave, as Docker does: the listen address defaults to 0.0.0.0:2377;
// the advertised one to the listen host if it is specific, else the one
// address of this machine; a bare host takes the listen port; an interface
// name stands for its first IPv4 address.
func resolveAddrs(listen, advertise string) (string, string, error) {
	if listen == "" {
		listen = "0.0.0.0:" + strconv.Itoa(DefaultPort)
	}
	listen = withPort(listen, DefaultPort)
	lhost, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", swarm.Errorf(swarm.ErrInvalidArgument, "invalid listen address %q: %v", listen, err)
	}
	if ip := interfaceIP(lhost); ip != "" {
		lhost = ip
		listen = net.JoinHostPort(ip, lport)
	}
	port, _ := strconv.Atoi(lport)
	if advertise == "" {
		if ip := net.ParseIP(lhost); ip != nil && !ip.IsUnspecified() {
			return listen, listen, nil
		}
		ip, err := systemIP()
		if err != nil {
			return "", "", err
		}
		return listen, net.JoinHostPort(ip, lport), nil
	}
	host, aport, err := net.SplitHostPort(advertise)
	if err != nil {
		host, aport = advertise, strconv.Itoa(port)
	}
	if ip := interfaceIP(host); ip != "" {
		host = ip
	}
	if net.ParseIP(host) == nil {
		return "", "", swarm.Errorf(swarm.ErrInvalidArgument, "advertise address must be a non-zero IP address or network interface (with optional port number)")
	}
	return listen, net.JoinHostPort(host, aport), nil
}

// interfaceIP returns the first IPv4 address of the interface named name,
// or "" if name is not an interface.
func interfaceIP(name string) string {
	if net.ParseIP(name) != nil {
		return ""
	}
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return ""
	}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// systemIP is the machine's address when it has exactly one non-loopback
// IPv4 address.
func systemIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	var found []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			found = append(found, n.IP.String())
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", swarm.Errorf(swarm.ErrInvalidArgument, "could not find the system's IP address")
	}
	return "", swarm.Errorf(swarm.ErrInvalidArgument, "could not choose an IP address to advertise since this system has multiple addresses")
}

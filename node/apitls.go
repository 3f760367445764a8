package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
)

// APITLS is how the Docker API is served on tcp:// hosts: the daemon's
// --tls, --tlsverify, --tlscacert, --tlscert and --tlskey, with dockerd's
// meaning. Unix sockets never use TLS.
type APITLS struct {
	// TLS serves tcp:// hosts over TLS with CertFile and KeyFile.
	TLS bool
	// Verify requires every client to present a certificate signed by
	// CAFile (dockerd's --tlsverify; --tls alone implies it too).
	Verify bool
	// Explicit records that --tls or --tlsverify was given at all. Plain
	// HTTP, or TLS without client certificates, on a tcp:// host that is not
	// loopback is refused without it (dockerd: "explicitly specifying
	// '--tls=false' or '--tlsverify=false'").
	Explicit bool

	CAFile, CertFile, KeyFile string
}

// Docker's warnings for a tcp:// host without client authentication, word
// for word (dockerd's loadListeners).
const (
	warnInsecureTCP = "Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network."
	warnBrowser     = "Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there!"
	warnConsider    = "Please consider generating tls certificates with client validation to prevent exposing unauthenticated root access to your network"
	warnOverride    = "You can override this by explicitly specifying '--tls=false' or '--tlsverify=false'"
)

// serverConfig loads the TLS configuration of tcp:// hosts; nil without TLS.
// The errors are dockerd's ("invalid TLS configuration: ...").
func (o APITLS) serverConfig() (*tls.Config, error) {
	if !o.TLS {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("invalid TLS configuration: could not load X509 key pair (cert: %q, key: %q): %v", o.CertFile, o.KeyFile, err)
		}
		return nil, fmt.Errorf("invalid TLS configuration: error reading X509 key pair - make sure the key is not encrypted (cert: %q, key: %q): %v", o.CertFile, o.KeyFile, err)
	}
	// HTTP/1.1 only: the API needs nothing of HTTP/2, and a listener
	// wrapped around the TLS one would hide *tls.Conn from net/http, which
	// then could not tell that a client chose h2.
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}
	if !o.Verify {
		return cfg, nil
	}
	if o.CAFile == "" {
		// Go would then check client certificates against the system's
		// roots: any certificate a public CA signed would do.
		return nil, errors.New("invalid TLS configuration: --tlsverify needs the CA that signs the clients' certificates (--tlscacert)")
	}
	pemData, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("invalid TLS configuration: could not read CA certificate %q: %v", o.CAFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("invalid TLS configuration: failed to append certificates from PEM file: %q", o.CAFile)
	}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.ClientCAs = pool
	return cfg, nil
}

// checkTCPHosts warns, with Docker's words, about every tcp:// host served
// without client certificates, and refuses one that is not loopback unless
// the user explicitly chose to run without them.
func checkTCPHosts(hosts []string, o APITLS, log *slog.Logger) error {
	if o.TLS && o.Verify {
		return nil
	}
	for _, h := range hosts {
		addr, ok := strings.CutPrefix(h, "tcp://")
		if !ok {
			continue
		}
		log.Warn(warnInsecureTCP, "host", h)
		log.Warn(warnBrowser, "host", h)
		if o.Explicit || loopback(addr) {
			continue
		}
		log.Warn(warnConsider, "host", h)
		log.Warn(warnOverride, "host", h)
		return fmt.Errorf("refusing to serve the API on %s without --tlsverify: it is not a loopback address, "+
			"and whoever reaches it would have root access on every node of the swarm. "+
			"Use --tlsverify with --tlscacert, --tlscert and --tlskey, or, to accept the risk, "+
			"explicitly specify '--tls=false' (plain HTTP) or '--tlsverify=false' (TLS without client certificates)", h)
	}
	return nil
}

// loopback reports whether host:port names a loopback address: "localhost",
// a loopback IP, or a name that resolves to one (as dockerd decides). An
// empty host is every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		resolved, err := net.ResolveIPAddr("ip", host)
		if err != nil {
			return false
		}
		ip = resolved.IP
	}
	return ip.IsLoopback()
}

package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// Environment variables of the TLS settings, the shoal counterparts of the
// docker CLI's DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (shoal reads SHOAL_HOST
// rather than DOCKER_HOST for the same reason: settings meant for a Docker
// engine must not change how shoal reaches its own daemons).
const (
	// TLSVerifyEnv, when not empty, turns --tlsverify on by default.
	TLSVerifyEnv = "SHOAL_TLS_VERIFY"
	// CertPathEnv names the directory holding ca.pem, cert.pem and key.pem,
	// the defaults of --tlscacert, --tlscert and --tlskey.
	CertPathEnv = "SHOAL_CERT_PATH"
)

// The file names inside the certificate directory, as Docker's.
const (
	DefaultCAFile   = "ca.pem"
	DefaultCertFile = "cert.pem"
	DefaultKeyFile  = "key.pem"
)

// CertPath is the directory of the default TLS files: $SHOAL_CERT_PATH, else
// ~/.docker, where the docker CLI keeps its own (one set of client
// certificates serves both).
func CertPath() string {
	if dir := os.Getenv(CertPathEnv); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// TLSFiles are the client's TLS settings, as the docker CLI's --tls,
// --tlsverify, --tlscacert, --tlscert and --tlskey give them.
type TLSFiles struct {
	// Verify checks the daemon's certificate against CAFile; without it
	// the daemon's certificate is not checked at all (docker's --tls).
	Verify bool
	CAFile string
	// CertFile and KeyFile are the client's certificate and key, sent to a
	// daemon that asks for one (--tlsverify on the daemon). Both empty: none.
	CertFile, KeyFile string
}

// TLSConfig loads the files into a client TLS configuration for
// WithTLSConfig. The errors are the docker CLI's.
func TLSConfig(f TLSFiles) (*tls.Config, error) {
	// Without Verify the daemon is not checked: docker's --tls alone.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !f.Verify}
	if f.Verify && f.CAFile != "" {
		pemData, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("could not read CA certificate %q: %v", f.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("failed to append certificates from PEM file: %q", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if f.CertFile != "" || f.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("could not load X509 key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

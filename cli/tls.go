package cli

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/pflag"
)

// Names of the TLS flags. They are the root's persistent flags, as in the
// docker CLI; `shoal daemon` reads the same ones with dockerd's meaning.
const (
	FlagTLS       = "tls"
	FlagTLSVerify = "tlsverify"
	FlagTLSCACert = "tlscacert"
	FlagTLSCert   = "tlscert"
	FlagTLSKey    = "tlskey"
)

// tlsFlags are the client's TLS flags.
type tlsFlags struct {
	tls, verify       bool
	caFile            string
	certFile, keyFile string
}

// addTLSFlags declares the TLS flags on fs with the docker CLI's wording;
// the files default to $SHOAL_CERT_PATH or ~/.docker, and --tlsverify is on
// by default when $SHOAL_TLS_VERIFY is set.
func addTLSFlags(fs *pflag.FlagSet) *tlsFlags {
	t := &tlsFlags{}
	dir := client.CertPath()
	fs.BoolVar(&t.tls, FlagTLS, false, "Use TLS; implied by --tlsverify")
	fs.BoolVar(&t.verify, FlagTLSVerify, os.Getenv(client.TLSVerifyEnv) != "",
		"Use TLS and verify the remote (on when $"+client.TLSVerifyEnv+" is set)")
	fs.StringVar(&t.caFile, FlagTLSCACert, filepath.Join(dir, client.DefaultCAFile), "Trust certs signed only by this CA")
	fs.StringVar(&t.certFile, FlagTLSCert, filepath.Join(dir, client.DefaultCertFile), "Path to TLS certificate file")
	fs.StringVar(&t.keyFile, FlagTLSKey, filepath.Join(dir, client.DefaultKeyFile), "Path to TLS key file")
	return t
}

// clientConfig is the TLS configuration of tcp:// endpoints, nil for plain
// HTTP, decided as the docker CLI does: --tlsverify (given at all, or from
// the environment) implies --tls; with --tls alone the daemon's
// certificate is not checked; a default client certificate or key that
// does not exist is not sent.
func (t *tlsFlags) clientConfig(fs *pflag.FlagSet) (*tls.Config, error) {
	if !t.tls && !t.verify && !fs.Changed(FlagTLSVerify) {
		return nil, nil
	}
	files := client.TLSFiles{Verify: t.verify, CAFile: t.caFile, CertFile: t.certFile, KeyFile: t.keyFile}
	if !fs.Changed(FlagTLSCert) && missing(files.CertFile) {
		files.CertFile = ""
	}
	if !fs.Changed(FlagTLSKey) && missing(files.KeyFile) {
		files.KeyFile = ""
	}
	return client.TLSConfig(files)
}

func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

package cli

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/tlstest"
	"github.com/spf13/pflag"
)

// TestClientTLSFlags: the TLS flags mean what the docker CLI's mean, with
// $SHOAL_CERT_PATH and $SHOAL_TLS_VERIFY in place of DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY.
func TestClientTLSFlags(t *testing.T) {
	f := tlstest.Write(t, net.ParseIP("127.0.0.1")) // ca.pem, cert.pem, key.pem
	empty := t.TempDir()
	cases := []struct {
		name      string
		certPath  string
		verifyEnv string
		args      []string
		plain     bool   // no TLS
		checks    bool   // the daemon's certificate is checked
		certs     int    // client certificates sent
		err       string // error prefix
	}{
		{name: "no flag", certPath: f.Dir, plain: true},
		{name: "--tls", certPath: empty, args: []string{"--tls"}},
		{name: "--tls with default files", certPath: f.Dir, args: []string{"--tls"}, certs: 1},
		{name: "--tlsverify", certPath: f.Dir, args: []string{"--tlsverify"}, checks: true, certs: 1},
		{name: "$SHOAL_TLS_VERIFY", certPath: f.Dir, verifyEnv: "1", checks: true, certs: 1},
		{name: "--tlsverify=false", certPath: f.Dir, args: []string{"--tlsverify=false"}, certs: 1},
		{name: "explicit files", certPath: empty, args: []string{"--tlsverify", "--tlscacert", f.CA, "--tlscert", f.ClientCert, "--tlskey", f.ClientKey}, checks: true, certs: 1},
		{name: "--tlsverify without a CA", certPath: empty, args: []string{"--tlsverify"},
			err: `could not read CA certificate "` + filepath.Join(empty, "ca.pem") + `"`},
		{name: "a missing --tlscert", certPath: f.Dir, args: []string{"--tlsverify", "--tlscert", filepath.Join(empty, "c.pem")},
			err: "could not load X509 key pair: open " + filepath.Join(empty, "c.pem")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(client.CertPathEnv, c.certPath)
			t.Setenv(client.TLSVerifyEnv, c.verifyEnv)
			fs := pflag.NewFlagSet("shoal", pflag.ContinueOnError)
			flags := addTLSFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := flags.clientConfig(fs)
			switch {
			case c.err != "":
				if err == nil || !strings.HasPrefix(err.Error(), c.err) {
					t.Fatalf("err = %v, want %s", err, c.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case c.plain:
				if cfg != nil {
					t.Fatal("TLS without a TLS flag")
				}
				return
			case cfg == nil:
				t.Fatal("no TLS")
			}
			if checks := !cfg.InsecureSkipVerify && cfg.RootCAs != nil; checks != c.checks {
				t.Errorf("the daemon's certificate checked: %v, want %v", checks, c.checks)
			}
			if len(cfg.Certificates) != c.certs {
				t.Errorf("%d client certificates, want %d", len(cfg.Certificates), c.certs)
			}
		})
	}
}

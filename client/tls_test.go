package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/system"
	"github.com/shoal-project/shoal/internal/tlstest"
)

// TestTLSConfigErrors: missing files are reported with the docker CLI's
// words.
func TestTLSConfigErrors(t *testing.T) {
	f := tlstest.Write(t, net.ParseIP("127.0.0.1"))
	missing := filepath.Join(t.TempDir(), "none.pem")
	cases := []struct {
		files TLSFiles
		want  string
	}{
		{TLSFiles{Verify: true, CAFile: missing}, `could not read CA certificate "` + missing + `": open ` + missing + `: no such file or directory`},
		{TLSFiles{Verify: true, CAFile: f.ServerKey}, `failed to append certificates from PEM file: "` + f.ServerKey + `"`},
		{TLSFiles{Verify: true, CAFile: f.CA, CertFile: missing, KeyFile: f.ClientKey}, `could not load X509 key pair: open ` + missing + `: no such file or directory`},
	}
	for _, c := range cases {
		if _, err := TLSConfig(c.files); err == nil || err.Error() != c.want {
			t.Errorf("%+v: err = %v\nwant %s", c.files, err, c.want)
		}
	}
	// --tls alone: no CA read, the daemon is not checked.
	cfg, err := TLSConfig(TLSFiles{CAFile: missing})
	if err != nil || !cfg.InsecureSkipVerify || cfg.RootCAs != nil {
		t.Fatalf("--tls alone: %+v, %v", cfg, err)
	}
}

// TestMutualTLSFailover: a client with a certificate of the daemon's CA
// gets answers over mutual TLS, still failing over from a dead endpoint;
// without a certificate, or with one of another CA, it gets nothing.
func TestMutualTLSFailover(t *testing.T) {
	f := tlstest.Write(t, net.ParseIP("127.0.0.1"))
	daemon := &fakeDaemon{apiVersion: "1.50", mux: http.NewServeMux()}
	daemon.handle("GET /v1.50/version", http.StatusOK, system.VersionResponse{Version: "9.9"})
	srv := httptest.NewUnstartedServer(daemon)
	srv.TLS = serverTLS(t, f)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	live := "tcp://" + srv.Listener.Addr().String()

	connect := func(files TLSFiles) (*Client, error) {
		cfg, err := TLSConfig(files)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New([]string{deadTCP(t), live}, WithTLSConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Version(context.Background())
		return c, err
	}
	c, err := connect(TLSFiles{Verify: true, CAFile: f.CA, CertFile: f.ClientCert, KeyFile: f.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.CurrentHost() != live {
		t.Fatalf("current host %s, want %s", c.CurrentHost(), live)
	}
	for name, files := range map[string]TLSFiles{
		"no client certificate":       {Verify: true, CAFile: f.CA},
		"a certificate of another CA": {Verify: true, CAFile: f.CA, CertFile: f.RogueClientCert, KeyFile: f.RogueKey},
	} {
		if _, err := connect(files); err == nil {
			t.Errorf("%s: the daemon answered", name)
		}
	}
	// The daemon's certificate is checked against --tlscacert.
	if _, err := connect(TLSFiles{Verify: true, CAFile: f.RogueCA, CertFile: f.ClientCert, KeyFile: f.ClientKey}); err == nil ||
		!strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("a daemon of another CA: err = %v", err)
	}
}

// serverTLS is dockerd's --tlsverify: client certificates of the CA only.
func serverTLS(t *testing.T, f tlstest.Files) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
}

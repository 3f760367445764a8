package node

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/internal/tlstest"
)

// TestAPITLSConfigErrors: TLS settings that cannot work stop the daemon at
// start with dockerd's words, before anything is created.
func TestAPITLSConfigErrors(t *testing.T) {
	f := tlstest.Write(t, net.ParseIP("127.0.0.1"))
	missing := filepath.Join(t.TempDir(), "none")
	notPEM := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(notPEM, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    APITLS
		want string
	}{
		{"tlsverify without cert files",
			APITLS{TLS: true, Verify: true, CAFile: f.CA, CertFile: missing + "/cert.pem", KeyFile: missing + "/key.pem"},
			`invalid TLS configuration: could not load X509 key pair (cert: "` + missing + `/cert.pem", key: "` + missing + `/key.pem"): open ` + missing + `/cert.pem: no such file or directory`},
		{"key that is no key",
			APITLS{TLS: true, Verify: true, CAFile: f.CA, CertFile: f.ServerCert, KeyFile: notPEM},
			`invalid TLS configuration: error reading X509 key pair - make sure the key is not encrypted (cert: "` + f.ServerCert + `", key: "` + notPEM + `")`},
		{"missing CA",
			APITLS{TLS: true, Verify: true, CAFile: missing, CertFile: f.ServerCert, KeyFile: f.ServerKey},
			`invalid TLS configuration: could not read CA certificate "` + missing + `": open ` + missing + `: no such file or directory`},
		{"CA that is no certificate",
			APITLS{TLS: true, Verify: true, CAFile: notPEM, CertFile: f.ServerCert, KeyFile: f.ServerKey},
			`invalid TLS configuration: failed to append certificates from PEM file: "` + notPEM + `"`},
		{"tlsverify with no CA at all",
			APITLS{TLS: true, Verify: true, CertFile: f.ServerCert, KeyFile: f.ServerKey},
			`invalid TLS configuration: --tlsverify needs the CA that signs the clients' certificates (--tlscacert)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "data")
			_, err := New(Config{DataRoot: root, Hosts: []string{"tcp://127.0.0.1:0"}, APITLS: c.o})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %s", err, c.want)
			}
			if _, err := os.Stat(root); !os.IsNotExist(err) {
				t.Fatalf("the data root was created: %v", err)
			}
		})
	}
}

// TestAPITLSConfig: --tlsverify requires client certificates of the CA;
// --tlsverify=false serves TLS without asking for one.
func TestAPITLSConfig(t *testing.T) {
	f := tlstest.Write(t, net.ParseIP("127.0.0.1"))
	cfg, err := APITLS{TLS: true, Verify: true, CAFile: f.CA, CertFile: f.ServerCert, KeyFile: f.ServerKey}.serverConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("verify config: auth %v, CAs %v, min %x", cfg.ClientAuth, cfg.ClientCAs, cfg.MinVersion)
	}
	cfg, err = APITLS{TLS: true, CAFile: f.CA, CertFile: f.ServerCert, KeyFile: f.ServerKey}.serverConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.NoClientCert {
		t.Fatalf("--tlsverify=false asks for client certificates: %v", cfg.ClientAuth)
	}
	if cfg, err := (APITLS{}).serverConfig(); cfg != nil || err != nil {
		t.Fatalf("no TLS: %v, %v", cfg, err)
	}
}

// TestCheckTCPHosts: a tcp:// host without client certificates gets
// Docker's warnings, and is refused when it is not loopback unless --tls or
// --tlsverify was given explicitly; unix sockets and --tlsverify hosts pass
// silently.
func TestCheckTCPHosts(t *testing.T) {
	verified := APITLS{TLS: true, Verify: true}
	cases := []struct {
		host    string
		o       APITLS
		refused bool
		warned  bool
	}{
		{"unix:///run/shoal.sock", APITLS{}, false, false},
		{"tcp://127.0.0.1:2375", APITLS{}, false, true},
		{"tcp://127.0.1.7:2375", APITLS{}, false, true},
		{"tcp://localhost:2375", APITLS{}, false, true},
		{"tcp://[::1]:2375", APITLS{}, false, true},
		{"tcp://0.0.0.0:2375", APITLS{}, true, true},
		{"tcp://:2375", APITLS{}, true, true},
		{"tcp://[::]:2375", APITLS{}, true, true},
		{"tcp://10.1.2.3:2375", APITLS{}, true, true},
		{"tcp://0.0.0.0:2375", APITLS{Explicit: true}, false, true},                           // --tls=false
		{"tcp://0.0.0.0:2376", APITLS{TLS: true, Explicit: true}, false, true},                // --tlsverify=false
		{"tcp://0.0.0.0:2376", verified, false, false},                                        // --tlsverify
		{"tcp://0.0.0.0:2376", APITLS{TLS: true, Verify: true, Explicit: true}, false, false}, // --tls
	}
	for _, c := range cases {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		err := checkTCPHosts([]string{"unix:///a.sock", c.host}, c.o, log)
		if (err != nil) != c.refused {
			t.Errorf("%s %+v: err = %v, want refused %v", c.host, c.o, err, c.refused)
		}
		if got := strings.Contains(logs.String(), warnInsecureTCP); got != c.warned {
			t.Errorf("%s %+v: warned %v, want %v:\n%s", c.host, c.o, got, c.warned, logs.String())
		}
		if c.refused {
			for _, want := range []string{c.host, "--tlsverify", "'--tls=false'", "'--tlsverify=false'"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: the refusal does not say %q: %v", c.host, want, err)
				}
			}
			if !strings.Contains(logs.String(), warnOverride) {
				t.Errorf("%s: no override warning:\n%s", c.host, logs.String())
			}
		}
	}
}

// TestNewRefusesOpenTCP: the daemon refuses an unauthenticated host on
// every interface before it creates anything.
func TestNewRefusesOpenTCP(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	_, err := New(Config{DataRoot: root, Hosts: []string{"unix://" + root + "/s.sock", "tcp://0.0.0.0:2375"}})
	if err == nil || !strings.Contains(err.Error(), "refusing to serve the API on tcp://0.0.0.0:2375 without --tlsverify") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("the data root was created: %v", err)
	}
}

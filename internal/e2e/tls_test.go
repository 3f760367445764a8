package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/internal/tlstest"
)

// Docker's first warning for a tcp:// host without --tlsverify.
const warnInsecureTCP = "Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network."

// TestRemoteAPITLS serves the Docker API on tcp:// with dockerd's
// --tlsverify (issue 19, problem 12): the unmodified docker CLI and the
// shoal CLI with a client certificate of the CA are served; without one,
// with one of another CA, or in plain HTTP, nothing is.
func TestRemoteAPITLS(t *testing.T) {
	c := newCluster(t, 0)
	ip := "127.0.1.1"
	addr := net.JoinHostPort(ip, strconv.Itoa(freePort(t, ip)))
	host := "tcp://" + addr
	f := tlstest.Write(t, net.ParseIP(ip))
	n := c.addDaemon(t, "", "--host", host, "--tlsverify", "--tlscacert", f.CA, "--tlscert", f.ServerCert, "--tlskey", f.ServerKey)
	c.init(t, n)
	env := cliEnv(c.dockerConfig)
	withCert := []string{"--tlsverify", "--tlscacert", f.CA, "--tlscert", f.ClientCert, "--tlskey", f.ClientKey, "-H", host}
	refusals := map[string][]string{
		"plain HTTP":                  {"-H", host},
		"no client certificate":       {"--tlsverify", "--tlscacert", f.CA, "-H", host},
		"a certificate of another CA": {"--tlsverify", "--tlscacert", f.CA, "--tlscert", f.RogueClientCert, "--tlskey", f.RogueKey, "-H", host},
	}

	t.Run("shoal CLI", func(t *testing.T) {
		r := run(cliTimeout, env, shoalBin, append(withCert, "node", "ls")...)
		if err := r.ok(); err != nil || !strings.Contains(r.stdout, n.name) {
			t.Fatalf("node ls over TLS: %v\n%s", err, r)
		}
		// The files from $SHOAL_CERT_PATH (ca.pem, cert.pem, key.pem) with
		// $SHOAL_TLS_VERIFY, failing over from an endpoint that is down.
		dead := "tcp://" + net.JoinHostPort(ip, strconv.Itoa(freePort(t, ip)))
		r = run(cliTimeout, append(env, "SHOAL_CERT_PATH="+f.Dir, "SHOAL_TLS_VERIFY=1"), shoalBin, "-H", dead+","+host, "info")
		if err := r.ok(); err != nil || !strings.Contains(r.stdout, "Swarm: active") {
			t.Fatalf("info with $SHOAL_CERT_PATH: %v\n%s", err, r)
		}
		for name, args := range refusals {
			r := run(cliTimeout, env, shoalBin, append(args, "node", "ls")...)
			if r.ok() == nil || strings.Contains(r.stdout, n.name) {
				t.Errorf("%s: served:\n%s", name, r)
			}
		}
	})

	t.Run("docker CLI", func(t *testing.T) {
		if _, err := exec.LookPath("docker"); err != nil {
			t.Skip("docker CLI not on PATH")
		}
		r := run(cliTimeout, env, "docker", append(withCert, "info")...)
		if err := r.ok(); err != nil || !strings.Contains(r.stdout, "Swarm: active") {
			t.Fatalf("docker info over TLS: %v\n%s", err, r)
		}
		r = run(cliTimeout, env, "docker", append(withCert, "node", "ls")...)
		if err := r.ok(); err != nil || !strings.Contains(r.stdout, n.name) {
			t.Fatalf("docker node ls over TLS: %v\n%s", err, r)
		}
		for name, args := range refusals {
			r := run(cliTimeout, env, "docker", append(args, "node", "ls")...)
			if r.ok() == nil || strings.Contains(r.stdout, n.name) {
				t.Errorf("%s: served:\n%s", name, r)
			}
		}
	})

	t.Run("raw connections", func(t *testing.T) {
		checkRawRefusals(t, addr, f)
	})
}

// TestRemoteAPIOpenTCP: a daemon asked to serve the API in plain HTTP on
// every interface refuses to start, with Docker's warning, and creates
// nothing; with --tls=false, the user's explicit acceptance, it starts and
// warns (issue 19, problem 12).
func TestRemoteAPIOpenTCP(t *testing.T) {
	c := newCluster(t, 0)
	open := "tcp://0.0.0.0:" + strconv.Itoa(freePort(t, "0.0.0.0"))
	dataRoot := filepath.Join(c.dir, "refused")
	r := run(cliTimeout, cliEnv(c.dockerConfig), shoalBin, "daemon", "--data-root", dataRoot,
		"--host", "unix://"+filepath.Join(c.sockDir, "refused.sock"), "--host", open)
	if r.err != nil || r.code != 1 {
		t.Fatalf("the daemon did not refuse to start:\n%s", r)
	}
	want := "refusing to serve the API on " + open + " without --tlsverify"
	if !strings.Contains(r.stderr, warnInsecureTCP) || !strings.Contains(r.stderr, want) ||
		!strings.Contains(r.stderr, "'--tls=false'") {
		t.Errorf("the refusal does not say why, nor how to accept the risk:\n%s", r.stderr)
	}
	if _, err := os.Stat(dataRoot); !os.IsNotExist(err) {
		t.Errorf("the refused daemon created its data root: %v", err)
	}
	accepted := c.addDaemon(t, "", "--host", open, "--tls=false")
	port := strings.TrimPrefix(open, "tcp://0.0.0.0:")
	if code, body := get(t, "http://127.0.0.1:"+port+"/_ping"); code != http.StatusOK || body != "OK" {
		t.Errorf("--tls=false: /_ping answered %d %q", code, body)
	}
	if !strings.Contains(accepted.logTail(), warnInsecureTCP) {
		t.Errorf("--tls=false: no warning in the log:\n%s", accepted.logTail())
	}
}

// checkRawRefusals: plain HTTP, TLS without a client certificate and TLS
// with another CA's certificate get no API answer from the daemon at addr.
func checkRawRefusals(t *testing.T, addr string, f tlstest.Files) {
	t.Helper()
	code, body := get(t, "http://"+addr+"/v1.50/info")
	if code != http.StatusBadRequest || strings.Contains(body, "Swarm") {
		t.Errorf("plain HTTP: %d %q", code, body)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	rogue, err := tls.LoadX509KeyPair(f.RogueClientCert, f.RogueKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, certs := range map[string][]tls.Certificate{"no client certificate": nil, "another CA": {rogue}} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}
		hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := hc.Get("https://" + addr + "/v1.50/info")
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: answered %s", name, resp.Status)
		}
		tr.CloseIdleConnections()
	}
}

// get returns the status and body of a plain HTTP GET (no connection kept),
// failing the test when there is no answer at all.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(fmt.Errorf("GET %s: %w", url, err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

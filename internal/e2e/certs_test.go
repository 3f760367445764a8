package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// envShortCerts lets the daemons accept certificates that live seconds
// (node.EnvTestMinCertExpiry, for tests only).
const envShortCerts = "SHOAL_TEST_MIN_CERT_EXPIRY=5s"

// certBackdate is how far the signer moves a certificate's NotBefore into
// the past (ca's backdate): the lifetime starts that much after NotBefore.
const certBackdate = time.Hour

// newShortCertCluster starts n daemons that accept short certificate
// lifetimes, none in a swarm yet.
func newShortCertCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := newCluster(t, 0)
	c.daemonEnv = []string{envShortCerts}
	for range n {
		c.add(t)
	}
	return c
}

// nodeCert reads the node certificate a daemon keeps in its data root.
func nodeCert(n *node) (*x509.Certificate, error) {
	b, err := os.ReadFile(filepath.Join(n.dataRoot, "certificates", "node.crt"))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM in node.crt", n.name)
	}
	return x509.ParseCertificate(block.Bytes)
}

// lifetime is how long a certificate was issued for.
func lifetime(c *x509.Certificate) time.Duration {
	return c.NotAfter.Sub(c.NotBefore.Add(certBackdate)).Round(time.Second)
}

// certWatch records every certificate each node's data root held.
type certWatch struct {
	mu   sync.Mutex
	seen map[string][]*x509.Certificate // node name → its certificates, in order
}

func (w *certWatch) poll(nodes []*node) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range nodes {
		c, err := nodeCert(n)
		if err != nil {
			continue // between renames
		}
		s := w.seen[n.name]
		if len(s) == 0 || !s[len(s)-1].Equal(c) {
			w.seen[n.name] = append(s, c)
		}
	}
}

func (w *certWatch) certs(name string) []*x509.Certificate {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen[name])
}

// apiLoad calls the API of every manager without a pause and records what
// failed.
type apiLoad struct {
	mu       sync.Mutex
	calls    int
	failures []string
	// unreachable lists the node lists that showed a manager Unreachable:
	// when a manager's renewed certificate replaces the old one, the other
	// managers close the Raft connections that carried the old one, and
	// the leader's next heartbeat on such a connection fails once (it is
	// retried 10 ms later on a new one); the leader shows the peer
	// Unreachable in between.
	unreachable []string
}

func (l *apiLoad) noteUnreachable(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unreachable = append(l.unreachable, time.Now().Format("15:04:05.000")+" "+what)
}

func (l *apiLoad) record(what string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if err != nil {
		l.failures = append(l.failures, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), what, err))
	}
}

// run lists the nodes through each manager's API (Go client) in turn,
// checking that every node is Ready (and counting the lists that show a
// manager Unreachable), and every tenth round runs docker node ls and docker service ps through the
// next manager, until ctx ends.
func (l *apiLoad) run(ctx context.Context, managers []*node, service string) {
	for round := 0; ctx.Err() == nil; round++ {
		for _, m := range managers {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			list, err := m.client().NodeList(cctx, nil)
			cancel()
			for _, n := range list {
				if err == nil && n.Status.State != swarm.NodeStateReady {
					err = fmt.Errorf("%s is %s", n.Description.Hostname, n.Status.State)
				}
				if managerStatus(n) == "Unreachable" {
					l.noteUnreachable(n.Description.Hostname + " via " + m.name)
				}
			}
			if ctx.Err() == nil {
				l.record("node ls via "+m.name, err)
			}
		}
		if round%10 == 0 {
			m := managers[(round/10)%len(managers)]
			for _, args := range [][]string{{"node", "ls"}, {"service", "ps", service}} {
				r := m.docker(args...)
				if ctx.Err() == nil {
					l.record("docker "+strings.Join(args, " ")+" via "+m.name, r.ok())
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestCertificateRenewal: a swarm of 3 managers and a worker runs past
// three lifetimes of its certificates (20 s, then 10 s from swarm update
// --cert-expiry, which takes effect at each node's next renewal): every
// node renews by itself, before expiry, at least three times, and through
// it all every node stays Ready, every manager Reachable, the tasks keep
// running (none restarted), and every API call through every manager is
// answered. Before renewal by time, every certificate expired after 20 s
// and the nodes could no longer connect.
func TestCertificateRenewal(t *testing.T) {
	t.Parallel()
	const first, second = 20 * time.Second, 10 * time.Second
	c := newShortCertCluster(t, 4)
	dev01, dev02, dev03, dev04 := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
	dev01.port = freePort(t, dev01.ip)
	dev01.mustDocker(t, "swarm", "init", "--listen-addr", dev01.addr(), "--advertise-addr", dev01.addr(), "--cert-expiry", first.String())
	start := time.Now()
	c.join(t, dev02, "manager", dev01)
	c.join(t, dev03, "manager", dev01)
	c.join(t, dev04, "worker", dev01)
	all := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager", "dev04": ""}
	c.waitHealthy(t, dev01, all)
	dev01.mustDocker(t, "service", "create", "-d", "--name", "web", "--replicas", "4", "busybox", "sleep", taskMarker())
	tasks := func() []string {
		ids := strings.Fields(dev01.mustDocker(t, "service", "ps", "-q", "--filter", "desired-state=running", "web"))
		slices.Sort(ids)
		return ids
	}
	waitTasksRunning(t, dev01, "web", 4)
	before := tasks()

	watch := &certWatch{seen: map[string][]*x509.Certificate{}}
	load := &apiLoad{}
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	bg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			watch.poll(c.nodes)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	})
	bg.Go(func() { load.run(ctx, []*node{dev01, dev02, dev03}, "web") })

	// The new lifetime, through a follower, with the docker CLI.
	dev02.mustDocker(t, "swarm", "update", "--cert-expiry", second.String())
	// A write through a follower once every node has renewed.
	eventually(t, first, func() error {
		for _, n := range c.nodes {
			if len(watch.certs(n.name)) < 2 {
				return fmt.Errorf("%s has not renewed yet", n.name)
			}
		}
		return nil
	})
	dev03.mustDocker(t, "service", "create", "-d", "--name", "late", "busybox", "sleep", taskMarker())

	// Three lifetimes of the first certificates; each node has renewed at
	// least three times, and holds a certificate of the new lifetime.
	eventually(t, time.Until(start.Add(4*first)), func() error {
		if d := time.Since(start); d < 3*first {
			return fmt.Errorf("only %v since the swarm started", d.Round(time.Second))
		}
		for _, n := range c.nodes {
			certs := watch.certs(n.name)
			if len(certs) < 4 {
				return fmt.Errorf("%s held %d certificates", n.name, len(certs))
			}
			if l := lifetime(certs[len(certs)-1]); l != second {
				return fmt.Errorf("%s's certificate lives %v, want %v", n.name, l, second)
			}
		}
		return nil
	})
	cancel()
	bg.Wait()

	c.waitHealthy(t, dev01, all) // at once, unless something broke
	for _, via := range []*node{dev02, dev03} {
		if err := checkNodeRow(via, "dev04", "Ready", ""); err != nil {
			t.Error(err)
		}
	}
	if after := tasks(); !slices.Equal(before, after) {
		t.Errorf("the tasks of web changed during the renewals (restarted?): %v, then %v", before, after)
	}
	for _, n := range c.nodes {
		certs := watch.certs(n.name)
		for i, cert := range certs[1:] {
			// Each certificate was replaced before it expired.
			if prev := certs[i]; cert.NotBefore.Add(certBackdate).After(prev.NotAfter) {
				t.Errorf("%s: certificate %d expired at %v, the next was issued at %v", n.name, i, prev.NotAfter, cert.NotBefore.Add(certBackdate))
			}
		}
		t.Logf("%s: %d certificates in %v", n.name, len(certs), time.Since(start).Round(time.Second))
	}
	load.mu.Lock()
	t.Logf("%d API calls, %d failed; %d node lists showed a manager Unreachable: %v", load.calls, len(load.failures),
		len(load.unreachable), load.unreachable)
	for _, f := range load.failures {
		t.Errorf("API call failed: %s", f)
	}
	load.mu.Unlock()
	logRenewalFigures(t, c)
}

// waitTasksRunning waits until via's service ps shows want tasks of service
// running.
func waitTasksRunning(t *testing.T, via *node, service string, want int) {
	t.Helper()
	eventually(t, converge, func() error {
		out := via.docker("service", "ps", "--filter", "desired-state=running", "--format", "{{.CurrentState}}", service).stdout
		if n := strings.Count(out, "Running"); n != want {
			return fmt.Errorf("%d of %d tasks of %s running: %q", n, want, service, out)
		}
		return nil
	})
}

var tookRe = regexp.MustCompile(`msg="certificate renewed".* took=(\S+)`)

// logRenewalFigures reports how long the renewals took (the agents' logs:
// from the renew RPC to the certificate installed) and how often Raft
// reported trouble.
func logRenewalFigures(t *testing.T, c *cluster) {
	var took []time.Duration
	elections, refused := 0, 0
	for _, n := range c.nodes {
		b, err := os.ReadFile(n.logPath)
		if err != nil {
			continue
		}
		for _, m := range tookRe.FindAllSubmatch(b, -1) {
			if d, err := time.ParseDuration(string(m[1])); err == nil {
				took = append(took, d)
			}
		}
		elections += strings.Count(string(b), "entering candidate state")
		refused += strings.Count(string(b), "refused raft connection")
	}
	if len(took) == 0 {
		t.Error("no renewal in the daemons' logs")
		return
	}
	slices.Sort(took)
	t.Logf("%d renewals: median %v, max %v (renew RPC to certificate installed); %d elections, %d refused raft connections in the logs",
		len(took), took[len(took)/2], took[len(took)-1], elections, refused)
}

// msgCertsExpired is Docker's message for a node whose certificates expired
// while it was stopped.
const msgCertsExpired = "Swarm certificates have expired. To replace them, leave the swarm and join again."

// TestExpiredCertificateRestart: a node stopped for longer than its
// certificate's lifetime starts, and says what happened and what to do: in
// its log, in docker info's swarm error, and in the answer to cluster
// commands; docker swarm leave and a join with a token make it a member
// again. Before, the daemon exited at start with an x509 error.
func TestExpiredCertificateRestart(t *testing.T) {
	t.Parallel()
	const expiry = 6 * time.Second
	c := newShortCertCluster(t, 2)
	dev01, dev02 := c.nodes[0], c.nodes[1]
	dev01.port = freePort(t, dev01.ip)
	dev01.mustDocker(t, "swarm", "init", "--listen-addr", dev01.addr(), "--advertise-addr", dev01.addr(), "--cert-expiry", expiry.String())
	c.join(t, dev02, "worker", dev01)
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": ""})
	oldID := dev02.swarmID

	if code, err := dev02.stop(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("stop dev02: exit %d, %v", code, err)
	}
	cert, err := nodeCert(dev02)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*expiry, func() error {
		if left := time.Until(cert.NotAfter); left >= 0 {
			return fmt.Errorf("dev02's certificate is valid for %v more", left)
		}
		return nil
	})
	dev02.start(t)

	info := dev02.mustDocker(t, "info")
	if err := hasLines(info, "Swarm: error", "NodeID: "+oldID); err != nil {
		t.Error(err)
	}
	if !strings.Contains(info, "Error: "+msgCertsExpired+" This node's certificate expired at ") ||
		!strings.Contains(info, `Run "docker swarm leave" on this node`) || !strings.Contains(info, `"docker node rm `+oldID+`"`) {
		t.Errorf("docker info does not say what to do:\n%s", info)
	}
	for _, l := range strings.Split(info, "\n") {
		if strings.Contains(l, "Error:") {
			t.Logf("docker info on the expired node: %s", strings.TrimSpace(l))
		}
	}
	errorContains(t, dev02.docker("node", "ls"), "Error response from daemon: "+msgCertsExpired)
	if log := dev02.logTail(); !strings.Contains(log, "its certificate expired while it was stopped") {
		t.Errorf("the daemon's log does not say why:\n%s", log)
	}
	waitNodeRow(t, dev01, "dev02", "Down", "")

	// What the message says to do.
	dev02.mustDocker(t, "swarm", "leave")
	c.join(t, dev02, "worker", dev01)
	dev01.mustDocker(t, "node", "rm", oldID)
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": ""})
	if dev02.swarmID == oldID {
		t.Errorf("dev02 joined again as %s, its old ID", oldID)
	}
}

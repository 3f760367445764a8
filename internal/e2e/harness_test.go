package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/shoal-project/shoal/internal/fleet"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"go.uber.org/goleak"
)

// Timeouts of the harness. Convergence is generous: the suite runs on small
// machines, several daemons per test, sometimes two tests at once.
const (
	converge     = 20 * time.Second // a cluster change becoming visible
	cliTimeout   = 20 * time.Second // one CLI command, unless told otherwise
	pollInterval = 50 * time.Millisecond
	logTailLines = 40
	// leaveTimeout bounds swarm leave, which stops the node's whole
	// membership.
	leaveTimeout = 10 * time.Second
	// downGrace is the default time after which a silent node is Down.
	downGrace = 3 * time.Second
)

// The no-leader message, exactly as the docker CLI prints it.
const msgNoLeader = "Error response from daemon: The swarm does not have a leader. " +
	"It's possible that too few managers are online. Make sure more than half of the managers are online."

// msgNotManager is what a worker answers to cluster requests.
const msgNotManager = "Error response from daemon: This node is not a swarm manager. " +
	"Worker nodes can't be used to view or modify cluster state. " +
	"Please run this command on a manager node or promote the current node to a manager."

// shoalBin is the daemon and CLI binary, built once by TestMain.
var shoalBin string

func TestMain(m *testing.M) {
	err := fleet.HeavyTestLock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "shoal-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	shoalBin, err = buildShoal(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// buildShoal builds ./cmd/shoal of this module into dir. SHOAL_E2E_RACE=1
// builds it with the race detector (the daemons then report data races in
// their logs, which fail the test). SHOAL_E2E_BIN=/path/to/shoal skips the
// build and tests that binary instead.
func buildShoal(dir string) (string, error) {
	if bin := os.Getenv("SHOAL_E2E_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "shoal")
	args := []string{"build", "-o", bin}
	if raceDaemons() {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/shoal")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/shoal: %w\n%s", err, out)
	}
	return bin, nil
}

func raceDaemons() bool { return os.Getenv("SHOAL_E2E_RACE") == "1" }

// ---------------------------------------------------------------------------
// Waiting on conditions.

// eventually polls cond until it returns nil, failing the test with cond's
// last error when timeout passes first.
func eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := poll(timeout, cond); err != nil {
		t.Fatalf("not within %v: %v", timeout, err)
	}
}

// poll is eventually without a test: it returns cond's last error at the
// deadline.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

// consistently checks that cond holds at every poll during d.
func consistently(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			t.Fatalf("condition broke within %v: %v", d, err)
		}
		<-tick.C
	}
}

// ---------------------------------------------------------------------------
// Addresses.

// usedPorts are the cluster ports handed out in this process, so that two
// nodes of parallel tests never get the same one, even when the first node
// is dead and its port is free for a while.
var usedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// freePort returns a port free on ip now and never handed out before.
func freePort(t testing.TB, ip string) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("pick a port on %s: %v", ip, err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		usedPorts.Lock()
		taken := usedPorts.m[port]
		usedPorts.m[port] = true
		usedPorts.Unlock()
		if !taken {
			return port
		}
	}
	t.Fatalf("no free port on %s", ip)
	return 0
}

// ---------------------------------------------------------------------------
// Commands.

// result is what a CLI command did.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int   // exit status; -1 if it did not exit by itself
	err    error // set when the command could not run or timed out
}

func (r result) String() string {
	return fmt.Sprintf("%q: exit %d, err %v\nstdout:\n%s\nstderr:\n%s", r.args, r.code, r.err, r.stdout, r.stderr)
}

// ok reports a command that exited 0.
func (r result) ok() error {
	if r.err != nil || r.code != 0 {
		return errors.New(r.String())
	}
	return nil
}

// run runs a program with a deadline and captures its output.
func run(timeout time.Duration, env []string, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: append([]string{filepath.Base(name)}, args...), code: cmd.ProcessState.ExitCode()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.err = fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
	case err != nil && !errors.As(err, &exit):
		r.err = err
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

// cliEnv is the environment of CLI commands: no inherited daemon address
// and a private docker config directory.
func cliEnv(dockerConfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case client.HostEnv, "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "DOCKER_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "DOCKER_CONFIG="+dockerConfig, "DOCKER_CLI_HINTS=false")
}

// ---------------------------------------------------------------------------
// Nodes.

// node is one shoal daemon: a real process with its own data root, socket
// and loopback address, which the test kills and starts like a machine.
type node struct {
	c        *cluster
	name     string // dev01, dev02, ...
	ip       string // 127.0.1.N
	port     int    // cluster port, chosen when the node enters a swarm
	dataRoot string
	sock     string
	logPath  string

	// runtime is the daemon's --runtime ("" for the default, process).
	runtime string
	// args are more daemon flags (e.g. a tcp:// --host and its TLS).
	args []string
	// swarmID is the node's ID once it joined (kept for the docker
	// runtime's machine death, which must also kill its containers).
	swarmID string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	api  *client.Client
}

// host is the node's API endpoint for -H.
func (n *node) host() string { return "unix://" + n.sock }

// addr is the node's cluster address ip:port.
func (n *node) addr() string { return net.JoinHostPort(n.ip, strconv.Itoa(n.port)) }

// start runs the daemon with the node's data root and waits until its API
// answers.
func (n *node) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "==== e2e: starting %s at %s\n", n.name, time.Now().Format(time.RFC3339Nano))
	args := []string{"daemon", "--data-root", n.dataRoot, "--host", n.host(), "--node-name", n.name}
	if n.runtime != "" {
		args = append(args, "--runtime", n.runtime)
	}
	args = append(args, n.args...)
	if os.Getenv("SHOAL_E2E_DEBUG") == "1" {
		args = append(args, "--debug")
	}
	cmd := exec.Command(shoalBin, args...)
	cmd.Env = append(cliEnv(n.c.dockerConfig), n.c.daemonEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	eventually(t, converge, func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited at start:\n%s", n.name, n.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := n.client().Ping(ctx)
		return err
	})
}

// kill is the machine's death: SIGKILL to the daemon's whole process group.
// It returns once the process is gone.
func (n *node) kill(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		t.Fatalf("kill %s: not running", n.name)
	}
	n.signalGroup(cmd)
	<-done
	n.killContainers()
	n.client().Close()
}

// stop asks the daemon to shut down cleanly (SIGTERM to the daemon alone)
// and waits up to timeout. It returns the exit status, or an error if the
// daemon did not exit in time (it is then killed).
func (n *node) stop(timeout time.Duration) (int, error) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return -1, fmt.Errorf("stop %s: not running", n.name)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	defer n.client().Close()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		n.signalGroup(cmd)
		<-done
		return -1, fmt.Errorf("%s did not exit within %v of SIGTERM", n.name, timeout)
	}
}

// killAll kills the nodes at the same moment (SIGKILL to each group first,
// then waits for all).
func killAll(t testing.TB, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		n.mu.Lock()
		if n.cmd == nil {
			n.mu.Unlock()
			t.Fatalf("kill %s: not running", n.name)
		}
		n.signalGroup(n.cmd)
		n.mu.Unlock()
	}
	for _, n := range nodes {
		n.kill(t) // already signalled: this waits for the process
	}
}

// signalGroup is the machine's death without waiting: SIGKILL to the
// daemon's process group and to every process the daemon started, even one
// that runs in a process group of its own (as task processes do).
func (n *node) signalGroup(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	for _, p := range descendants(pid) {
		_ = syscall.Kill(-p, syscall.SIGKILL) // p's group, if it leads one
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name (in parentheses, and which may
		// hold parentheses itself): state, ppid, ...
		i := bytes.LastIndexByte(b, ')')
		if f := strings.Fields(string(b[i+1:])); i > 0 && len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], p)
			}
		}
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// running reports whether the daemon process is up.
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// pid is the daemon's process ID (0 if it is not running).
func (n *node) pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// client is the Go API client of this node alone (no failover).
func (n *node) client() *client.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.api == nil {
		api, err := client.New([]string{n.host()}, client.WithDialTimeout(2*time.Second))
		if err != nil {
			panic(err) // the endpoint is ours and well formed
		}
		n.api = api
	}
	return n.api
}

// shoal runs the shoal CLI against this node.
func (n *node) shoal(args ...string) result {
	return n.shoalWithin(cliTimeout, args...)
}

// shoalWithin runs the shoal CLI against this node with a deadline.
func (n *node) shoalWithin(timeout time.Duration, args ...string) result {
	return run(timeout, cliEnv(n.c.dockerConfig), shoalBin, append([]string{"-H", n.host()}, args...)...)
}

// mustShoal runs the shoal CLI and fails the test unless it succeeds; it
// returns the standard output.
func (n *node) mustShoal(t testing.TB, args ...string) string {
	t.Helper()
	r := n.shoal(args...)
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}
	return r.stdout
}

// docker runs the docker CLI against this node.
func (n *node) docker(args ...string) result {
	return run(cliTimeout, cliEnv(n.c.dockerConfig), "docker", append([]string{"-H", n.host()}, args...)...)
}

// mustDocker runs the docker CLI and fails the test unless it succeeds.
func (n *node) mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	r := n.docker(args...)
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}
	return r.stdout
}

// logTail returns the last lines of the node's log.
func (n *node) logTail() string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	keep := logTailLines
	if v, err := strconv.Atoi(os.Getenv("SHOAL_E2E_LOG_LINES")); err == nil {
		keep = v
	}
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------------
// Clusters.

// cluster is a set of nodes of one test. Node i (from 1) is devNN on
// 127.0.1.i.
type cluster struct {
	t            testing.TB
	dir          string // data roots and logs
	sockDir      string // short, for unix socket paths
	dockerConfig string
	nodes        []*node
	// daemonEnv is added to the environment of daemons started from now on
	// (e.g. a test-only setting).
	daemonEnv []string
}

// newCluster starts n daemons, none of them in a swarm yet. Everything is
// killed when the test ends; a failed test prints every node's log tail.
func newCluster(t testing.TB, n int) *cluster {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "se2e-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: dir, sockDir: sockDir, dockerConfig: filepath.Join(dir, "docker-config")}
	if err := os.Mkdir(c.dockerConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.report)
	t.Cleanup(c.close)
	for range n {
		c.add(t)
	}
	return c
}

// add starts one more daemon.
func (c *cluster) add(t testing.TB) *node {
	t.Helper()
	return c.addWith(t, "")
}

// addWith starts one more daemon with the given --runtime.
func (c *cluster) addWith(t testing.TB, runtime string) *node {
	t.Helper()
	return c.addDaemon(t, runtime)
}

// addDaemon starts one more daemon with the given --runtime and more flags.
func (c *cluster) addDaemon(t testing.TB, runtime string, args ...string) *node {
	t.Helper()
	i := len(c.nodes) + 1
	name := fmt.Sprintf("dev%02d", i)
	n := &node{
		c:        c,
		name:     name,
		ip:       fmt.Sprintf("127.0.1.%d", i),
		dataRoot: filepath.Join(c.dir, name),
		sock:     filepath.Join(c.sockDir, name+".sock"),
		logPath:  filepath.Join(c.dir, name+".log"),
		runtime:  runtime,
		args:     args,
	}
	c.nodes = append(c.nodes, n)
	n.start(t)
	return n
}

// close kills every daemon still running and frees the sockets directory.
func (c *cluster) close() {
	var done []chan struct{}
	for _, n := range c.nodes {
		n.mu.Lock()
		if n.cmd != nil {
			n.signalGroup(n.cmd)
			done = append(done, n.done)
			n.cmd = nil
		}
		api := n.api
		n.mu.Unlock()
		if api != nil {
			api.Close()
		}
	}
	for _, d := range done {
		<-d
	}
	os.RemoveAll(c.sockDir)
}

// report prints the log tail of every node of a failed test, and fails the
// test if a race-detecting daemon reported a data race.
func (c *cluster) report() {
	for _, n := range c.nodes {
		if raceDaemons() {
			if b, err := os.ReadFile(n.logPath); err == nil && bytes.Contains(b, []byte("WARNING: DATA RACE")) {
				c.t.Errorf("%s: the daemon reported a data race; see %s", n.name, n.logPath)
			}
		}
		if c.t.Failed() {
			c.t.Logf("---- log tail of %s (%s):\n%s", n.name, n.ip, n.logTail())
		}
	}
}

// node returns the node named name.
func (c *cluster) node(name string) *node {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return nil
}

// others returns the nodes other than the given ones.
func (c *cluster) others(skip ...*node) []*node {
	var out []*node
	for _, n := range c.nodes {
		skipped := false
		for _, s := range skip {
			skipped = skipped || n == s
		}
		if !skipped {
			out = append(out, n)
		}
	}
	return out
}

// init makes n the first manager of a new swarm, on its own address.
func (c *cluster) init(t testing.TB, n *node) string {
	t.Helper()
	if n.port == 0 {
		n.port = freePort(t, n.ip)
	}
	return n.mustShoal(t, "swarm", "init", "--listen-addr", n.addr(), "--advertise-addr", n.addr())
}

// join makes n join the swarm as role ("worker" or "manager") through the
// manager via, with via's join token; it returns the CLI's output.
func (c *cluster) join(t testing.TB, n *node, role string, via *node) string {
	t.Helper()
	token := strings.TrimSpace(via.mustShoal(t, "swarm", "join-token", "-q", role))
	return c.joinWith(t, n, token, via)
}

// joinWith makes n join through via with the given token, failing the test
// unless it works.
func (c *cluster) joinWith(t testing.TB, n *node, token string, via *node) string {
	t.Helper()
	if n.port == 0 {
		n.port = freePort(t, n.ip)
	}
	out := n.mustShoal(t, "swarm", "join", "--token", token, "--listen-addr", n.addr(), "--advertise-addr", n.addr(), via.addr())
	n.rememberID(t)
	return out
}

// rememberID records the node's swarm ID.
func (n *node) rememberID(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := n.client().Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n.swarmID = info.Swarm.NodeID
}

// newSwarm starts managers+workers daemons: dev01 initialises the swarm, the
// next managers-1 join as managers, the rest as workers, all through dev01.
// It returns once every node is Ready and every manager Reachable (or
// Leader) in dev01's node ls.
func newSwarm(t testing.TB, managers, workers int) *cluster {
	t.Helper()
	c := newCluster(t, managers+workers)
	first := c.nodes[0]
	c.init(t, first)
	for i, n := range c.nodes[1:] {
		role := "worker"
		if i+1 < managers {
			role = "manager"
		}
		c.join(t, n, role, first)
	}
	want := map[string]string{}
	for i, n := range c.nodes {
		want[n.name] = ""
		if i < managers {
			want[n.name] = "manager"
		}
	}
	c.waitHealthy(t, first, want)
	return c
}

// waitHealthy waits until via's node list holds exactly the nodes of want
// (name → "manager" or ""), all Ready, every manager Leader or Reachable
// and every worker without a manager status.
func (c *cluster) waitHealthy(t testing.TB, via *node, want map[string]string) {
	t.Helper()
	eventually(t, converge, func() error {
		nodes, err := listNodes(via)
		if err != nil {
			return err
		}
		if len(nodes) != len(want) {
			return fmt.Errorf("%d nodes, want %d: %v", len(nodes), len(want), describeNodes(nodes))
		}
		for name, role := range want {
			n, ok := nodes[name]
			if !ok {
				return fmt.Errorf("no node %s: %v", name, describeNodes(nodes))
			}
			ms := managerStatus(n)
			switch {
			case n.Status.State != swarm.NodeStateReady:
				return fmt.Errorf("%s is %s: %v", name, n.Status.State, describeNodes(nodes))
			case role == "manager" && ms != "Leader" && ms != "Reachable":
				return fmt.Errorf("manager %s is %q: %v", name, ms, describeNodes(nodes))
			case role == "" && ms != "":
				return fmt.Errorf("worker %s has manager status %q: %v", name, ms, describeNodes(nodes))
			}
		}
		return nil
	})
}

// listNodes returns via's node list by hostname, through the Go client.
func listNodes(via *node) (map[string]swarm.Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := via.client().NodeList(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("node ls on %s: %w", via.name, err)
	}
	out := map[string]swarm.Node{}
	for _, n := range list {
		out[n.Description.Hostname] = n
	}
	return out, nil
}

// managerStatus is the MANAGER STATUS column of node ls for n.
func managerStatus(n swarm.Node) string {
	switch {
	case n.ManagerStatus == nil:
		return ""
	case n.ManagerStatus.Leader:
		return "Leader"
	}
	s := string(n.ManagerStatus.Reachability)
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func describeNodes(nodes map[string]swarm.Node) string {
	var parts []string
	for name, n := range nodes {
		parts = append(parts, fmt.Sprintf("%s=%s/%s/%q", name, n.Status.State, n.Spec.Availability, managerStatus(n)))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// leader waits until one of the given managers' node lists names a leader
// among the running nodes and returns it.
func (c *cluster) leader(t testing.TB, via ...*node) *node {
	t.Helper()
	var found *node
	eventually(t, converge, func() error {
		var errs []error
		for _, v := range via {
			nodes, err := listNodes(v)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for name, n := range nodes {
				if managerStatus(n) == "Leader" && c.node(name).running() {
					found = c.node(name)
					return nil
				}
			}
			errs = append(errs, fmt.Errorf("no running leader in %s's list: %v", v.name, describeNodes(nodes)))
		}
		return errors.Join(errs...)
	})
	return found
}

// ---------------------------------------------------------------------------
// Reading CLI tables.

// table is a parsed CLI table: one map per row, keyed by column header.
type table []map[string]string

var columnSep = regexp.MustCompile(`\S+( \S+)*`)

// parseTable parses tabwriter output whose header names are separated by at
// least two spaces (cells are cut at the header's column positions).
func parseTable(out string) table {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil
	}
	cols := columnSep.FindAllStringIndex(lines[0], -1)
	var rows table
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, col := range cols {
			end := len(line)
			if i+1 < len(cols) {
				end = min(cols[i+1][0], len(line))
			}
			cell := ""
			if col[0] < end {
				cell = strings.TrimSpace(line[col[0]:end])
			}
			row[lines[0][col[0]:col[1]]] = cell
		}
		rows = append(rows, row)
	}
	return rows
}

// row returns the row whose column key holds value.
func (tb table) row(key, value string) (map[string]string, error) {
	for _, r := range tb {
		if r[key] == value {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no row with %s %q in %v", key, value, tb)
}

// nodeTable runs node ls through the shoal CLI on via and parses it.
func nodeTable(via *node) (table, error) {
	r := via.shoalWithin(10*time.Second, "node", "ls")
	if err := r.ok(); err != nil {
		return nil, err
	}
	return parseTable(r.stdout), nil
}

// waitNodeRow waits until via's `node ls` shows the node name with the given
// STATUS and MANAGER STATUS ("-" leaves a column unchecked).
func waitNodeRow(t testing.TB, via *node, name, status, managerStatus string) {
	t.Helper()
	eventually(t, converge, func() error { return checkNodeRow(via, name, status, managerStatus) })
}

func checkNodeRow(via *node, name, status, managerStatus string) error {
	tb, err := nodeTable(via)
	if err != nil {
		return err
	}
	row, err := tb.row("HOSTNAME", name)
	if err != nil {
		return err
	}
	if status != "-" && row["STATUS"] != status {
		return fmt.Errorf("%s STATUS is %q, want %q (via %s): %v", name, row["STATUS"], status, via.name, tb)
	}
	if managerStatus != "-" && row["MANAGER STATUS"] != managerStatus {
		return fmt.Errorf("%s MANAGER STATUS is %q, want %q (via %s): %v", name, row["MANAGER STATUS"], managerStatus, via.name, tb)
	}
	return nil
}

// hasLines checks that out holds every want as a whole line, comparing
// lines with runs of blanks and tabs folded into one space.
func hasLines(out string, want ...string) error {
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[squash(l)] = true
	}
	var missing []string
	for _, w := range want {
		if !have[squash(w)] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing lines %q in:\n%s", missing, out)
	}
	return nil
}

// squash folds the blanks of a line: "  Leader:\t\tYes" → "Leader: Yes".
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// block returns the lines indented under the first line of out that reads
// header (after trimming), up to the next line indented no deeper.
func block(out, header string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if squash(l) != squash(header) {
			continue
		}
		depth := indent(l)
		var body []string
		for _, b := range lines[i+1:] {
			if strings.TrimSpace(b) == "" || indent(b) <= depth {
				break
			}
			body = append(body, b)
		}
		return strings.Join(body, "\n")
	}
	return ""
}

func indent(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }

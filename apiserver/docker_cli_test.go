package apiserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-project/shoal/apiserver"
	"github.com/shoal-project/shoal/apiserver/apiservertest"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// serveUnix serves h on a fresh unix socket until the test ends.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	// Unix socket paths are short (108 bytes); t.TempDir can be too long.
	dir, err := os.MkdirTemp("", "shoalapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return sock
}

type cliResult struct {
	stdout, stderr string
	exit           int
}

// runDocker runs the real docker CLI against sock, isolated from the user's
// docker configuration.
func runDocker(t *testing.T, sock string, args ...string) cliResult {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"-H", "unix://" + sock}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cliResult{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("docker %v: %v", args, err)
	}
	return res
}

// TestDockerCLI drives the handler with the stock docker CLI, the strictest
// check of the wire shapes there is.
func TestDockerCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the docker CLI")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	f := newFakeLeader(t)
	var mu sync.Mutex
	var filters map[string][]string
	var nodeUpdate, clusterUpdate []any
	list := f.ctl.ListNodesFn
	f.ctl.ListNodesFn = func(ctx context.Context, fl map[string][]string) ([]controlapi.NodeView, error) {
		mu.Lock()
		filters = fl
		mu.Unlock()
		return list(ctx, fl)
	}
	f.ctl.UpdateNodeFn = func(_ context.Context, ref string, v uint64, spec swarm.NodeSpec) error {
		mu.Lock()
		nodeUpdate = []any{ref, v, spec.Role}
		mu.Unlock()
		return nil
	}
	f.ctl.UpdateClusterFn = func(_ context.Context, v uint64, spec swarm.ClusterSpec, rot controlapi.Rotation) error {
		mu.Lock()
		clusterUpdate = []any{v, spec.Orchestration.TaskHistoryRetentionLimit, spec.Dispatcher.NodeDownGrace, rot}
		mu.Unlock()
		return nil
	}
	f.backend.InitFn = func(context.Context, apiserver.InitRequest) (swarm.NodeID, error) { return leaderID, nil }
	sock := serveUnix(t, f.handler)
	subject := base64.StdEncoding.EncodeToString(f.caCert.RawSubject)

	tests := []struct {
		name string
		args []string
		exit int
		want []string // substrings of stdout (exit 0) or stderr
	}{
		{"node ls", []string{"node", "ls"}, 0, []string{
			"ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION",
			string(leaderID) + " *", "fake-manager", "Ready", "Active", "Leader", testVersion,
			"worker1", "Down", "Drain", "0.9.0"}},
		{"node ls filter", []string{"node", "ls", "-q", "--filter", "role=manager"}, 0, []string{string(leaderID)}},
		{"info", []string{"info"}, 0, []string{
			"Server Version: " + testVersion, "Kernel Version: 6.1.0", "CPUs: 4",
			"Swarm: active", "NodeID: " + string(leaderID), "Is Manager: true",
			"ClusterID: clusteridccccccccccccccccc", "Managers: 1", "Nodes: 2",
			"Task History Retention Limit: 5", "Heartbeat Tick: 1", "Election Tick: 5",
			"Heartbeat Period: 1 second", "Expiry Duration: 3 months",
			"Node Address: 10.0.0.1", "Manager Addresses:", "10.0.0.1:2377"}},
		{"node inspect pretty self", []string{"node", "inspect", "--pretty", "self"}, 0, []string{
			"ID:", string(leaderID), "Hostname:", "fake-manager", "Joined at:", "2025-06-01 12:00:00",
			"State:", "Ready", "Availability:", "Active", "Address:", "10.0.0.1",
			"Manager Status:", "Leader", "Reachable", "Operating System:", "linux", "Architecture:", "x86_64",
			"CPUs:", "4", "Memory:", "8GiB", "Engine Version:", testVersion,
			"TLS Info:", "BEGIN CERTIFICATE", "Issuer Subject:", subject}},
		{"node inspect missing", []string{"node", "inspect", "nosuch"}, 1, []string{"Error response from daemon: node nosuch not found"}},
		{"join-token", []string{"swarm", "join-token", "worker"}, 0, []string{"docker swarm join --token SWMTKN-1-worker 10.0.0.1:2377"}},
		{"promote", []string{"node", "promote", "worker1"}, 0, []string{"Node worker1 promoted to a manager in the swarm."}},
		{"swarm update", []string{"swarm", "update", "--task-history-limit", "3"}, 0, []string{"Swarm updated."}},
		{"swarm init", []string{"swarm", "init"}, 0, []string{
			"Swarm initialized: current node (" + string(leaderID) + ") is now a manager.",
			"docker swarm join --token SWMTKN-1-worker 10.0.0.1:2377"}},
		{"version", []string{"version"}, 0, []string{"Server: shoal", "1.50 (minimum version 1.24)", "Version:          " + testVersion}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runDocker(t, sock, tt.args...)
			if res.exit != tt.exit {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.exit, tt.exit, res.stdout, res.stderr)
			}
			text := res.stdout
			if tt.exit != 0 {
				text = res.stderr
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			t.Logf("docker %s:\n%s%s", strings.Join(tt.args, " "), res.stdout, res.stderr)
		})
	}

	mu.Lock()
	defer mu.Unlock()
	if got := filters["role"]; len(got) != 1 || got[0] != "manager" {
		t.Errorf("node ls --filter role=manager sent filters %v", filters)
	}
	if want := []any{string(workerID), uint64(13), swarm.RoleManager}; !equalAny(nodeUpdate, want) {
		t.Errorf("promote: UpdateNode%v, want %v", nodeUpdate, want)
	}
	if want := []any{uint64(11), int64(3), 4 * time.Second, controlapi.Rotation{}}; !equalAny(clusterUpdate, want) {
		t.Errorf("swarm update: UpdateCluster%v, want %v", clusterUpdate, want)
	}
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDockerCLIWorker checks how the CLI renders shoal's refusals on a node
// that is not a manager.
func TestDockerCLIWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the docker CLI")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
	b := &apiservertest.Backend{
		InfoFn: func(context.Context) apiserver.Info {
			return apiserver.Info{Swarm: apiserver.SwarmInfo{
				NodeID: workerID, NodeAddr: "10.0.0.2", State: apiserver.StateActive,
				RemoteManagers: []apiserver.Peer{{NodeID: leaderID, Addr: "10.0.0.1:2377"}},
			}}
		},
		ControlFn: func(context.Context) (apiserver.Control, http.Handler, error) { return nil, nil, swarm.ErrNotManager },
	}
	sock := serveUnix(t, apiserver.New(apiserver.Config{Backend: b, Version: testVersion}))

	res := runDocker(t, sock, "node", "ls")
	if want := "Error response from daemon: " + swarm.MsgNotManagerWorker + "\n"; res.exit != 1 || res.stderr != want {
		t.Errorf("node ls on a worker: exit %d, stderr %q, want %q", res.exit, res.stderr, want)
	}
	res = runDocker(t, sock, "info")
	for _, w := range []string{"Swarm: active", "NodeID: " + string(workerID), "Is Manager: false", "Node Address: 10.0.0.2", "10.0.0.1:2377"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("info lacks %q:\n%s", w, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "ClusterID") {
		t.Errorf("a worker's info shows cluster details:\n%s", res.stdout)
	}
	res = runDocker(t, sock, "swarm", "leave")
	if res.exit != 0 || !strings.Contains(res.stdout, "Node left the swarm.") {
		t.Errorf("swarm leave: exit %d\n%s%s", res.exit, res.stdout, res.stderr)
	}
}

package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from shoal's output")

// goldenCase is one CLI invocation against the fixture daemon, after setup
// changed it. section, when set, keeps the part of stdout that is compared
// with the docker CLI (e.g. info's Server section).
type goldenCase struct {
	name    string
	args    []string
	setup   func(*fakeDaemon)
	section func(string) string
	// unlikeDocker, when set, says why docker's output differs (the case
	// is then not compared with it).
	unlikeDocker string
}

var goldenCases = []goldenCase{
	{name: "node_ls", args: []string{"node", "ls"}},
	{name: "node_ls_quiet", args: []string{"node", "ls", "-q"}},
	{name: "node_ls_empty", args: []string{"node", "ls"}, setup: func(fd *fakeDaemon) { fd.nodes = nil }},
	{name: "node_ls_format_json", args: []string{"node", "ls", "--format", "json"}},
	{name: "node_ls_format_table", args: []string{"node", "ls", "--format", "table {{.ID}}\t{{.TLSStatus}}\t{{.Self}}\t{{upper .Hostname}}"}},
	{name: "node_ls_format_template", args: []string{"node", "ls", "--format", "{{.Hostname}}: {{.ManagerStatus}}"}},
	{name: "node_ls_format_raw", args: []string{"node", "ls", "--format", "raw"}},
	{name: "node_ls_no_leader", args: []string{"node", "ls"}, setup: failWith("GET /nodes", http.StatusServiceUnavailable,
		"The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")},
	{name: "node_inspect_self", args: []string{"node", "inspect", "self"}},
	{name: "node_inspect_self_not_in_swarm", args: []string{"node", "inspect", "self"}, setup: func(fd *fakeDaemon) {
		fd.info = system.Info{Swarm: swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}}
		fd.fail["GET /nodes"] = apiFailure{http.StatusServiceUnavailable, `This node is not a swarm manager. Use "shoal swarm init" or "shoal swarm join" to connect this node to swarm and try again.`}
	}},
	{name: "node_inspect_json_not_found", args: []string{"node", "inspect", "--format", "json", "worker2", "nosuch"}},
	{name: "node_inspect_template", args: []string{"node", "inspect", "--format", "{{.ID}} {{.Spec.Role}}", "worker2", "lead"}},
	{name: "node_inspect_pretty", args: []string{"node", "inspect", "--pretty", "self", "worker2", "worker10"}},
	{name: "node_inspect_pretty_not_found", args: []string{"node", "inspect", "--pretty", "worker2", "nosuch"}},
	{name: "node_promote", args: []string{"node", "promote", "worker2", "fake-manager", "worker10"}},
	{name: "node_demote", args: []string{"node", "demote", "lead", "worker10"}},
	{name: "node_demote_last_manager", args: []string{"node", "demote", "lead"}, setup: failWith("POST /nodes/"+idManager+"/update",
		http.StatusBadRequest, "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")},
	{name: "node_update", args: []string{"node", "update", "--availability", "drain", "--label-add", "a=b", "--label-add", "c", "worker2"}},
	{name: "node_update_label_rm_missing", args: []string{"node", "update", "--label-rm", "nope", "worker2"}},
	{name: "node_rm", args: []string{"node", "rm", "worker10", "nosuch", "worker2", "gone"}},
	{name: "info_manager", args: []string{"info"}, section: serverSection},
	{name: "info_worker", args: []string{"info"}, setup: func(fd *fakeDaemon) { fd.info = workerInfo() }, section: serverSection},
	{name: "info_inactive", args: []string{"info"}, setup: func(fd *fakeDaemon) {
		fd.info = system.Info{Swarm: swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}}
	}, section: serverSection},
	{name: "swarm_init", args: []string{"swarm", "init", "--advertise-addr", "10.0.0.1"}},
	{name: "swarm_init_already", args: []string{"swarm", "init"}, setup: failWith("POST /swarm/init", http.StatusServiceUnavailable,
		`This node is already part of a swarm. Use "shoal swarm leave" to leave this swarm and join another one.`)},
	{name: "swarm_init_no_address", args: []string{"swarm", "init"}, setup: failWith("POST /swarm/init", http.StatusBadRequest,
		"could not choose an IP address to advertise since this system has multiple addresses on different interfaces (10.0.0.1 on eth0 and 10.0.0.2 on eth1)")},
	{name: "swarm_init_bad_availability", args: []string{"swarm", "init", "--availability", "away"}},
	{name: "swarm_join_token_worker", args: []string{"swarm", "join-token", "worker"}},
	{name: "swarm_join_token_manager", args: []string{"swarm", "join-token", "manager"}},
	{name: "swarm_join_token_quiet", args: []string{"swarm", "join-token", "-q", "manager"}},
	{name: "swarm_join_token_rotate", args: []string{"swarm", "join-token", "--rotate", "worker"}},
	{name: "swarm_join_token_rotate_quiet", args: []string{"swarm", "join-token", "--rotate", "-q", "manager"}},
	{name: "swarm_join_token_unknown_role", args: []string{"swarm", "join-token", "nobody"}},
	{name: "swarm_join_token_on_worker", args: []string{"swarm", "join-token", "worker"}, setup: failWith("GET /swarm", http.StatusServiceUnavailable,
		"This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.")},
	{name: "swarm_join_manager", args: []string{"swarm", "join", "--token", "T", "10.0.0.1:2377"}},
	{name: "swarm_join_worker", args: []string{"swarm", "join", "--token", "T", "10.0.0.1"}, setup: func(fd *fakeDaemon) { fd.info = workerInfo() }},
	{name: "swarm_leave", args: []string{"swarm", "leave", "--force"}},
	{name: "swarm_leave_last_manager", args: []string{"swarm", "leave"}, setup: failWith("POST /swarm/leave", http.StatusServiceUnavailable,
		"You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.")},
	{name: "swarm_update", args: []string{"swarm", "update", "--task-history-limit", "10", "--dispatcher-heartbeat", "2s"}},
	{name: "error_without_message", args: []string{"node", "ls"}, setup: func(fd *fakeDaemon) { fd.fail["GET /nodes"] = apiFailure{500, ""} }},
	{name: "args_none_accepted", args: []string{"node", "ls", "extra"}},
	{name: "args_at_least_one", args: []string{"node", "inspect"}},
	{name: "args_exactly_one", args: []string{"swarm", "join"}},
	{name: "unknown_flag", args: []string{"node", "ls", "--bogus"}},
	{name: "unknown_command", args: []string{"node", "bogus"}},
	{name: "bad_filter", args: []string{"node", "ls", "--filter", "role"}},
	{name: "node_ls_bad_format", args: []string{"node", "ls", "--format", "{{.Nope"}},
	{name: "node_ls_bad_field", args: []string{"node", "ls", "--format", "{{.Nope}}"},
		unlikeDocker: "the message names the row's Go type, *node.nodeContext in docker"},
	{name: "node_inspect_bad_format", args: []string{"node", "inspect", "--format", "{{.Nope", "self"}},
	{name: "node_inspect_bad_field", args: []string{"node", "inspect", "--format", "{{.Nope}}", "self"}},
	{name: "node_inspect_pretty_extra", args: []string{"node", "inspect", "--format", "pretty {{.ID}}", "self"}},
	{name: "info_error", args: []string{"info"}, setup: failWith("GET /info", http.StatusInternalServerError, "boom"), section: serverSection},
	{name: "info_bad_format", args: []string{"info", "--format", "{{.Nope"}},
	{name: "info_format", args: []string{"info", "--format", "{{.Swarm.NodeID}} {{.Swarm.Cluster.Spec.Raft.ElectionTick}}"}},
}

func failWith(route string, status int, msg string) func(*fakeDaemon) {
	return func(fd *fakeDaemon) { fd.fail[route] = apiFailure{status, msg} }
}

// outcome is what one invocation printed, as stored in a golden file.
type outcome struct {
	stdout, stderr string
	code           int
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", o.code, o.stdout, o.stderr)
}

func (gc goldenCase) path() string { return filepath.Join("testdata", gc.name+".golden") }

func (gc goldenCase) daemon(t *testing.T) *fakeDaemon {
	fd := newFixtureDaemon(t)
	if gc.setup != nil {
		fd.mu.Lock()
		gc.setup(fd)
		fd.mu.Unlock()
	}
	return fd
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, gc.daemon(t).host, gc.args...)
			got := outcome{out, errOut, code}.String()
			if *update {
				if err := os.WriteFile(gc.path(), []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gc.path())
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("shoal %s:\n%s\nwant (%s):\n%s", strings.Join(gc.args, " "), got, gc.path(), want)
			}
		})
	}
}

// TestGoldenMatchesDockerCLI runs the stock docker CLI on every golden case
// and checks it prints what the golden file holds, after writing "shoal"
// where docker says "docker". It runs wherever a docker binary is installed.
func TestGoldenMatchesDockerCLI(t *testing.T) {
	bin := dockerBinary(t)
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			if gc.unlikeDocker != "" {
				t.Skip(gc.unlikeDocker)
			}
			want, err := os.ReadFile(gc.path())
			if err != nil {
				t.Fatal(err)
			}
			got := runDocker(t, bin, gc.daemon(t).host, gc.args)
			wantOutcome := parseOutcome(t, string(want))
			if gc.section != nil {
				got.stdout, wantOutcome.stdout = gc.section(got.stdout), gc.section(wantOutcome.stdout)
			}
			if got != wantOutcome {
				t.Errorf("docker %s:\n%s\ngolden:\n%s", strings.Join(gc.args, " "), got, wantOutcome)
			}
		})
	}
}

func runDocker(t *testing.T, bin, host string, args []string) outcome {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-H", host}, args...)...)
	cmd.Env = []string{"DOCKER_CONFIG=" + t.TempDir(), "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatal(err)
		}
		code = exit.ExitCode()
	}
	// Docker names itself "docker"; shoal says "shoal". Swarm's label keys
	// (com.docker.swarm.task.id, ...) are the same for both.
	rename := strings.NewReplacer("com.docker.", "com.docker.", "docker", "shoal")
	return outcome{
		stdout: rename.Replace(out.String()),
		stderr: rename.Replace(errOut.String()),
		code:   code,
	}
}

func parseOutcome(t *testing.T, s string) outcome {
	t.Helper()
	var o outcome
	head, rest, ok1 := strings.Cut(s, "\n-- stdout --\n")
	stdout, stderr, ok2 := strings.Cut(rest, "-- stderr --\n")
	if _, err := fmt.Sscanf(head, "exit %d", &o.code); err != nil || !ok1 || !ok2 {
		t.Fatalf("malformed golden file: %q", s)
	}
	o.stdout, o.stderr = stdout, stderr
	return o
}

// serverSection drops info's Client section, which differs by design.
func serverSection(s string) string {
	if i := strings.Index(s, "Server:"); i >= 0 {
		return s[i:]
	}
	return s
}

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

func golden(t *testing.T, name string) outcome {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".golden"))
	if err != nil {
		t.Fatal(err)
	}
	return parseOutcome(t, string(b))
}

func TestFailoverToSecondEndpoint(t *testing.T) {
	fd := newFixtureDaemon(t)
	dead := "unix://" + filepath.Join(t.TempDir(), "dead.sock")
	want := golden(t, "node_ls")

	// Comma separated, and repeated -H flags.
	for _, args := range [][]string{
		{"-H", dead + "," + fd.host, "node", "ls"},
		{"-H", dead, "--host", fd.host, "node", "ls"},
	} {
		out, errOut, code := runCLI(t, "", args...)
		if got := (outcome{out, errOut, code}); got != want {
			t.Fatalf("%q:\n%s\nwant:\n%s", args, got, want)
		}
	}
	t.Setenv(client.HostEnv, dead+","+fd.host)
	out, errOut, code := runCLI(t, "", "node", "ls")
	if got := (outcome{out, errOut, code}); got != want {
		t.Fatalf("with $%s:\n%s\nwant:\n%s", client.HostEnv, got, want)
	}
}

func TestNoEndpointReachable(t *testing.T) {
	one := "unix://" + filepath.Join(t.TempDir(), "a.sock")
	two := "unix://" + filepath.Join(t.TempDir(), "b.sock")
	tests := []struct {
		hosts, want string
	}{
		{one, "Cannot connect to the shoal daemon at " + one + ". Is the daemon running?\n"},
		{one + "," + two, "Cannot connect to the shoal daemon at " + one + ", " + two + ". Is the daemon running?\n"},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, tt.hosts, "node", "ls")
		if out != "" || errOut != tt.want || code != 1 {
			t.Errorf("got %q %q %d, want stderr %q exit 1", out, errOut, code, tt.want)
		}
	}
}

func TestDefaultHost(t *testing.T) {
	t.Setenv(client.HostEnv, "")
	_, errOut, code := runCLI(t, "", "node", "ls")
	if want := "Cannot connect to the shoal daemon at " + client.DefaultHost + ". Is the daemon running?\n"; errOut != want || code != 1 {
		t.Fatalf("got %q %d", errOut, code)
	}
}

// TestRequests checks what each command asks the daemon, in order.
func TestRequests(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"node", "ls"}, []string{"HEAD /_ping", "GET /v1.50/nodes", "GET /v1.50/info"}},
		{[]string{"node", "ls", "-q"}, []string{"HEAD /_ping", "GET /v1.50/nodes"}},
		{[]string{"node", "ls", "-f", "role=manager", "--filter", " Label = a=b"}, []string{"HEAD /_ping",
			"GET /v1.50/nodes?filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%2C%22role%22%3A%7B%22manager%22%3Atrue%7D%7D", "GET /v1.50/info"}},
		{[]string{"node", "inspect", "self", "worker2"}, []string{"HEAD /_ping", "GET /v1.50/info",
			"GET /v1.50/nodes/" + idManager, "GET /v1.50/nodes/worker2"}},
		{[]string{"node", "promote", "worker2"}, []string{"HEAD /_ping", "GET /v1.50/nodes/worker2",
			"POST /v1.50/nodes/" + idWorker1 + "/update?version=15"}},
		{[]string{"node", "promote", "self"}, []string{"HEAD /_ping", "GET /v1.50/nodes/self"}},
		{[]string{"node", "rm", "-f", "worker2"}, []string{"HEAD /_ping", "DELETE /v1.50/nodes/worker2?force=1"}},
		{[]string{"swarm", "init"}, []string{"HEAD /_ping", "POST /v1.50/swarm/init",
			"GET /v1.50/nodes/" + idManager, "GET /v1.50/swarm"}},
		{[]string{"swarm", "join-token", "worker"}, []string{"HEAD /_ping", "GET /v1.50/swarm", "GET /v1.50/info",
			"GET /v1.50/nodes/" + idManager, "GET /v1.50/swarm"}},
		{[]string{"swarm", "join-token", "-q", "worker"}, []string{"HEAD /_ping", "GET /v1.50/swarm"}},
		{[]string{"swarm", "join-token", "-q", "--rotate", "manager"}, []string{"HEAD /_ping", "GET /v1.50/swarm",
			"POST /v1.50/swarm/update?rotateManagerToken=true&rotateManagerUnlockKey=false&rotateWorkerToken=false&version=11",
			"GET /v1.50/swarm"}},
		{[]string{"swarm", "join", "--token", "T", "10.0.0.1"}, []string{"HEAD /_ping", "POST /v1.50/swarm/join", "GET /v1.50/info"}},
		{[]string{"swarm", "leave"}, []string{"HEAD /_ping", "POST /v1.50/swarm/leave"}},
		{[]string{"swarm", "leave", "-f"}, []string{"HEAD /_ping", "POST /v1.50/swarm/leave?force=1"}},
		{[]string{"swarm", "update", "--cert-expiry", "48h"}, []string{"HEAD /_ping", "GET /v1.50/swarm",
			"POST /v1.50/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=false&version=11"}},
		{[]string{"info"}, []string{"HEAD /_ping", "GET /v1.50/info"}},
		{[]string{"version"}, []string{"HEAD /_ping", "GET /v1.50/version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fd := newFixtureDaemon(t)
			runCLI(t, fd.host, tt.args...)
			if got := fd.requests(); !slices.Equal(got, tt.want) {
				t.Fatalf("requests = %s\nwant       %s", fmtRequests(got), fmtRequests(tt.want))
			}
		})
	}
}

// TestRequestBodies checks the JSON each write sends.
func TestRequestBodies(t *testing.T) {
	tests := []struct {
		args  []string
		route string
		want  string
	}{
		{[]string{"swarm", "init"}, "POST /swarm/init",
			`{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","DataPathAddr":"","DataPathPort":0,"ForceNewCluster":false,` +
				`"Spec":{"Labels":null,"Orchestration":{},"Raft":{"ElectionTick":0,"HeartbeatTick":0},"Dispatcher":{},"CAConfig":{},` +
				`"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}},"AutoLockManagers":false,"Availability":"","DefaultAddrPool":[],"SubnetSize":24}`},
		{[]string{"swarm", "init", "--listen-addr", "10.0.0.1", "--advertise-addr", "eth0", "--availability", "Drain",
			"--task-history-limit", "3", "--force-new-cluster", "--dispatcher-heartbeat", "2s", "--snapshot-interval", "500",
			"--max-snapshots", "2", "--cert-expiry", "24h"}, "POST /swarm/init",
			`{"ListenAddr":"10.0.0.1:2377","AdvertiseAddr":"eth0","DataPathAddr":"","DataPathPort":0,"ForceNewCluster":true,` +
				`"Spec":{"Labels":null,"Orchestration":{"TaskHistoryRetentionLimit":3},"Raft":{"SnapshotInterval":500,"KeepOldSnapshots":2,"ElectionTick":0,"HeartbeatTick":0},` +
				`"Dispatcher":{"HeartbeatPeriod":2000000000},"CAConfig":{"NodeCertExpiry":86400000000000},` +
				`"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}},"AutoLockManagers":false,"Availability":"drain","DefaultAddrPool":[],"SubnetSize":24}`},
		{[]string{"swarm", "join", "--token", "SWMTKN-1-x", "--listen-addr", ":4000", "--availability", "pause", "10.0.0.1"}, "POST /swarm/join",
			`{"ListenAddr":"0.0.0.0:4000","AdvertiseAddr":"","DataPathAddr":"","RemoteAddrs":["10.0.0.1"],"JoinToken":"SWMTKN-1-x","Availability":"pause"}`},
		{[]string{"node", "promote", "worker2"}, "POST /nodes/" + idWorker1 + "/update",
			`{"Labels":{},"Role":"manager","Availability":"active"}`},
		{[]string{"node", "demote", "lead"}, "POST /nodes/" + idManager + "/update",
			`{"Name":"lead","Labels":{"ssd":"","zone":"a"},"Role":"worker","Availability":"active"}`},
		{[]string{"node", "update", "--role", "manager", "--availability", "drain", "--label-add", "k=v=w", "--label-add", "bare",
			"--label-rm", "zone", "lead"}, "POST /nodes/" + idManager + "/update",
			`{"Name":"lead","Labels":{"bare":"","k":"v=w","ssd":""},"Role":"manager","Availability":"drain"}`},
		{[]string{"swarm", "join-token", "--rotate", "worker"}, "POST /swarm/update", specJSON(t, fixtureSpec())},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fd := newFixtureDaemon(t)
			if _, errOut, code := runCLI(t, fd.host, tt.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := fd.body(tt.route); got != tt.want+"\n" && got != tt.want {
				t.Fatalf("body = %s\nwant   %s", got, tt.want)
			}
		})
	}
}

func specJSON(t *testing.T, s swarm.Spec) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSwarmUpdateMergesSpec(t *testing.T) {
	fd := newFixtureDaemon(t)
	out, errOut, code := runCLI(t, fd.host, "swarm", "update", "--task-history-limit", "0", "--snapshot-interval", "20", "--max-snapshots", "4")
	if out != "Swarm updated.\n" || code != 0 {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
	var sent swarm.Spec
	if err := json.Unmarshal([]byte(fd.body("POST /swarm/update")), &sent); err != nil {
		t.Fatal(err)
	}
	want := fixtureSpec()
	want.Orchestration.TaskHistoryRetentionLimit = ptr[int64](0)
	want.Raft.SnapshotInterval = 20
	want.Raft.KeepOldSnapshots = ptr[uint64](4)
	if specJSON(t, sent) != specJSON(t, want) {
		t.Fatalf("sent %s\nwant %s", specJSON(t, sent), specJSON(t, want))
	}
}

func TestHelp(t *testing.T) {
	fd := newFixtureDaemon(t)
	tests := []struct {
		args             []string
		stdout, stderr   string
		code             int
		noDaemonRequests bool
	}{
		{args: []string{"swarm", "update"}, stdout: "Usage:  shoal swarm update [OPTIONS]\n\nUpdate the swarm\n"},
		{args: []string{"node"}, stderr: "Usage:  shoal node COMMAND\n\nManage Swarm nodes\n"},
		{args: []string{"node", "ls", "--help"}, stdout: "Usage:  shoal node ls [OPTIONS]\n\nList nodes in the swarm\n\nAliases:\n  shoal node ls, shoal node list\n"},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, fd.host, tt.args...)
		if !strings.HasPrefix(out, tt.stdout) || !strings.HasPrefix(errOut, tt.stderr) || code != tt.code ||
			(tt.stdout == "" && out != "") || (tt.stderr == "" && errOut != "") {
			t.Errorf("%q: got stdout %q stderr %q exit %d", tt.args, out, errOut, code)
		}
	}
	if reqs := fd.requests(); len(reqs) != 0 {
		t.Fatalf("help contacted the daemon: %s", fmtRequests(reqs))
	}
}

func TestVersion(t *testing.T) {
	fd := newFixtureDaemon(t)
	out, errOut, code := runCLI(t, fd.host, "version")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Client:\n Version:           0.0.0-dev\n API version:       1.50\n Go version:        go",
		"\n Context:           default\n\nServer: shoal\n Engine:\n  Version:          0.1.0\n  API version:      1.50 (minimum version 1.24)\n" +
			"  Go version:       go1.26.8\n  Git commit:       abc1234\n  Built:            Sun Jun  1 10:30:00 2025\n  OS/Arch:          linux/amd64\n  Experimental:     false\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runCLI(t, fd.host, "version", "--format", "{{.Server.Version}} {{.Client.APIVersion}}")
	if out != "0.1.0 1.50\n" || code != 0 {
		t.Errorf("formatted version = %q, exit %d", out, code)
	}
}

func TestVersionWithoutDaemon(t *testing.T) {
	dead := "unix://" + filepath.Join(t.TempDir(), "dead.sock")
	out, errOut, code := runCLI(t, dead, "version")
	if !strings.HasPrefix(out, "Client:\n") || strings.Contains(out, "Server:") || code != 1 ||
		errOut != "Cannot connect to the shoal daemon at "+dead+". Is the daemon running?\n" {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
}

func TestCompleteAddr(t *testing.T) {
	good := map[string]string{
		"":                 "0.0.0.0:2377",
		"10.0.0.1":         "10.0.0.1:2377",
		":4000":            "0.0.0.0:4000",
		"eth0":             "eth0:2377",
		"eth0:2400":        "eth0:2400",
		"tcp://10.0.0.1:5": "10.0.0.1:5",
		"[::1]":            "[::1]:2377",
		"10.0.0.1:":        "10.0.0.1:2377",
	}
	for in, want := range good {
		if got, err := completeAddr(in); err != nil || got != want {
			t.Errorf("completeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"udp://1.2.3.4:5", "1.2.3.4:port", "1.2.3.4:99999", "h:1/x"} {
		if got, err := completeAddr(bad); err == nil {
			t.Errorf("completeAddr(%q) = %q, want an error", bad, got)
		}
	}
}

func TestNaturalCompare(t *testing.T) {
	sorted := []string{"", "1", "01", "2", "10", "a", "node1", "node01", "node2", "node9", "node10", "node10a", "nodeb", "worker"}
	for i := range sorted {
		for j := range sorted {
			got := naturalCompare(sorted[i], sorted[j])
			if (i < j && got >= 0) || (i > j && got <= 0) || (i == j && got != 0) {
				t.Errorf("naturalCompare(%q, %q) = %d", sorted[i], sorted[j], got)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	apiErr := &client.Error{StatusCode: 404, Message: "node x not found"}
	tests := []struct {
		err  error
		want string
	}{
		{apiErr, "Error response from daemon: node x not found"},
		{fmt.Errorf("could not fetch unlock key: %w", apiErr), "could not fetch unlock key: Error response from daemon: node x not found"},
		{errors.Join(apiErr, errors.New("plain")), "Error response from daemon: node x not found\nplain"},
		{&client.Error{StatusCode: 503, Message: "request returned 503", NoBody: true}, "request returned 503"},
		{errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		if got := describe(tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

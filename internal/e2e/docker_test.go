package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDockerCLI drives a shoal swarm with the unmodified docker CLI, every
// command shoal supports, and checks what it prints.
func TestDockerCLI(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH: skipping the docker compatibility test")
	}
	t.Parallel()
	c := newCluster(t, 4)
	dev01, dev02, dev03, dev04 := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
	for _, n := range c.nodes {
		n.port = freePort(t, n.ip)
	}
	ids := map[string]string{}

	t.Run("swarm init", func(t *testing.T) {
		out := dev01.mustDocker(t, "swarm", "init", "--listen-addr", dev01.addr(), "--advertise-addr", dev01.addr())
		m := regexp.MustCompile(`^Swarm initialized: current node \((\w+)\) is now a manager\.\n`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("swarm init printed:\n%s", out)
		}
		ids["dev01"] = m[1]
		token := strings.TrimSpace(dev01.mustDocker(t, "swarm", "join-token", "-q", "worker"))
		if err := hasLines(out, "To add a worker to this swarm, run the following command:",
			"docker swarm join --token "+token+" "+dev01.addr(),
			"To add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions."); err != nil {
			t.Error(err)
		}
	})

	t.Run("swarm join-token", func(t *testing.T) {
		for _, role := range []string{"worker", "manager"} {
			token := strings.TrimSpace(dev01.mustDocker(t, "swarm", "join-token", "-q", role))
			if !regexp.MustCompile(`^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$`).MatchString(token) {
				t.Errorf("join-token -q %s printed %q", role, token)
			}
			out := dev01.mustDocker(t, "swarm", "join-token", role)
			if err := hasLines(out, "To add a "+role+" to this swarm, run the following command:",
				"docker swarm join --token "+token+" "+dev01.addr()); err != nil {
				t.Error(err)
			}
		}
		old := strings.TrimSpace(dev01.mustDocker(t, "swarm", "join-token", "-q", "worker"))
		out := dev01.mustDocker(t, "swarm", "join-token", "--rotate", "worker")
		fresh := strings.TrimSpace(dev01.mustDocker(t, "swarm", "join-token", "-q", "worker"))
		if fresh == old {
			t.Errorf("--rotate kept the worker token %s", old)
		}
		if err := hasLines(out, "Successfully rotated worker join token.", "docker swarm join --token "+fresh+" "+dev01.addr()); err != nil {
			t.Error(err)
		}
		out = dev01.mustDocker(t, "swarm", "join-token", "-q", "--rotate", "manager")
		if tok := strings.TrimSpace(out); !strings.HasPrefix(tok, "SWMTKN-1-") || strings.Contains(tok, "\n") {
			t.Errorf("join-token -q --rotate manager printed %q", out)
		}
	})

	t.Run("swarm join", func(t *testing.T) {
		worker := strings.TrimSpace(dev01.mustDocker(t, "swarm", "join-token", "-q", "worker"))
		for _, n := range []*node{dev02, dev03, dev04} {
			out := n.mustDocker(t, "swarm", "join", "--token", worker, "--listen-addr", n.addr(), "--advertise-addr", n.addr(), dev01.addr())
			if out != "This node joined a swarm as a worker.\n" {
				t.Errorf("swarm join on %s printed %q", n.name, out)
			}
		}
		c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "", "dev03": "", "dev04": ""})
	})

	t.Run("node ls", func(t *testing.T) {
		out := dev01.mustDocker(t, "node", "ls")
		if err := checkHeader(out, "ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"); err != nil {
			t.Error(err)
		}
		tb := parseTable(out)
		if len(tb) != 4 {
			t.Fatalf("node ls shows %d nodes:\n%s", len(tb), out)
		}
		wantRow(t, tb, "dev01", map[string]string{"ID": ids["dev01"] + " *", "STATUS": "Ready", "AVAILABILITY": "Active", "MANAGER STATUS": "Leader"})
		for _, name := range []string{"dev02", "dev03", "dev04"} {
			wantRow(t, tb, name, map[string]string{"STATUS": "Ready", "AVAILABILITY": "Active", "MANAGER STATUS": ""})
			row, _ := tb.row("HOSTNAME", name)
			ids[name] = row["ID"]
		}

		quiet := strings.Fields(dev01.mustDocker(t, "node", "ls", "-q"))
		want := []string{ids["dev01"], ids["dev02"], ids["dev03"], ids["dev04"]}
		slices.Sort(quiet)
		slices.Sort(want)
		if !slices.Equal(quiet, want) {
			t.Errorf("node ls -q printed %q, want the IDs %q", quiet, want)
		}
		managers := parseTable(dev01.mustDocker(t, "node", "ls", "--filter", "role=manager"))
		if len(managers) != 1 || managers[0]["HOSTNAME"] != "dev01" {
			t.Errorf("node ls --filter role=manager: %v", managers)
		}
		names := strings.Fields(dev01.mustDocker(t, "node", "ls", "--format", "{{.Hostname}}"))
		slices.Sort(names)
		if !slices.Equal(names, []string{"dev01", "dev02", "dev03", "dev04"}) {
			t.Errorf("node ls --format {{.Hostname}} printed %q", names)
		}
	})

	t.Run("node inspect", func(t *testing.T) {
		var nodes []struct {
			ID          string
			Description struct{ Hostname string }
			Spec        struct{ Role string }
		}
		out := dev01.mustDocker(t, "node", "inspect", "self")
		if err := json.Unmarshal([]byte(out), &nodes); err != nil || len(nodes) != 1 {
			t.Fatalf("node inspect self printed %s (%v)", out, err)
		}
		if n := nodes[0]; n.ID != ids["dev01"] || n.Description.Hostname != "dev01" || n.Spec.Role != "manager" {
			t.Errorf("node inspect self: %+v", n)
		}
		out = dev01.mustDocker(t, "node", "inspect", "--pretty", "self")
		if err := hasLines(out, "ID: "+ids["dev01"], "Hostname: dev01", "State: Ready", "Availability: Active"); err != nil {
			t.Error(err)
		}
		if err := hasLines(block(out, "Manager Status:"), "Address: "+dev01.addr(), "Raft Status: Reachable", "Leader: Yes"); err != nil {
			t.Errorf("Manager Status block: %v", err)
		}
	})

	t.Run("node promote and demote", func(t *testing.T) {
		if out := dev01.mustDocker(t, "node", "promote", "dev02"); out != "Node dev02 promoted to a manager in the swarm.\n" {
			t.Errorf("node promote printed %q", out)
		}
		waitNodeRow(t, dev01, "dev02", "Ready", "Reachable")
		managers := parseTable(dev01.mustDocker(t, "node", "ls", "--filter", "role=manager"))
		if len(managers) != 2 {
			t.Errorf("node ls --filter role=manager after the promotion: %v", managers)
		}
		if out := dev01.mustDocker(t, "node", "demote", "dev02"); out != "Manager dev02 demoted in the swarm.\n" {
			t.Errorf("node demote printed %q", out)
		}
		waitNodeRow(t, dev01, "dev02", "Ready", "")
	})

	t.Run("node update", func(t *testing.T) {
		if out := dev01.mustDocker(t, "node", "update", "--availability", "drain", "--label-add", "a=b", "dev02"); out != "dev02\n" {
			t.Errorf("node update printed %q", out)
		}
		got := strings.TrimSpace(dev01.mustDocker(t, "node", "inspect", "--format", "{{.Spec.Availability}} {{json .Spec.Labels}}", "dev02"))
		if got != `drain {"a":"b"}` {
			t.Errorf("after drain and label-add: %s", got)
		}
		wantRow(t, parseTable(dev01.mustDocker(t, "node", "ls")), "dev02", map[string]string{"AVAILABILITY": "Drain"})
		dev01.mustDocker(t, "node", "update", "--label-rm", "a", "--availability", "active", "dev02")
		got = strings.TrimSpace(dev01.mustDocker(t, "node", "inspect", "--format", "{{.Spec.Availability}} {{len .Spec.Labels}}", "dev02"))
		if got != "active 0" {
			t.Errorf("after label-rm and active: %s", got)
		}
	})

	t.Run("swarm update and info", func(t *testing.T) {
		if out := dev01.mustDocker(t, "swarm", "update", "--task-history-limit", "3"); out != "Swarm updated.\n" {
			t.Errorf("swarm update printed %q", out)
		}
		out := dev01.mustDocker(t, "info")
		sw := block(out, "Swarm: active")
		if err := hasLines(sw, "NodeID: "+ids["dev01"], "Is Manager: true", "Managers: 1", "Nodes: 4",
			"Task History Retention Limit: 3", "Heartbeat Period: 1 second", "Expiry Duration: 3 months",
			"Node Address: "+dev01.ip, "Manager Addresses:", dev01.addr()); err != nil {
			t.Errorf("docker info on the manager: %v", err)
		}
		out = dev03.mustDocker(t, "info")
		if err := hasLines(block(out, "Swarm: active"), "NodeID: "+ids["dev03"], "Is Manager: false", "Node Address: "+dev03.ip, dev01.addr()); err != nil {
			t.Errorf("docker info on a worker: %v", err)
		}
	})

	t.Run("version", func(t *testing.T) {
		out := dev01.mustDocker(t, "version")
		server := block(out, "Engine:")
		if !strings.Contains(out, "\nServer:") || !strings.Contains(server, "API version:") || !strings.Contains(server, "Version:") {
			t.Errorf("docker version printed:\n%s", out)
		}
		api := strings.TrimSpace(dev01.mustDocker(t, "version", "--format", "{{.Server.APIVersion}}"))
		if api != "1.50" {
			t.Errorf("server API version %q, want 1.50", api)
		}
	})

	t.Run("node rm", func(t *testing.T) {
		dev03.kill(t)
		waitNodeRow(t, dev01, "dev03", "Down", "")
		if out := dev01.mustDocker(t, "node", "rm", "dev03"); out != "dev03\n" {
			t.Errorf("node rm printed %q", out)
		}
		r := dev01.docker("node", "rm", "dev04")
		if r.code != 1 || !strings.Contains(r.stderr, "is not down and can't be removed") {
			t.Errorf("node rm of a running node: %v", r)
		}
		if out := dev01.mustDocker(t, "node", "rm", "--force", "dev04"); out != "dev04\n" {
			t.Errorf("node rm --force printed %q", out)
		}
		names := strings.Fields(dev01.mustDocker(t, "node", "ls", "--format", "{{.Hostname}}"))
		slices.Sort(names)
		if !slices.Equal(names, []string{"dev01", "dev02"}) {
			t.Errorf("after node rm: node ls shows %q", names)
		}
	})

	t.Run("swarm leave", func(t *testing.T) {
		r := run(leaveTimeout, cliEnv(c.dockerConfig), "docker", "-H", dev02.host(), "swarm", "leave")
		if err := r.ok(); err != nil || r.stdout != "Node left the swarm.\n" {
			t.Errorf("swarm leave on a worker: %v", r)
		}
		r = run(leaveTimeout, cliEnv(c.dockerConfig), "docker", "-H", dev01.host(), "swarm", "leave")
		if r.code != 1 || !strings.Contains(r.stderr, "Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.") {
			t.Errorf("swarm leave on the last manager without --force: %v", r)
		}
		r = run(leaveTimeout, cliEnv(c.dockerConfig), "docker", "-H", dev01.host(), "swarm", "leave", "--force")
		if err := r.ok(); err != nil || r.stdout != "Node left the swarm.\n" {
			t.Errorf("swarm leave --force on the last manager: %v", r)
		}
		if err := hasLines(dev01.mustDocker(t, "info"), "Swarm: inactive"); err != nil {
			t.Errorf("after leave --force: %v", err)
		}
	})
}

// checkHeader checks the first line of a table for the given column names,
// in order, separated by blanks.
func checkHeader(out string, cols ...string) error {
	header, _, _ := strings.Cut(out, "\n")
	if got := squashColumns(header); got != strings.Join(cols, "|") {
		return fmt.Errorf("header %q, want columns %q", header, cols)
	}
	return nil
}

// squashColumns turns "ID   HOSTNAME   MANAGER STATUS" into
// "ID|HOSTNAME|MANAGER STATUS".
func squashColumns(line string) string {
	return strings.Join(columnSep.FindAllString(line, -1), "|")
}

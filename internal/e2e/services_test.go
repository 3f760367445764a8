package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDockerCLIServices drives services on a real swarm with the unmodified
// docker CLI: create (converging, without --detach), ls, ps, inspect
// --pretty, logs, scale, update --force, rollback, node ps, rm.
func TestDockerCLIServices(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH: skipping the docker compatibility test")
	}
	t.Parallel()
	c := newSwarm(t, 1, 2)
	d := c.nodes[0]

	out := d.mustDocker(t, "service", "create", "--name", "web", "--replicas", "3", "--update-monitor", "1s",
		"-e", "WHO={{.Node.Hostname}}", "busybox", "sh", "-c", `echo "hello from $WHO"; exec sleep 1000`)
	if !strings.Contains(out, "verify: Service") || !strings.Contains(out, "converged") {
		t.Fatalf("create did not converge:\n%s", out)
	}
	waitSlots(t, d, "web", map[int]string{}, 3)

	ls := d.mustDocker(t, "service", "ls")
	if err := hasLines(ls, "ID             NAME      MODE         REPLICAS   IMAGE            PORTS"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(ls, "web       replicated   3/3        busybox:latest") {
		t.Errorf("service ls:\n%s", ls)
	}
	id := strings.TrimSpace(d.mustDocker(t, "service", "ls", "-q"))
	if len(id) != 12 {
		t.Errorf("service ls -q printed %q, want one 12-character ID", id)
	}
	if out := d.mustDocker(t, "service", "ls", "--filter", "name=web", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}"); strings.TrimSpace(out) != "web replicated 3/3" {
		t.Errorf("service ls --filter --format printed %q", out)
	}
	if out := d.mustDocker(t, "service", "ls", "--filter", "name=nosuch", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("service ls --filter name=nosuch printed %q", out)
	}
	if ids := strings.Fields(d.mustDocker(t, "service", "ps", "-q", "--filter", "desired-state=running", "web")); len(ids) != 3 {
		t.Errorf("service ps -q --filter desired-state=running: %v", ids)
	}
	if out := d.mustDocker(t, "service", "ps", "--format", "{{.Name}} {{.DesiredState}}", "web"); !strings.Contains(out, "web.1 Running") {
		t.Errorf("service ps --format printed %q", out)
	}
	if r := d.docker("service", "ps", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such service: nosuch") {
		t.Errorf("service ps nosuch: %v", r)
	}
	ps := parseTable(d.mustDocker(t, "service", "ps", "web"))
	if len(ps) != 3 {
		t.Fatalf("service ps rows: %v", ps)
	}
	for _, row := range ps {
		if row["DESIRED STATE"] != "Running" || !strings.HasPrefix(row["CURRENT STATE"], "Running") {
			t.Errorf("service ps row %v", row)
		}
	}
	pretty := d.mustDocker(t, "service", "inspect", "--pretty", "web")
	for _, want := range []string{"Name:\t\tweb", "Replicated", "Replicas:\t3", "Image:\t\tbusybox:latest"} {
		if !strings.Contains(pretty, want) {
			t.Errorf("inspect --pretty lacks %q:\n%s", want, pretty)
		}
	}
	eventually(t, converge, func() error {
		r := d.docker("service", "logs", "web")
		for _, n := range c.nodes {
			if !strings.Contains(r.stdout, "@"+n.name) || !strings.Contains(r.stdout, "| hello from "+n.name) {
				return fmt.Errorf("service logs lack the line of %s:\n%s", n.name, r.stdout)
			}
		}
		return nil
	})

	out = d.mustDocker(t, "service", "scale", "web=5")
	if !strings.HasPrefix(out, "web scaled to 5") || !strings.Contains(out, "converged") {
		t.Errorf("scale printed:\n%s", out)
	}
	waitSlots(t, d, "web", map[int]string{}, 5)

	out = d.mustDocker(t, "service", "update", "--force", "web")
	if !strings.Contains(out, "verify: Service web converged") {
		t.Errorf("update --force printed:\n%s", out)
	}
	out = d.mustDocker(t, "service", "rollback", "web")
	if !strings.Contains(out, "rollback:") && !strings.Contains(out, "converged") {
		t.Errorf("rollback printed:\n%s", out)
	}
	waitSlots(t, d, "web", map[int]string{}, 5)

	nps := d.mustDocker(t, "node", "ps", "dev02")
	if !strings.Contains(nps, "web.") || !strings.Contains(nps, "dev02") {
		t.Errorf("node ps dev02:\n%s", nps)
	}

	if out := d.mustDocker(t, "service", "rm", "web"); strings.TrimSpace(out) != "web" {
		t.Errorf("service rm printed %q", out)
	}
	eventually(t, converge, func() error { return noTasks(d, "web") })
	if r := d.docker("service", "inspect", "web"); r.code != 1 || !strings.Contains(r.stderr, "no such service: web") {
		t.Errorf("inspect after rm: %v", r)
	}
}

// TestServiceBadInput: each bad request gets a clear error and changes
// nothing.
func TestServiceBadInput(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 0)
	d := c.nodes[0]
	d.mustShoal(t, "service", "create", "-d", "--name", "keep", "--replicas", "1", "busybox", "sleep", taskMarker())

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown service", []string{"service", "scale", "nosuch=2"}, "service nosuch not found"},
		{"unknown node", []string{"node", "ps", "nosuch"}, "node nosuch not found"},
		{"negative replicas", []string{"service", "create", "--name", "x", "--replicas", "-1", "busybox", "sleep", "1"}, "invalid argument \"-1\" for \"--replicas\""},
		{"global with replicas", []string{"service", "create", "--name", "x", "--mode", "global", "--replicas", "2", "busybox", "sleep", "1"}, "replicas can only be used with replicated or replicated-job mode"},
		{"bad constraint", []string{"service", "create", "-d", "--name", "x", "--constraint", "node.role=manager", "busybox", "sleep", "1"}, "constraint expected one operator from ==, !="},
		{"no command on a process node", []string{"service", "create", "-d", "--name", "x", "busybox"}, "has no command"},
		{"name taken", []string{"service", "create", "-d", "--name", "keep", "busybox", "sleep", "1"}, "name conflicts with an existing object: service keep already exists"},
	}
	for _, tc := range cases {
		r := d.shoal(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want a failure saying %q, got %v", tc.name, tc.want, r)
		}
	}

	// A stale version: the update a second client made wins, the first
	// is refused.
	svc := d.mustShoal(t, "service", "inspect", "--format", "{{.Version.Index}}", "keep")
	d.mustShoal(t, "service", "update", "-d", "--env-add", "A=1", "keep")
	body := `{"Name":"keep","TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","9"]}},"Mode":{"Replicated":{"Replicas":1}}}`
	code, msg := rawPost(t, d, "/v1.50/services/keep/update?version="+strings.TrimSpace(svc), body)
	if code != http.StatusInternalServerError || !strings.Contains(msg, "update out of sequence") {
		t.Errorf("stale update: %d %s", code, msg)
	}
	// Malformed JSON.
	code, msg = rawPost(t, d, "/v1.50/services/create", `{"Name":`)
	if code != http.StatusBadRequest || !strings.Contains(msg, "message") {
		t.Errorf("malformed JSON: %d %s", code, msg)
	}

	ls := d.mustShoal(t, "service", "ls", "-q")
	if n := len(strings.Fields(ls)); n != 1 {
		t.Errorf("after the refusals there are %d services, want only keep:\n%s", n, ls)
	}
	if env := d.mustShoal(t, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Env}}", "keep"); !strings.Contains(env, "A=1") {
		t.Errorf("the accepted update was lost: env %s", env)
	}
}

// rawPost sends a JSON body to the node's API socket and returns the status
// and body.
func rawPost(t testing.TB, n *node, path, body string) (int, string) {
	t.Helper()
	tr := &http.Transport{Dial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", n.sock) }}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: tr}).Post("http://shoal"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

package apiserver_test

import (
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

func needDockerCLI(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the docker CLI")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI on PATH")
	}
}

// TestDockerCLIServices drives the service and task routes with the stock
// docker CLI over fake data.
func TestDockerCLIServices(t *testing.T) {
	needDockerCLI(t)
	f, fx := newServiceLeader(t)
	sock := serveUnix(t, f.handler)
	short := func(id any) string {
		var s string
		switch v := id.(type) {
		case swarm.ServiceID:
			s = string(v)
		case swarm.TaskID:
			s = string(v)
		}
		return s[:12]
	}

	tests := []struct {
		name string
		args []string
		exit int
		// want are regular expressions matched against stdout (exit 0) or
		// stderr.
		want []string
	}{
		{"service ls", []string{"service", "ls"}, 0, []string{
			`ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS`,
			short(pingID) + `\s+ping\s+replicated\s+2/2\s+alpine:latest`,
			short(webID) + `\s+web\s+global\s+1/1\s+nginx:1.27`}},
		{"service ls -q", []string{"service", "ls", "-q"}, 0, []string{short(pingID), short(webID)}},
		{"service ps", []string{"service", "ps", "ping"}, 0, []string{
			`ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR\s+PORTS`,
			short(ping1ID) + `\s+ping\.1\s+alpine:latest\s+fake-manager\s+Running\s+Running \d+ seconds ago`,
			short(oldID) + `\s+\\_ ping\.1\s+alpine:latest\s+fake-manager\s+Shutdown\s+Shutdown`,
			short(ping2ID) + `\s+ping\.2\s+alpine:latest\s+worker1\s+Running\s+Running`}},
		{"service ps global", []string{"service", "ps", "--no-trunc", "web"}, 0, []string{
			string(web1ID) + `\s+web\.` + string(leaderID) + `\s+nginx:1.27\s+fake-manager\s+Running`}},
		{"service ps missing", []string{"service", "ps", "nosuch"}, 1, []string{"no such service: nosuch"}},
		{"service inspect pretty", []string{"service", "inspect", "--pretty", "ping"}, 0, []string{
			`ID:\s+` + string(pingID), `Name:\s+ping`, `Labels:`, `team=a`,
			`Mode:\s+Replicated`, `Replicas:\s+2`, `Image:\s+alpine:latest`, `Args:\s+ping docker.com`,
			`Env:\s+A=1`, `Endpoint Mode:\s+vip`}},
		{"service inspect json", []string{"service", "inspect", "--format", "{{.Spec.Name}} {{.Version.Index}} {{.Spec.Mode.Replicated.Replicas}} {{.CreatedAt}}", "ping"}, 0, []string{
			`^ping 36 2 2025-06-01 12:00:00.000000123 \+0000 UTC\n$`}},
		{"service inspect missing", []string{"service", "inspect", "nosuch"}, 1, []string{"no such service: nosuch"}},
		{"service logs", []string{"service", "logs", "ping"}, 0, []string{
			`ping\.1\.` + short(ping1ID) + `@fake-manager\s+\| hello 1\n`,
			`ping\.1\.` + short(ping1ID) + `@fake-manager\s+\| hello 3\n`}},
		{"service logs timestamps raw", []string{"service", "logs", "--raw", "-t", "ping"}, 0, []string{
			`^2025-06-01T12:00:00.000000123Z hello 1\n2025-06-01T12:00:02.000000123Z hello 3\n$`}},
		{"task logs", []string{"service", "logs", string(ping1ID)}, 0, []string{
			`ping\.1\.` + short(ping1ID) + `@fake-manager\s+\| hello 1\n`}},
		{"service logs missing", []string{"service", "logs", "nosuch"}, 1, []string{"no such task or service: nosuch"}},
		{"service create detached", []string{"service", "create", "-d", "--name", "made", "--replicas", "3", "--env", "B=2", "alpine", "sleep", "1d"}, 0, []string{
			"^" + id25("newsvcmade") + "\n$"}},
		{"service create conflict", []string{"service", "create", "-d", "--name", "ping", "alpine"}, 1, []string{
			"Error response from daemon: rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ping already exists"}},
		{"service scale", []string{"service", "scale", "-d", "ping=3"}, 0, []string{"ping scaled to 3"}},
		{"service update force", []string{"service", "update", "-d", "--force", "ping"}, 0, []string{"^ping\n$"}},
		{"service rollback", []string{"service", "rollback", "-d", "ping"}, 0, []string{"^ping\n$"}},
		{"service rm", []string{"service", "rm", "web", "nosuch"}, 1, []string{"Error response from daemon: service nosuch not found"}},
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
				if !regexp.MustCompile(w).MatchString(text) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			t.Logf("docker %s:\n%s%s", strings.Join(tt.args, " "), res.stdout, res.stderr)
		})
	}

	// Stderr frames go to the CLI's stderr.
	res := runDocker(t, sock, "service", "logs", "ping")
	if want := "ping.2." + short(ping2ID) + "@worker1    | oops 2\n"; res.stderr != want || strings.Contains(res.stdout, "oops") {
		t.Errorf("service logs: stderr %q, want %q; stdout %q", res.stderr, want, res.stdout)
	}

	fx.mu.Lock()
	defer fx.mu.Unlock()
	checkCLIWrites(t, fx)
}

// checkCLIWrites checks what the CLI's writes above asked of the control
// API. The update and scale echo the spec the CLI read: apart from the
// changed field it must equal the stored one.
func checkCLIWrites(t *testing.T, fx *serviceFixture) {
	t.Helper()
	wantCreate := swarm.ServiceSpec{
		Name: "made", Mode: swarm.ModeReplicated, Replicas: 3,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "alpine:latest", Args: []string{"sleep", "1d"}, Env: []string{"B=2"}}},
	}
	if len(fx.created) < 1 || !reflect.DeepEqual(fx.created[0], wantCreate) {
		t.Errorf("create: CreateService(%+v)\nwant %+v", fx.created, wantCreate)
	}
	scaled, forced := pingSpec(), pingSpec()
	scaled.Replicas = 3
	forced.Task.ForceUpdate = 1
	want := []serviceUpdate{
		{ref: string(pingID), version: 36, spec: scaled},
		{ref: string(pingID), version: 36, spec: forced},
		{ref: string(pingID), version: 36, spec: pingSpec()},
	}
	want[2].opts.Rollback = true
	if !reflect.DeepEqual(fx.updates, want) {
		t.Errorf("updates\n got %+v\nwant %+v", fx.updates, want)
	}
	if want := []string{"web", "nosuch"}; !reflect.DeepEqual(fx.removed, want) {
		t.Errorf("removed %v, want %v", fx.removed, want)
	}
}

// TestDockerCLIServiceCreateConverges runs a create without -d: the CLI
// resolves the image through /distribution, then polls the service, its
// up-to-date tasks and the nodes until the tasks run and stay running for
// the update monitor period.
func TestDockerCLIServiceCreateConverges(t *testing.T) {
	needDockerCLI(t)
	f, fx := newServiceLeader(t)
	sock := serveUnix(t, f.handler)
	start := time.Now()
	res := runDocker(t, sock, "service", "create", "--name", "conv", "--replicas", "2", "--update-monitor", "300ms", "alpine", "ping", "x")
	if res.exit != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.exit, res.stdout, res.stderr)
	}
	id := id25("newsvcconv")
	for _, w := range []string{id + "\n", "overall progress: 2 out of 2 tasks", "verify: Service " + id + " converged"} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, res.stdout)
		}
	}
	if res.stderr != "" {
		t.Errorf("stderr (an image resolution warning?):\n%s", res.stderr)
	}
	t.Logf("converged in %v:\n%s", time.Since(start), res.stdout)

	fx.mu.Lock()
	defer fx.mu.Unlock()
	if got := fx.created[0]; got.Task.Container.Image != "alpine:latest" || got.Update == nil || got.Update.Monitor != 300*time.Millisecond {
		t.Errorf("created %+v (image unpinned with a tag, monitor 300ms)", got)
	}
	upToDate := false
	for _, fl := range fx.taskFilters {
		if reflect.DeepEqual(fl, map[string][]string{"_up-to-date": {"true"}, "service": {id}}) {
			upToDate = true
		}
	}
	if !upToDate {
		t.Errorf("the monitor's task filters never reached the control API: %v", fx.taskFilters)
	}
}

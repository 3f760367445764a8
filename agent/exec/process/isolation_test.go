//go:build linux

package process

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the daemon isolates tasks only as root")
	}
}

// output runs a task and returns its stdout lines; it must exit 0.
func output(t *testing.T, e *Executor, task *swarm.Task) []string {
	t.Helper()
	c, err := run(t, e, task)
	got := logs(t, c, exec.LogOptions{})
	if err != nil {
		t.Fatalf("task: %v\nstdout %q\nstderr %q", err, got.Lines(exec.Stdout), got.Lines(exec.Stderr))
	}
	return got.Lines(exec.Stdout)
}

// TestUserNobody: a task as nobody runs as uid 65534 in its own work
// directory, under a state directory only root can enter (the daemon's data
// root is 0700). Before, the fork changed user before entering the
// directory and the start failed with "permission denied".
func TestUserNobody(t *testing.T) {
	needRoot(t)
	e := newExecutor(t, Config{StateDir: filepath.Join(t.TempDir(), "private", "tasks")})
	os.Chmod(filepath.Dir(e.cfg.StateDir), 0o700)
	task := newTask("t1", "sh", "-c", "id -u; id -g; pwd; echo x > file && cat file")
	task.Spec.Container.User = "nobody"
	got := output(t, e, task)
	want := []string{"65534", "", filepath.Join(e.cfg.StateDir, "t1", "work"), "x"}
	if len(got) != 4 || got[0] != want[0] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("output %q, want uid 65534, dir %s, a file written", got, want[2])
	}
}

// TestCapabilities: --cap-drop ALL leaves a root task no capability, not
// even in its bounding set; with --user nobody, --cap-add gives that one
// capability (ambient), and only it.
func TestCapabilities(t *testing.T) {
	needRoot(t)
	e := newExecutor(t, Config{})
	caps := "grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status | tr -d '\\t'"
	task := newTask("t1", "sh", "-c", caps)
	task.Spec.Container.CapabilityDrop = []string{"ALL"}
	got := strings.Join(output(t, e, task), " ")
	if got != "CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000" {
		t.Fatalf("cap-drop ALL: %s", got)
	}
	task = newTask("t2", "sh", "-c", caps)
	task.Spec.Container.User = "nobody"
	task.Spec.Container.CapabilityDrop = []string{"ALL"}
	task.Spec.Container.CapabilityAdd = []string{"net_bind_service"}
	got = strings.Join(output(t, e, task), " ")
	if got != "CapEff:0000000000000400 CapBnd:0000000000000400 CapAmb:0000000000000400" {
		t.Fatalf("nobody with cap-add NET_BIND_SERVICE: %s", got)
	}
	task = newTask("t3", "sh", "-c", caps)
	task.Spec.Container.CapabilityDrop = []string{"CAP_SYS_ADMIN", "net_admin"}
	got = strings.Join(output(t, e, task), " ")
	if strings.Contains(got, "CapEff:000001ffffffffff") || !strings.HasPrefix(got, "CapEff:") {
		t.Fatalf("cap-drop SYS_ADMIN: %s", got)
	}
	var eff uint64
	for _, f := range strings.Fields(got) {
		if v, ok := strings.CutPrefix(f, "CapEff:"); ok {
			eff = parseHex(t, v)
		}
	}
	if eff&(1<<21) != 0 || eff&(1<<12) != 0 || eff&1 == 0 {
		t.Fatalf("cap-drop SYS_ADMIN,NET_ADMIN: CapEff %x", eff)
	}
}

func parseHex(t *testing.T, s string) uint64 {
	var v uint64
	for _, r := range s {
		d := strings.IndexRune("0123456789abcdef", r)
		if d < 0 {
			t.Fatalf("not hex: %q", s)
		}
		v = v<<4 | uint64(d)
	}
	return v
}

// TestUlimits: the task's limits are set before its command runs.
func TestUlimits(t *testing.T) {
	needRoot(t)
	e := newExecutor(t, Config{})
	task := newTask("t1", "sh", "-c", "ulimit -Sn; ulimit -Hn; grep 'Max core' /proc/self/limits | tr -s ' '")
	task.Spec.Container.Ulimits = []swarm.Ulimit{{Name: "nofile", Soft: 123, Hard: 456}, {Name: "core", Soft: 0, Hard: -1}}
	got := output(t, e, task)
	if strings.Join(got, "|") != "123|456|Max core file size 0 unlimited bytes " {
		t.Fatalf("limits %q", got)
	}
}

// TestReadOnlyAndMounts: --read-only makes the task's / read-only (and
// only the task's), a tmpfs mount stays writable, a read-only bind mount
// shows the source's files and refuses writes.
func TestReadOnlyAndMounts(t *testing.T) {
	needRoot(t)
	e := newExecutor(t, Config{})
	src, target, scratch := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "hello"), []byte("from the host\n"), 0o644)
	script := `touch /shoal-ro-probe 2>/dev/null && echo root-writable || echo root-read-only
echo x > /dev/null && echo dev-ok
cat ` + target + `/hello
touch ` + target + `/new 2>/dev/null && echo bind-writable || echo bind-read-only
touch ` + scratch + `/new && echo tmpfs-writable`
	task := newTask("t1", "sh", "-c", script)
	task.Spec.Container.ReadOnly = true
	task.Spec.Container.Mounts = []swarm.Mount{
		{Type: swarm.MountBind, Source: src, Target: target, ReadOnly: true},
		{Type: swarm.MountTmpfs, Target: scratch, TmpfsSize: 1 << 20},
	}
	got := strings.Join(output(t, e, task), "|")
	if got != "root-read-only|dev-ok|from the host|bind-read-only|tmpfs-writable" {
		t.Fatalf("output %q", got)
	}
	// Nothing reached the host: its root is writable, the tmpfs is gone.
	if fileExists(filepath.Join(scratch, "new")) || fileExists(filepath.Join(target, "hello")) {
		t.Fatal("the task's mounts leaked to the host")
	}
	f := filepath.Join(e.cfg.StateDir, "probe")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatalf("the host's filesystem is no longer writable: %v", err)
	}
}

// TestIsolationRefused: what a node cannot honour rejects the task with a
// reason naming it, and nothing starts.
func TestIsolationRefused(t *testing.T) {
	e := newExecutor(t, Config{})
	e.root = false // as a daemon that is not root
	uid := os.Geteuid()
	other := "65534"
	if uid == 65534 {
		other = "0"
	}
	tests := []struct {
		name string
		edit func(*swarm.ContainerSpec)
		want string
	}{
		{"sysctl", func(c *swarm.ContainerSpec) { c.Sysctls = map[string]string{"net.core.somaxconn": "1024"} }, "--sysctl"},
		{"user", func(c *swarm.ContainerSpec) { c.User = other }, "--user " + other},
		{"read-only", func(c *swarm.ContainerSpec) { c.ReadOnly = true }, "--read-only"},
		{"mount", func(c *swarm.ContainerSpec) {
			c.Mounts = []swarm.Mount{{Type: swarm.MountTmpfs, Target: "/tmp"}}
		}, "--mount"},
		{"cap-add", func(c *swarm.ContainerSpec) { c.CapabilityAdd = []string{"NET_ADMIN"} }, "--cap-add"},
	}
	for i, tt := range tests {
		task := newTask(swarm.TaskID("t"+string(rune('a'+i))), "true")
		tt.edit(&task.Spec.Container)
		c, _ := e.Controller(task)
		err := c.Prepare(testCtx(t))
		if !errors.Is(err, swarm.ErrFailedPrecondition) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: prepare: %v; want a refusal naming %s", tt.name, err, tt.want)
		}
	}
	// cap-drop is honoured without root by no_new_privs: nothing to gain.
	task := newTask("tz", "true")
	task.Spec.Container.CapabilityDrop = []string{"ALL"}
	p, err := makePlan(task, t.TempDir(), false)
	if err != nil || !p.iso.NoNewPrivs || p.iso.Caps != nil {
		t.Fatalf("cap-drop without root: %+v, %v", p.iso, err)
	}
}

// TestInitFailureRejects: when the task init cannot do what the task asks
// (here: exec a program its user may not run), Start fails with the reason
// and no process is left.
func TestInitFailureRejects(t *testing.T) {
	needRoot(t)
	e := newExecutor(t, Config{})
	bin := t.TempDir() // 0700: nobody cannot run what is in it
	prog := filepath.Join(bin, "prog")
	os.WriteFile(prog, []byte("#!/bin/sh\necho ran\n"), 0o755)
	task := newTask("t1", prog)
	task.Spec.Container.User = "nobody"
	c, _ := e.Controller(task)
	if err := c.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	err := c.Start(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("start: %v; want exec's permission denied", err)
	}
	if c.(*Controller).Status().PID != 0 {
		t.Fatal("a pid is reported for a task that never ran")
	}
}

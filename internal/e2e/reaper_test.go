package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoZombiesUnderPID1 is issue 13, problem 6: a daemon that is PID 1 (of
// a container, here of a PID namespace of its own) inherits every orphan;
// what its tasks leave behind when they exit or are killed must not stay
// <defunct> under it (it did, indefinitely).
func TestNoZombiesUnderPID1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	if err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").Run(); err != nil {
		t.Skipf("unshare --pid --fork --mount-proc: %v", err)
	}
	t.Parallel()
	c := newCluster(t, 0)
	n := c.addPID1(t)
	c.init(t, n)
	daemon := n.daemonPID(t)
	if ns := nsPID(daemon); ns != "1" {
		t.Fatalf("the daemon (pid %d) is pid %q in its namespace, want 1", daemon, ns)
	}

	marker := taskMarker()
	// One task exits at once, leaving a background child; another is
	// killed (service rm) with a background child that it waits for.
	n.mustShoal(t, "service", "create", "-d", "--name", "left", "--restart-condition", "none", "busybox",
		"sh", "-c", "sleep "+marker+" & exit 0")
	n.mustShoal(t, "service", "create", "-d", "--name", "killed", "busybox",
		"sh", "-c", "sleep "+marker+" & wait")
	eventually(t, converge, func() error {
		out := n.shoal("service", "ps", "--format", "{{.Name}} {{.CurrentState}}", "left", "killed")
		if !strings.Contains(out.stdout, "left.1 Complete") || !strings.Contains(out.stdout, "killed.1 Running") {
			return fmt.Errorf("tasks: %v", out)
		}
		if got := countProcesses(n, marker); got != 2 { // sh -c "sleep M & wait", and sleep M
			return fmt.Errorf("%d processes of the marker under the daemon, want the killed task's two", got)
		}
		return nil
	})
	n.mustShoal(t, "service", "rm", "killed")
	eventually(t, 10*time.Second, func() error {
		if z := zombiesOf(daemon); len(z) > 0 {
			return fmt.Errorf("zombies under the daemon (pid %d): %v", daemon, z)
		}
		if got := countProcesses(n, marker); got != 0 {
			return fmt.Errorf("%d processes of the marker left under the daemon", got)
		}
		return nil
	})
}

// addPID1 starts one more daemon as PID 1 of a new PID namespace (with its
// own /proc), as in a container: `unshare --pid --fork --mount-proc shoal
// daemon ...`. The node's process is unshare's; the daemon is its child.
func (c *cluster) addPID1(t *testing.T) *node {
	t.Helper()
	i := len(c.nodes) + 1
	name := fmt.Sprintf("dev%02d", i)
	n := &node{c: c, name: name, ip: fmt.Sprintf("127.0.1.%d", i), dataRoot: filepath.Join(c.dir, name),
		sock: filepath.Join(c.sockDir, name+".sock"), logPath: filepath.Join(c.dir, name+".log")}
	c.nodes = append(c.nodes, n)
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc",
		shoalBin, "daemon", "--data-root", n.dataRoot, "--host", n.host(), "--node-name", n.name)
	cmd.Env = cliEnv(c.dockerConfig)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	eventually(t, converge, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := n.client().Ping(ctx)
		return err
	})
	return n
}

// daemonPID is the daemon's pid (in this test's namespace): unshare's child.
func (n *node) daemonPID(t *testing.T) int {
	t.Helper()
	for _, p := range descendants(n.pid()) {
		if strings.Contains(cmdline(p), " daemon ") {
			return p
		}
	}
	t.Fatalf("no daemon under %s's unshare (pid %d)", n.name, n.pid())
	return 0
}

// nsPID is process pid's pid in its own PID namespace (the last NSpid).
func nsPID(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			return f[len(f)-1]
		}
	}
	return ""
}

// zombiesOf lists the exited, unreaped children of pid, with their command.
func zombiesOf(pid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		i := bytes.LastIndexByte(b, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state, ppid, ...
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, e.Name()+" "+string(b[bytes.IndexByte(b, '('):i+1]))
		}
	}
	return out
}

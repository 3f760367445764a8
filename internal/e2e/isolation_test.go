package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestIsolationDockerCLI: the isolation flags of `docker service create`
// reach a process-runtime task and hold, as the task itself reports in its
// logs: --user nobody (in its own directory, under the node's data root),
// --cap-drop ALL, --read-only with a tmpfs mount, --ulimit. What the node
// cannot honour is refused, naming it: a volume mount by the API, a sysctl
// by the node (the task is rejected with the reason). Before, every one of
// these flags was dropped, and --user nobody could not start.
func TestIsolationDockerCLI(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH")
	}
	if os.Geteuid() != 0 {
		t.Skip("the process runtime isolates tasks only when the daemon runs as root")
	}
	t.Parallel()
	c := newSwarm(t, 1, 0)
	d := c.nodes[0]
	// As under /var/lib: the directories above the data root can be
	// traversed (t.TempDir makes them 0700).
	for dir := c.dir; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
		_ = os.Chmod(dir, 0o711)
	}
	scratch := t.TempDir() // the tmpfs mount's target, on this machine (the node's host)

	d.mustDocker(t, "service", "create", "-d", "--name", "nobody", "--user", "nobody", "busybox",
		"sh", "-c", `id -u; echo x > file && ls "$PWD" && echo cwd-ok; exec sleep 1000`)
	iso := `echo uid=$(id -u); grep CapEff /proc/self/status; echo nofile=$(ulimit -Sn):$(ulimit -Hn)
touch /shoal-e2e-probe 2>/dev/null && echo root-writable || echo root-read-only
touch ` + scratch + `/f && echo tmpfs-ok; exec sleep 1000`
	d.mustDocker(t, "service", "create", "-d", "--name", "iso", "--user", "nobody", "--cap-drop", "ALL",
		"--read-only", "--ulimit", "nofile=123:456", "--mount", "type=tmpfs,dst="+scratch, "busybox", "sh", "-c", iso)
	want := map[string][]string{
		"nobody": {"65534", "file", "cwd-ok"},
		"iso":    {"uid=65534", "CapEff:\t0000000000000000", "nofile=123:456", "root-read-only", "tmpfs-ok"},
	}
	for svc, lines := range want {
		eventually(t, converge, func() error {
			out := "\n" + d.docker("service", "logs", "--raw", svc).stdout
			for _, l := range lines {
				if !strings.Contains(out, "\n"+l+"\n") {
					return fmt.Errorf("service %s: logs lack %q:%s", svc, l, out)
				}
			}
			return nil
		})
	}
	spec := d.mustDocker(t, "service", "inspect", "--format", "{{json .Spec.TaskTemplate.ContainerSpec}}", "iso")
	for _, f := range []string{`"ReadOnly":true`, `"CapabilityDrop":["ALL"]`, `"Ulimits":[{"Name":"nofile","Hard":456,"Soft":123}]`, `"User":"nobody"`} {
		if !strings.Contains(spec, f) {
			t.Errorf("service inspect lacks %s: %s", f, spec)
		}
	}
	if _, err := os.Stat(filepath.Join(scratch, "f")); err == nil {
		t.Error("the task's tmpfs mount wrote to the host's directory")
	}

	// Refused by the API, naming the field; nothing is stored.
	errorContains(t, d.docker("service", "create", "-d", "--name", "vol", "--mount", "type=volume,src=v,dst=/v", "busybox", "sleep", "1"),
		`invalid mount config for type "volume"`)
	if r := d.docker("service", "inspect", "vol"); r.code == 0 {
		t.Error("a refused service was stored")
	}
	// Accepted (a docker-runtime node honours it), rejected by the
	// process node with the reason.
	d.mustDocker(t, "service", "create", "-d", "--name", "sysctl", "--sysctl", "net.core.somaxconn=1024", "busybox", "sleep", "1000")
	eventually(t, converge, func() error {
		out := d.docker("service", "ps", "--no-trunc", "--format", "{{.CurrentState}} | {{.Error}}", "sysctl").stdout
		if !strings.Contains(out, "Rejected") || !strings.Contains(out, "cannot honour --sysctl") {
			return fmt.Errorf("service ps sysctl:\n%s", out)
		}
		return nil
	})
}

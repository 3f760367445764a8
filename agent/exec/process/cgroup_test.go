//go:build linux

package process

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

func TestCPUMax(t *testing.T) {
	for nano, want := range map[int64]string{
		1_500_000_000: "150000 100000",
		250_000_000:   "25000 100000",
		1:             "1000 100000", // the kernel's minimum
	} {
		if got := cpuMax(nano); got != want {
			t.Errorf("cpuMax(%d) = %q, want %q", nano, got, want)
		}
	}
}

func TestWriteLimits(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"memory.max", "memory.swap.max", "cpu.max"} {
		os.WriteFile(filepath.Join(dir, f), []byte("max"), 0o644)
	}
	if err := writeLimits(dir, swarm.Resources{MemoryBytes: 20 << 20, NanoCPUs: 500_000_000}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"memory.max": "20971520", "memory.swap.max": "0", "cpu.max": "50000 100000"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
}

// TestNoCgroupsRunsWithoutLimits: where cgroups are not usable, a task
// with limits runs anyway, with a warning.
func TestNoCgroupsRunsWithoutLimits(t *testing.T) {
	e := newExecutor(t, Config{DisableCgroups: true})
	if e.CgroupError() == nil {
		t.Fatal("disabled cgroups report no error")
	}
	task := newTask("t1", "true")
	task.Spec.Resources.Limits = swarm.Resources{MemoryBytes: 20 << 20, NanoCPUs: 1e9}
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "without resource limits") {
		t.Fatalf("warnings %q", w)
	}
}

func TestCgroupsOnThisMachine(t *testing.T) {
	cg := newCgroups(DefaultCgroupParent+"-probe-"+strconv.Itoa(os.Getpid()), false)
	t.Cleanup(func() { removeTestParents(t, cg.parents) })
	if cg.err != nil {
		t.Logf("cgroup limits unavailable here: %v", cg.err)
		return
	}
	t.Logf("cgroup v%d, parents %q", cg.version, cg.parents)
}

// TestOOMKilled needs a machine where limits are enforced (cgroup v2 with
// the memory controller, or the cgroup v1 memory hierarchy).
func TestOOMKilled(t *testing.T) {
	e := limitsExecutor(t)
	task := newTask("t1", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
	task.Spec.Resources.Limits.MemoryBytes = 20 << 20
	c, err := run(t, e, task)
	wantExit(t, err, 137, false)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.Cause, "OOM killed") {
		t.Fatalf("wait: %v, want OOM killed", err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	dirs := taskGroups(e, "t1")
	if !allExist(dirs) {
		t.Fatalf("cgroups %q missing before Remove", dirs)
	}
	if err := c.Remove(testCtx(t)); err != nil || anyExists(dirs) {
		t.Fatalf("remove: %v (cgroups left: %v)", err, anyExists(dirs))
	}
}

// limitsExecutor returns an executor that enforces limits, with the test's
// cgroup parent (see newExecutor); it skips the test where this machine
// enforces none.
func limitsExecutor(t *testing.T) *Executor {
	t.Helper()
	e := newExecutor(t, Config{})
	if err := e.CgroupError(); err != nil {
		t.Skipf("no cgroup limits on this machine: %v", err)
	}
	return e
}

// removeTestParents removes test parent groups and whatever groups are
// left in them.
func removeTestParents(t *testing.T, parents []string) {
	for _, p := range parents {
		ents, _ := os.ReadDir(p)
		for _, ent := range ents {
			if ent.IsDir() {
				if err := removeCgroup(filepath.Join(p, ent.Name())); err != nil {
					t.Error(err)
				}
			}
		}
		if err := removeCgroup(p); err != nil {
			t.Error(err)
		}
	}
}

// taskGroups returns the directories a task's groups have under the
// executor's parents.
func taskGroups(e *Executor, id swarm.TaskID) []string {
	var dirs []string
	for _, p := range e.cgroups.parents {
		dirs = append(dirs, filepath.Join(p, string(id)))
	}
	return dirs
}

func allExist(paths []string) bool {
	for _, p := range paths {
		if !fileExists(p) {
			return false
		}
	}
	return len(paths) > 0
}

func anyExists(paths []string) bool {
	for _, p := range paths {
		if fileExists(p) {
			return true
		}
	}
	return false
}

// TestStartInCgroup starts a task in a cgroup of its own (CLONE_INTO_CGROUP)
// wherever a writable cgroup v2 hierarchy is mounted, even one without
// controllers (no limits are asked, so none are written).
func TestStartInCgroup(t *testing.T) {
	e, name := cgroupExecutor(t)
	c, err := run(t, e, newTask("t1", "cat", "/proc/self/cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !contains(got, "0::/"+name+"/t1") {
		t.Fatalf("/proc/self/cgroup: %q, want 0::/%s/t1", got, name)
	}
	if err := c.Remove(testCtx(t)); err != nil || fileExists(filepath.Join(e.cgroups.parents[0], "t1")) {
		t.Fatalf("remove: %v", err)
	}
}

// TestCgroupKillsEscapees: a process that left the task's process group
// (setsid) still dies with the task, through its cgroup.
func TestCgroupKillsEscapees(t *testing.T) {
	e, _ := cgroupExecutor(t)
	c, err := run(t, e, newTask("t1", "sh", "-c", "setsid sleep 100 > /dev/null 2>&1 & echo $!"))
	if err != nil {
		t.Fatal(err)
	}
	out := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	if len(out) != 1 {
		t.Fatalf("output %q", out)
	}
	pid, _ := strconv.Atoi(out[0])
	eventually(t, "the escaped sleep to die", func() bool { return gone(pid) })
}

// cgroupExecutor returns an executor whose tasks get a cgroup under a
// fresh parent in a writable cgroup v2 hierarchy (with or without
// controllers), and the parent's name; it skips the test where there is
// none.
func cgroupExecutor(t *testing.T) (*Executor, string) {
	mount := cgroup2Mount()
	if mount == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	name := "shoal-test-" + strconv.Itoa(os.Getpid()) + "-" + t.Name()
	parent := filepath.Join(mount, name)
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Skipf("cgroup v2 hierarchy not writable: %v", err)
	}
	t.Cleanup(func() {
		ents, _ := os.ReadDir(parent)
		for _, ent := range ents {
			if ent.IsDir() {
				removeCgroup(filepath.Join(parent, ent.Name()))
			}
		}
		if err := removeCgroup(parent); err != nil {
			t.Error(err)
		}
	})
	e := newExecutor(t, Config{DisableCgroups: true})
	e.cgroups = &cgroups{version: cgroupV2, parents: []string{parent}} // usable, without the controllers check
	return e, name
}

// cgroup2Mount returns where a cgroup v2 hierarchy is mounted, if any.
func cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && len(g) > 0 && g[0] == "cgroup2" {
			return f[4]
		}
	}
	return ""
}

//go:build linux

package process

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

const hybridMountinfo = `25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /mnt/with\040space rw - cgroup2 none rw
`

func TestParseMountinfo(t *testing.T) {
	mounts, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 5 {
		t.Fatalf("mounts %+v", mounts)
	}
	for _, tc := range []struct {
		fstype, option, point, root string
	}{
		{"cgroup", "memory", "/sys/fs/cgroup/memory", "/docker/abc"},
		{"cgroup", "cpu", "/sys/fs/cgroup/cpu,cpuacct", "/"},
		{"cgroup2", "", "/sys/fs/cgroup/unified", "/"},
	} {
		m, ok := findMount(mounts, tc.fstype, tc.option)
		if !ok || m.point != tc.point || m.root != tc.root {
			t.Errorf("findMount(%s, %s) = %+v, %v", tc.fstype, tc.option, m, ok)
		}
	}
	if _, ok := findMount(mounts, "cgroup", "pids"); ok {
		t.Error("found a pids hierarchy")
	}
	if mounts[4].point != "/mnt/with space" {
		t.Errorf("unescaped point %q", mounts[4].point)
	}
	mem, _ := findMount(mounts, "cgroup", "memory")
	if d, ok := mem.dir("/docker/abc/x"); !ok || d != "/sys/fs/cgroup/memory/x" {
		t.Errorf("dir = %q, %v", d, ok)
	}
	if _, ok := mem.dir("/other"); ok {
		t.Error("a group outside the mount has a directory")
	}
}

func TestSameHierarchy(t *testing.T) {
	opts := []string{"rw", "cpu", "cpuacct"}
	for ctrls, want := range map[string]bool{"cpu": true, "cpu,cpuacct": true, "memory": false, "cpuacct,memory": false} {
		if got := sameHierarchy(strings.Split(ctrls, ","), opts); got != want {
			t.Errorf("sameHierarchy(%s) = %v", ctrls, got)
		}
	}
}

func TestValidCgroupParent(t *testing.T) {
	for p, want := range map[string]bool{"shoal": true, "/shoal": true, "a/b": true,
		"/": false, ".": false, "..": false, "../x": false, "a/../b": false, "a/": false, "a//b": false} {
		if got := validCgroupParent(p); got != want {
			t.Errorf("validCgroupParent(%q) = %v", p, got)
		}
		err := Config{StateDir: "/x", CgroupParent: p}.Validate()
		if (err == nil) != want {
			t.Errorf("Validate with cgroup parent %q: %v", p, err)
		}
	}
}

func TestLegacyStateCgroup(t *testing.T) {
	if got := (taskState{Cgroup: "/a"}).cgroupDirs(); !slices.Equal(got, []string{"/a"}) {
		t.Errorf("cgroupDirs = %q", got)
	}
	if got := (taskState{Cgroups: []string{"/m", "/c"}, Cgroup: "/a"}).cgroupDirs(); !slices.Equal(got, []string{"/m", "/c"}) {
		t.Errorf("cgroupDirs = %q", got)
	}
}

func TestWriteLimitsV1(t *testing.T) {
	mem, cpu := t.TempDir(), t.TempDir()
	for dir, files := range map[string][]string{mem: {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"}, cpu: {"cpu.cfs_period_us", "cpu.cfs_quota_us"}} {
		for _, f := range files {
			os.WriteFile(filepath.Join(dir, f), []byte("-1"), 0o644)
		}
	}
	if err := writeLimitsV1(mem, cpu, swarm.Resources{MemoryBytes: 20 << 20, NanoCPUs: 1_500_000_000}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{
		filepath.Join(mem, "memory.limit_in_bytes"):       "20971520",
		filepath.Join(mem, "memory.memsw.limit_in_bytes"): "20971520",
		filepath.Join(cpu, "cpu.cfs_period_us"):           "100000",
		filepath.Join(cpu, "cpu.cfs_quota_us"):            "150000",
	} {
		if b, _ := os.ReadFile(f); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
	// Without swap accounting there is no memsw file, and none is made.
	os.Remove(filepath.Join(mem, "memory.memsw.limit_in_bytes"))
	if err := writeLimitsV1(mem, cpu, swarm.Resources{MemoryBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(mem, "memory.memsw.limit_in_bytes")) {
		t.Error("memsw file created")
	}
}

func TestOOMKilledV1(t *testing.T) {
	const sigkill = syscall.WaitStatus(syscall.SIGKILL) // killed by SIGKILL
	const exit1 = syscall.WaitStatus(1 << 8)            // exit status 1
	for _, tc := range []struct {
		name, oomControl, failcnt string
		ws                        syscall.WaitStatus
		stopping, want            bool
	}{
		{"oom kill counted", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "12", sigkill, false, true},
		{"counted, even if stopping", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "12", sigkill, true, true},
		{"under oom", "oom_kill_disable 0\nunder_oom 1\noom_kill 0\n", "0", sigkill, false, true},
		{"limit hit, no kill counted", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "12", sigkill, false, false},
		{"old kernel, limit hit", "oom_kill_disable 0\nunder_oom 0\n", "3", sigkill, false, true},
		{"old kernel, limit hit, stopped", "oom_kill_disable 0\nunder_oom 0\n", "3", sigkill, true, false},
		{"old kernel, limit never hit", "oom_kill_disable 0\nunder_oom 0\n", "0", sigkill, false, false},
		{"not a SIGKILL", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "12", exit1, false, false},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "memory.oom_control"), []byte(tc.oomControl), 0o644)
		os.WriteFile(filepath.Join(dir, "memory.failcnt"), []byte(tc.failcnt+"\n"), 0o644)
		if got := oomKilledV1(dir, tc.ws, tc.stopping); got != tc.want {
			t.Errorf("%s: oomKilledV1 = %v", tc.name, got)
		}
	}
}

// v1Executor returns an executor on the cgroup v1 layout, or skips.
func v1Executor(t *testing.T) *Executor {
	t.Helper()
	e := limitsExecutor(t)
	if e.CgroupVersion() != 1 {
		t.Skipf("limits are enforced with cgroup v%d here", e.CgroupVersion())
	}
	return e
}

// procGroups returns a /proc/<pid>/cgroup text's v1 groups by controller.
func procGroups(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCgroupV1BornInGroups: a task with limits runs in its memory and cpu
// groups from its first instruction, with the limits written, and Remove
// removes the groups.
func TestCgroupV1BornInGroups(t *testing.T) {
	e := v1Executor(t)
	task := newTask("t1", "cat", "/proc/self/cgroup")
	task.Spec.Resources.Limits = swarm.Resources{MemoryBytes: 64 << 20, NanoCPUs: 500_000_000}
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	groups := procGroups(strings.Join(logs(t, c, exec.LogOptions{}).Lines(exec.Stdout), "\n"))
	parent := "/" + filepath.Base(e.cgroups.parents[0])
	if groups["memory"] != parent+"/t1" || groups["cpu"] != parent+"/t1" {
		t.Fatalf("the task ran in %v, want memory and cpu in %s/t1", groups, parent)
	}
	dirs := taskGroups(e, "t1")
	mem, cpu := dirs[0], dirs[len(dirs)-1]
	for f, want := range map[string]string{
		filepath.Join(mem, "memory.limit_in_bytes"): "67108864",
		filepath.Join(cpu, "cpu.cfs_period_us"):     "100000",
		filepath.Join(cpu, "cpu.cfs_quota_us"):      "50000",
	} {
		if got := readTrimmed(t, f); got != want {
			t.Errorf("%s = %s, want %s", f, got, want)
		}
	}
	if f := filepath.Join(mem, "memory.memsw.limit_in_bytes"); fileExists(f) && readTrimmed(t, f) != "67108864" {
		t.Errorf("%s = %s, want 67108864", f, readTrimmed(t, f))
	}
	st, _, _ := readState(e.taskDir("t1"))
	if !slices.Equal(st.Cgroups, dirs) {
		t.Errorf("state cgroups %q, want %q", st.Cgroups, dirs)
	}
	if err := c.Remove(testCtx(t)); err != nil || anyExists(dirs) {
		t.Fatalf("remove: %v (cgroups left: %v)", err, anyExists(dirs))
	}
}

// TestCgroupV1CPUQuota: a running task with a CPU limit only has its quota
// written and is in its groups; Remove kills it and removes them.
func TestCgroupV1CPUQuota(t *testing.T) {
	e := v1Executor(t)
	task := newTask("t1", "sleep", "100")
	task.Spec.Resources.Limits.NanoCPUs = 250_000_000
	c := start(t, e, task)
	dirs := taskGroups(e, "t1")
	cpu := dirs[len(dirs)-1]
	if got := readTrimmed(t, filepath.Join(cpu, "cpu.cfs_quota_us")); got != "25000" {
		t.Errorf("cpu.cfs_quota_us = %s, want 25000", got)
	}
	pid := c.Status().PID
	for _, dir := range dirs {
		if procs := readTrimmed(t, filepath.Join(dir, "cgroup.procs")); procs != strconv.Itoa(pid) {
			t.Errorf("%s/cgroup.procs = %q, want the task's pid %d alone", dir, procs, pid)
		}
	}
	if err := c.Remove(testCtx(t)); err != nil || anyExists(dirs) {
		t.Fatalf("remove: %v (cgroups left: %v)", err, anyExists(dirs))
	}
	if !gone(pid) {
		t.Fatal("the task's process survived Remove")
	}
}

// TestCgroupV1NoLimitsNoGroup: on v1, a task without limits gets no group.
func TestCgroupV1NoLimitsNoGroup(t *testing.T) {
	e := v1Executor(t)
	c, err := run(t, e, newTask("t1", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if dirs := taskGroups(e, "t1"); anyExists(dirs) {
		t.Fatalf("groups made for a task without limits: %q", dirs)
	}
	if st, _, _ := readState(e.taskDir("t1")); len(st.cgroupDirs()) != 0 {
		t.Fatalf("state cgroups %q", st.cgroupDirs())
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
}

// TestCgroupV1KillsEscapees: a process that left the task's process group
// (setsid) dies with the task, found in its groups' cgroup.procs.
func TestCgroupV1KillsEscapees(t *testing.T) {
	e := v1Executor(t)
	task := newTask("t1", "sh", "-c", "setsid sleep 100 > /dev/null 2>&1 & echo $!")
	task.Spec.Resources.Limits.MemoryBytes = 64 << 20
	c, err := run(t, e, task)
	if err != nil {
		t.Fatal(err)
	}
	out := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	if len(out) != 1 {
		t.Fatalf("output %q", out)
	}
	pid, _ := strconv.Atoi(out[0])
	eventually(t, "the escaped sleep to die", func() bool { return gone(pid) })
	if err := c.Remove(testCtx(t)); err != nil || anyExists(taskGroups(e, "t1")) {
		t.Fatalf("remove: %v", err)
	}
}

// TestEnterThread: a process forked from a thread that entered a task's v1
// groups is born in them, and the thread goes back to its own groups.
func TestEnterThread(t *testing.T) {
	e := v1Executor(t)
	g, err := e.cgroups.create("t1", swarm.Resources{MemoryBytes: 64 << 20, NanoCPUs: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.remove() })
	type result struct {
		child, before, after map[string]string
		main                 bool
		err                  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		self := "/proc/thread-self/cgroup"
		var r result
		r.main = syscall.Gettid() == os.Getpid()
		b, _ := os.ReadFile(self)
		r.before = procGroups(string(b))
		leave := g.enterThread()
		out, err := osexec.Command("cat", "/proc/self/cgroup").Output()
		leave()
		r.child, r.err = procGroups(string(out)), err
		b, _ = os.ReadFile(self)
		r.after = procGroups(string(b))
		ch <- r
	}()
	r := <-ch
	if r.main {
		t.Skip("the test goroutine ran on the main thread")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	parent := "/" + filepath.Base(e.cgroups.parents[0])
	if r.child["memory"] != parent+"/t1" || r.child["cpu"] != parent+"/t1" {
		t.Errorf("child born in %v, want memory and cpu in %s/t1", r.child, parent)
	}
	if r.after["memory"] != r.before["memory"] || r.after["cpu"] != r.before["cpu"] {
		t.Errorf("thread went back to %v, was in %v", r.after, r.before)
	}
}

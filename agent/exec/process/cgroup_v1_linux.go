//go:build linux

package process

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/shoal-project/shoal/swarm"
)

// setupV1 makes the parent group in the memory and cpu hierarchies and
// checks they take the limits.
func setupV1(mem, cpu cgroupMount, parent string) (*cgroups, error) {
	c := &cgroups{version: cgroupV1}
	for _, h := range []struct {
		mount cgroupMount
		file  string // a control file the limits need
	}{{mem, "memory.limit_in_bytes"}, {cpu, "cpu.cfs_quota_us"}} {
		dir := filepath.Join(h.mount.point, parent)
		if slices.Contains(c.parents, dir) {
			continue // both controllers in one hierarchy
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup v1: %w", err)
		}
		if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
			return nil, fmt.Errorf("cgroup v1: %s is not writable: %w", dir, err)
		}
		if _, err := os.Stat(filepath.Join(dir, h.file)); err != nil {
			// cpu.cfs_quota_us needs CONFIG_CFS_BANDWIDTH.
			return nil, fmt.Errorf("cgroup v1: %w", err)
		}
		c.parents, c.mounts = append(c.parents, dir), append(c.mounts, h.mount)
	}
	return c, nil
}

// writeLimitsV1 writes a task's memory limit (memory.limit_in_bytes, and
// memory.memsw.limit_in_bytes to the same value so that swap does not dodge
// it) and its CPU limit (CFS quota per period).
func writeLimitsV1(memDir, cpuDir string, r swarm.Resources) error {
	if r.MemoryBytes > 0 {
		limit := strconv.FormatInt(r.MemoryBytes, 10)
		// The kernel keeps memory+swap at or above memory alone: lift it
		// first (a group a crash left behind may hold a lower value), then
		// bring it down to the memory limit. It is missing when swap
		// accounting is off.
		_, err := os.Stat(filepath.Join(memDir, "memory.memsw.limit_in_bytes"))
		memsw := err == nil
		if memsw {
			if err := writeCgroupFile(memDir, "memory.memsw.limit_in_bytes", "-1"); err != nil {
				return fmt.Errorf("memory limit: %w", err)
			}
		}
		if err := writeCgroupFile(memDir, "memory.limit_in_bytes", limit); err != nil {
			return fmt.Errorf("memory limit: %w", err)
		}
		if memsw {
			if err := writeCgroupFile(memDir, "memory.memsw.limit_in_bytes", limit); err != nil {
				return fmt.Errorf("memory and swap limit: %w", err)
			}
		}
	}
	if r.NanoCPUs > 0 {
		if err := writeCgroupFile(cpuDir, "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
			return fmt.Errorf("cpu limit: %w", err)
		}
		if err := writeCgroupFile(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(cpuQuota(r.NanoCPUs), 10)); err != nil {
			return fmt.Errorf("cpu limit: %w", err)
		}
	}
	return nil
}

// NOTE(process): cgroup v1 has no CLONE_INTO_CGROUP, and moving a process
// in by pid after it started leaves a window, between its exec and the
// move, in which it runs (allocates, forks) outside its limits. v1 keeps
// the groups of each thread, though, and a child is born in the groups of
// the thread that forks it. The supervisor goroutine forks from a thread
// locked to it (see supervise), so that thread joins the task's groups
// (writing its tid to their "tasks" file) just before the fork and goes
// back to its own groups just after: the process is born in the task's
// groups, with no window. The daemon's memory stays charged where it was,
// since v1 charges memory to the group of a process's main thread, which
// is why the fork is never done from the main thread (supervise hands it
// to another). For the few microseconds it spends in the task's cpu group
// the thread shares the task's quota. Should a move fail, join moves the
// process in by pid right after it starts, and the window is back; should
// the way back fail, the thread stays in the groups until its supervisor
// ends, and killProcs spares the daemon.

// movesThread reports whether the process is to be forked from a thread in
// the task's groups (v1).
func (g *taskCgroup) movesThread() bool { return g != nil && g.version == cgroupV1 }

// enterThread moves the calling thread, locked to its goroutine and not the
// main thread, into the task's groups, and returns how to move it back.
func (g *taskCgroup) enterThread() (leave func()) {
	leave = func() {}
	tid := syscall.Gettid()
	if !g.movesThread() || tid == os.Getpid() {
		return leave
	}
	homes, err := g.c.threadGroups(tid)
	if err != nil {
		return leave // join moves the process in
	}
	s := strconv.Itoa(tid)
	var back []string
	for i, dir := range g.dirs {
		if writeCgroupFile(dir, "tasks", s) != nil {
			break
		}
		back = append(back, homes[i])
	}
	return func() {
		for _, dir := range back {
			_ = writeCgroupFile(dir, "tasks", s)
		}
	}
}

// threadGroups returns the directories of thread tid's groups in each of
// the hierarchies of c.parents.
func (c *cgroups) threadGroups(tid int) ([]string, error) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(c.mounts))
	for _, line := range strings.Split(string(b), "\n") {
		// "id:controllers:path"; v1 hierarchies list their controllers.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		for i, m := range c.mounts {
			if dirs[i] == "" && sameHierarchy(ctrls, m.options) {
				if d, ok := m.dir(parts[2]); ok {
					dirs[i] = d
				}
			}
		}
	}
	for i, d := range dirs {
		if d == "" {
			return nil, fmt.Errorf("no group of thread %d under %s", tid, c.mounts[i].point)
		}
	}
	return dirs, nil
}

// sameHierarchy reports whether a /proc/<pid>/cgroup line's controllers
// name the v1 hierarchy mounted with options: every controller of the line
// is among them.
func sameHierarchy(ctrls, options []string) bool {
	for _, c := range ctrls {
		if !slices.Contains(options, c) {
			return false
		}
	}
	return len(ctrls) > 0
}

// join moves process pid into the task's groups, which it was born in
// unless enterThread could not move the supervisor's thread (then this is
// the fallback, with its window). A process already gone is no error.
func (g *taskCgroup) join(pid int) error {
	if !g.movesThread() {
		return nil
	}
	for _, dir := range g.dirs {
		err := writeCgroupFile(dir, "cgroup.procs", strconv.Itoa(pid))
		if err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("moving the process into cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// oomKilledV1 reports whether the OOM killer killed a task of v1 memory
// group dir, which ended with ws. v1 has no memory.events: a task killed
// by SIGKILL counts as OOM-killed when its group's memory.oom_control
// counts an OOM kill (oom_kill, Linux 4.13+) or says it is out of memory
// (under_oom). On older kernels, without the count, it is enough that the
// group hit its limit (memory.failcnt) and the kill was not asked for
// (Terminate's SIGKILL looks the same).
func oomKilledV1(dir string, ws syscall.WaitStatus, stopping bool) bool {
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return false
	}
	if n, _ := cgroupCounter(dir, "memory.oom_control", "under_oom"); n > 0 {
		return true
	}
	if n, ok := cgroupCounter(dir, "memory.oom_control", "oom_kill"); ok {
		return n > 0
	}
	n, _ := readCgroupInt(dir, "memory.failcnt")
	return n > 0 && !stopping
}

// readCgroupInt reads a control file holding one number.
func readCgroupInt(dir, file string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

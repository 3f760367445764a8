//go:build linux

package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// cgroupVersion is the cgroup layout the runtime puts tasks in; 0 when
// tasks run without limits.
type cgroupVersion int

const (
	cgroupNone cgroupVersion = 0
	cgroupV1   cgroupVersion = 1
	cgroupV2   cgroupVersion = 2
)

// cpuPeriod is the CFS period the CPU limit is expressed in (µs), the
// kernel's default on both cgroup versions.
const cpuPeriod = 100000

// cgroups makes a group per task under one parent group
// (Config.CgroupParent), on whichever layout the machine has (see detect).
// Where none is usable, err says why and tasks run without limits.
type cgroups struct {
	version cgroupVersion
	// parents are the parent groups' directories: v2, the one; v1, the one
	// in the memory hierarchy, then the one in the cpu hierarchy (once if
	// both controllers share a hierarchy).
	parents []string
	// mounts are the hierarchies of parents, in the same order (v1: to find
	// a thread's own groups, see enterThread).
	mounts []cgroupMount
	err    error
}

func newCgroups(parent string, disabled bool) *cgroups {
	if disabled {
		return &cgroups{err: errors.New("cgroups are disabled in the runtime's configuration")}
	}
	mounts, err := readMountinfo()
	var c *cgroups
	if err == nil {
		c, err = detect(mounts, parent)
	}
	if err != nil {
		return &cgroups{err: fmt.Errorf("resource limits are not enforced: %w", err)}
	}
	return c
}

// detect picks the layout, in this order:
//
//   - cgroup v2 whose root offers the memory and cpu controllers: the
//     parent group hands them to its children, and every task gets a group,
//     which it is born in (CLONE_INTO_CGROUP);
//   - else the cgroup v1 memory and cpu hierarchies, mounted and writable
//     (a "hybrid" host has a controller-less v2 mounted beside them): a
//     task with limits gets a group in each, and is moved in as it starts;
//   - else none, and the error says why.
func detect(mounts []cgroupMount, parent string) (*cgroups, error) {
	v2, hasV2 := findMount(mounts, "cgroup2", "")
	if hasV2 && hasControllers(v2.point) {
		dir := filepath.Join(v2.point, parent)
		if err := setupV2(v2.point, dir); err != nil {
			return nil, err
		}
		return &cgroups{version: cgroupV2, parents: []string{dir}, mounts: []cgroupMount{v2}}, nil
	}
	mem, hasMem := findMount(mounts, "cgroup", "memory")
	cpu, hasCPU := findMount(mounts, "cgroup", "cpu")
	switch {
	case hasMem && hasCPU:
		return setupV1(mem, cpu, parent)
	case hasV2:
		return nil, fmt.Errorf("the cgroup v2 hierarchy at %s lacks the memory and cpu controllers, and the cgroup v1 memory and cpu hierarchies are not both mounted", v2.point)
	default:
		return nil, errors.New("neither a cgroup v2 hierarchy nor the cgroup v1 memory and cpu hierarchies are mounted")
	}
}

// cgroupMount is a mounted cgroup hierarchy, from /proc/self/mountinfo.
type cgroupMount struct {
	point   string   // where it is mounted
	root    string   // the group of the hierarchy seen at point
	fstype  string   // "cgroup2" or "cgroup" (v1)
	options []string // the super options: a v1 hierarchy's controllers
}

// dir is the directory of group (a path in the hierarchy, as
// /proc/<pid>/cgroup gives it), if the mount shows it.
func (m cgroupMount) dir(group string) (string, bool) {
	rel, err := filepath.Rel(m.root, group)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.Join(m.point, rel), true
}

func readMountinfo() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo returns the cgroup mounts of a mountinfo file (proc(5):
// "id parent major:minor root point options [optional...] - fstype source
// superoptions").
func parseMountinfo(r io.Reader) ([]cgroupMount, error) {
	var out []cgroupMount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		out = append(out, cgroupMount{point: unescapeMountinfo(f[4]), root: unescapeMountinfo(f[3]),
			fstype: g[0], options: strings.Split(g[2], ",")})
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of a
// mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// findMount returns the first mount of type fstype that has the option
// (a v1 controller), or any option when it is empty.
func findMount(mounts []cgroupMount, fstype, option string) (cgroupMount, bool) {
	for _, m := range mounts {
		if m.fstype != fstype {
			continue
		}
		for _, o := range m.options {
			if option == "" || o == option {
				return m, true
			}
		}
	}
	return cgroupMount{}, false
}

// taskCgroup is a task's group (v2) or groups (v1).
type taskCgroup struct {
	c       *cgroups
	version cgroupVersion
	// dirs are its groups' directories, in the order of c.parents.
	dirs []string
	// memory and cpu are the groups holding each controller (the same one
	// on v2).
	memory, cpu string
	// fd (v2) is open on the group until the process has started in it;
	// -1 otherwise.
	fd int
}

// limited reports whether r asks for any limit.
func limited(r swarm.Resources) bool { return r.MemoryBytes > 0 || r.NanoCPUs > 0 }

// create makes the task's groups with its limits written. On v1 a task
// without limits gets none (nil, nil): its process group is how it is
// killed, and there is nothing to enforce.
func (c *cgroups) create(id swarm.TaskID, r swarm.Resources) (*taskCgroup, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.version == cgroupV1 && !limited(r) {
		return nil, nil
	}
	g := &taskCgroup{c: c, version: c.version, fd: -1}
	for _, p := range c.parents {
		dir := filepath.Join(p, string(id))
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			g.remove()
			return nil, fmt.Errorf("resource limits are not enforced: creating cgroup: %w", err)
		}
		g.dirs = append(g.dirs, dir)
	}
	g.memory, g.cpu = g.dirs[0], g.dirs[len(g.dirs)-1]
	if err := g.writeLimits(r); err != nil {
		g.remove()
		return nil, fmt.Errorf("resource limits are not enforced: %w", err)
	}
	if c.version == cgroupV2 {
		fd, err := syscall.Open(g.dirs[0], syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != nil {
			g.remove()
			return nil, fmt.Errorf("resource limits are not enforced: opening cgroup: %w", err)
		}
		g.fd = fd
	}
	return g, nil
}

func (g *taskCgroup) writeLimits(r swarm.Resources) error {
	if g.version == cgroupV1 {
		return writeLimitsV1(g.memory, g.cpu, r)
	}
	return writeLimits(g.memory, r)
}

// cpuQuota is the CPU time per cpuPeriod (µs) for a limit in billionths of
// a CPU.
func cpuQuota(nanoCPUs int64) int64 {
	return max(nanoCPUs*cpuPeriod/1e9, 1000) // the kernel's minimum is 1ms
}

// started closes the directory fd once the process is in the group.
func (g *taskCgroup) started() {
	if g != nil && g.fd >= 0 {
		syscall.Close(g.fd)
		g.fd = -1
	}
}

// oomKilled reports whether the kernel's OOM killer killed the task's
// process, which ended with ws (stopping: Shutdown or Terminate asked).
func (g *taskCgroup) oomKilled(ws syscall.WaitStatus, stopping bool) bool {
	if g.version == cgroupV1 {
		return oomKilledV1(g.memory, ws, stopping)
	}
	n, _ := cgroupCounter(g.memory, "memory.events", "oom_kill")
	return n > 0
}

// kill kills whatever is left in the task's groups.
func (g *taskCgroup) kill() {
	for _, d := range g.dirs {
		killCgroup(d)
	}
}

// remove removes the task's groups (see removeCgroup).
func (g *taskCgroup) remove() error {
	var errs []error
	for _, d := range g.dirs {
		errs = append(errs, removeCgroup(d))
	}
	return errors.Join(errs...)
}

// killCgroup kills every process of group dir: at once through cgroup.kill
// (v2, Linux 5.14+), else one by one (see killProcs).
func killCgroup(dir string) {
	if writeCgroupFile(dir, "cgroup.kill", "1") == nil {
		return
	}
	killProcs(dir)
}

// killProcs sends SIGKILL to the processes listed in group dir's
// cgroup.procs, and reports how many it found. The daemon itself is
// skipped: on v1 it is listed while one of its threads is in the group
// (see enterThread). A process may fork between the read and the kill:
// callers that need the group empty call again until it is.
func killProcs(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return 0
	}
	n, self := 0, os.Getpid()
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		n++
	}
	return n
}

// removeCgroup removes a task's group, killing what is left in it and
// waiting a little for those processes to be gone (the kernel refuses to
// remove a populated group).
func removeCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	deadline := time.Now().Add(2 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Rmdir(dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		killProcs(dir)
		<-tick.C
	}
}

// writeCgroupFile writes value to the control file name of group dir.
// Control files are never created: a missing one is an error.
func writeCgroupFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// cgroupCounter reads the value of key in a control file of "key value"
// lines (memory.events, memory.oom_control); ok is false when the file or
// the key is missing.
func cgroupCounter(dir, file, key string) (n int64, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if k, v, found := bytes.Cut(line, []byte{' '}); found && string(k) == key {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

//go:build linux

package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

const (
	cgroup2Magic = 0x63677270 // CGROUP2_SUPER_MAGIC
	cpuPeriod    = 100000     // µs, the kernel's default cpu.max period
)

// cgroups makes a cgroup v2 group per task, under one parent group. Where the machine has no writable cgroup v2 with the memory and
// cpu controllers, err says why and tasks run without limits.
type cgroups struct {
	parent string
	err    error
}

func newCgroups(parent string, disabled bool) *cgroups {
	c := &cgroups{parent: parent}
	if disabled {
		c.err = errors.New("cgroups are disabled in the runtime's configuration")
		return c
	}
	if err := c.setup(); err != nil {
		c.err = fmt.Errorf("resource limits are not enforced: %w", err)
	}
	return c
}

// setup checks the parent is on cgroup v2 and gives its children the
// memory and cpu controllers.
func (c *cgroups) setup() error {
	mount := c.parent
	for {
		if _, err := os.Stat(mount); err == nil || mount == "/" {
			break
		}
		mount = filepath.Dir(mount)
	}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(mount, &fs); err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	if fs.Type != cgroup2Magic {
		return fmt.Errorf("%s is not on a cgroup v2 file system", mount)
	}
	if err := os.MkdirAll(c.parent, 0o755); err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	if !hasControllers(c.parent) {
		// The parent's parent must hand the controllers down first.
		_ = os.WriteFile(filepath.Join(filepath.Dir(c.parent), "cgroup.subtree_control"), []byte("+memory +cpu"), 0)
		if !hasControllers(c.parent) {
			return fmt.Errorf("the memory and cpu controllers are not available in %s", c.parent)
		}
	}
	if err := os.WriteFile(filepath.Join(c.parent, "cgroup.subtree_control"), []byte("+memory +cpu"), 0); err != nil {
		return fmt.Errorf("enabling the memory and cpu controllers under %s: %w", c.parent, err)
	}
	return nil
}

func hasControllers(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	has := func(name string) bool {
		for _, x := range f {
			if x == name {
				return true
			}
		}
		return false
	}
	return has("memory") && has("cpu")
}

// taskCgroup is a task's group; fd is open on its directory until the
// process has started in it.
type taskCgroup struct {
	dir string
	fd  int
}

// create makes the task's group with its limits written.
func (c *cgroups) create(id swarm.TaskID, r swarm.Resources) (*taskCgroup, error) {
	if c.err != nil {
		return nil, c.err
	}
	dir := filepath.Join(c.parent, string(id))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("resource limits are not enforced: creating cgroup: %w", err)
	}
	if err := writeLimits(dir, r); err != nil {
		removeCgroup(dir)
		return nil, fmt.Errorf("resource limits are not enforced: %w", err)
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		removeCgroup(dir)
		return nil, fmt.Errorf("resource limits are not enforced: opening cgroup: %w", err)
	}
	return &taskCgroup{dir: dir, fd: fd}, nil
}

// writeLimits writes memory.max (and no swap beyond it) and cpu.max.
func writeLimits(dir string, r swarm.Resources) error {
	if r.MemoryBytes > 0 {
		if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(r.MemoryBytes, 10)), 0); err != nil {
			return fmt.Errorf("memory limit: %w", err)
		}
		// A limit is a limit: without this the task would swap instead of
		// being stopped. The file is missing when swap accounting is off.
		_ = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
	}
	if r.NanoCPUs > 0 {
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(cpuMax(r.NanoCPUs)), 0); err != nil {
			return fmt.Errorf("cpu limit: %w", err)
		}
	}
	return nil
}

// cpuMax is the cpu.max line for a limit in billionths of a CPU.
func cpuMax(nanoCPUs int64) string {
	quota := max(nanoCPUs*cpuPeriod/1e9, 1000) // the kernel's minimum is 1ms
	return strconv.FormatInt(quota, 10) + " " + strconv.Itoa(cpuPeriod)
}

// started closes the directory fd once the process is in the group.
func (g *taskCgroup) started() {
	if g != nil && g.fd >= 0 {
		syscall.Close(g.fd)
		g.fd = -1
	}
}

// oomKilled reports whether the kernel's OOM killer killed a process of
// the group.
func (g *taskCgroup) oomKilled() bool {
	b, err := os.ReadFile(filepath.Join(g.dir, "memory.events"))
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if k, v, ok := bytes.Cut(line, []byte{' '}); ok && string(k) == "oom_kill" {
			n, _ := strconv.Atoi(string(v))
			return n > 0
		}
	}
	return false
}

// kill kills whatever is left in the group (Linux 5.14+; elsewhere the
// process group kill has done what it could).
func (g *taskCgroup) kill() {
	_ = os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0)
}

// removeCgroup removes a task's group, waiting a little for its last
// processes to be gone (the kernel refuses to remove a populated group).
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
		<-tick.C
	}
}

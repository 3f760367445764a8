//go:build linux

package process

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// setupV2 makes the parent group (under the hierarchy mounted at mount)
// and gives its children the memory and cpu controllers; each group above
// it must hand them down first.
func setupV2(mount, parent string) error {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	rel, err := filepath.Rel(mount, parent)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("cgroup v2: %s is not a group under %s", parent, mount)
	}
	dir := mount
	for _, name := range strings.Split(rel, "/") {
		if child := filepath.Join(dir, name); !hasControllers(child) {
			_ = writeCgroupFile(dir, "cgroup.subtree_control", "+memory +cpu") // best effort: checked below
		}
		dir = filepath.Join(dir, name)
	}
	if !hasControllers(parent) {
		return fmt.Errorf("the memory and cpu controllers are not available in %s", parent)
	}
	if err := writeCgroupFile(parent, "cgroup.subtree_control", "+memory +cpu"); err != nil {
		return fmt.Errorf("enabling the memory and cpu controllers under %s: %w", parent, err)
	}
	return nil
}

// hasControllers reports whether v2 group dir has the memory and cpu
// controllers.
func hasControllers(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return false
	}
	var mem, cpu bool
	for _, x := range strings.Fields(string(b)) {
		mem = mem || x == "memory"
		cpu = cpu || x == "cpu"
	}
	return mem && cpu
}

// writeLimits writes a v2 group's memory.max (and no swap beyond it) and
// cpu.max.
func writeLimits(dir string, r swarm.Resources) error {
	if r.MemoryBytes > 0 {
		if err := writeCgroupFile(dir, "memory.max", strconv.FormatInt(r.MemoryBytes, 10)); err != nil {
			return fmt.Errorf("memory limit: %w", err)
		}
		// A limit is a limit: without this the task would swap instead of
		// being stopped. The file is missing when swap accounting is off.
		_ = writeCgroupFile(dir, "memory.swap.max", "0")
	}
	if r.NanoCPUs > 0 {
		if err := writeCgroupFile(dir, "cpu.max", cpuMax(r.NanoCPUs)); err != nil {
			return fmt.Errorf("cpu limit: %w", err)
		}
	}
	return nil
}

// cpuMax is the cpu.max line for a limit in billionths of a CPU.
func cpuMax(nanoCPUs int64) string {
	return strconv.FormatInt(cpuQuota(nanoCPUs), 10) + " " + strconv.Itoa(cpuPeriod)
}

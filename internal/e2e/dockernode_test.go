package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReferenceScenarioDockerNode replays the reference scenario with dev03
// on the docker runtime: its tasks are containers in this machine's Docker
// engine, from an image built here (no registry). Its machine death kills
// its containers too.
func TestReferenceScenarioDockerNode(t *testing.T) {
	if err := exec.Command("docker", "version").Run(); err != nil {
		t.Skip("no Docker engine reachable: skipping the docker runtime scenario")
	}
	runReferenceScenario(t, sleepImage(t), "docker")
}

// sleepImage builds a FROM-scratch image holding a static sleep at
// /bin/sleep, and removes it when the test ends.
func sleepImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "sleep"), "./testdata/sleep")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sleep: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY sleep /bin/sleep\nENV PATH=/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("shoal-e2e-sleep:%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// containersOf lists the IDs of the containers the docker runtime made for
// the node with this swarm ID (all of them, or only running ones).
func containersOf(swarmID string, all bool) []string {
	args := []string{"ps", "-q", "--filter", "label=com.docker.swarm.node.id=" + swarmID}
	if all {
		args = append(args, "-a")
	}
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		return nil
	}
	return strings.Fields(string(out))
}

// killContainers completes a docker-runtime node's machine death: its
// containers die with it (they stay, stopped, as after a power cut; the
// restarted daemon removes them).
func (n *node) killContainers() {
	if n.runtime != "docker" || n.swarmID == "" {
		return
	}
	if ids := containersOf(n.swarmID, false); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"kill"}, ids...)...).Run()
	}
}

// removeContainers leaves the engine as the test found it.
func (n *node) removeContainers() {
	if n.runtime != "docker" || n.swarmID == "" {
		return
	}
	if ids := containersOf(n.swarmID, true); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

// runningTasks counts the task processes (by marker) a node runs: its
// daemon's descendants, or its running containers on the docker runtime.
func (n *node) runningTasks(marker string) int {
	if n.runtime != "docker" {
		return countProcesses(n, marker)
	}
	count := 0
	for _, id := range containersOf(n.swarmID, false) {
		out, _ := exec.Command("docker", "inspect", "--format", "{{json .Args}}", id).Output()
		if strings.Contains(string(out), marker) {
			count++
		}
	}
	return count
}

// countAllTasks counts the task processes (by marker) on the machine,
// containers included.
func countAllTasks(c *cluster, marker string) int {
	n := countAllProcesses(marker)
	for _, nd := range c.nodes {
		if nd.runtime == "docker" {
			n += nd.runningTasks(marker)
		}
	}
	return n
}

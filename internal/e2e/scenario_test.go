package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// The reference scenario (SEED-SCENARIO.md), steps 1-16, with real daemons
// and real task processes; every "kill" is a machine death that takes the
// daemon and its tasks. Each step's outcome is what a user of the docker and
// shoal CLIs would see.
func TestReferenceScenario(t *testing.T) { runReferenceScenario(t, "busybox", "") }

// runReferenceScenario replays the scenario with image as the services'
// image and dev03 (the manager of part 2) on the given runtime.
func runReferenceScenario(t *testing.T, image, runtime3 string) {
	c := newSwarm(t, 1, 1) // step 1: dev01 manager and leader, dev02 worker
	dev01, dev02 := c.nodes[0], c.nodes[1]
	marker := taskMarker()

	// Step 2: promote dev02.
	if out := dev01.mustShoal(t, "node", "promote", "dev02"); strings.TrimSpace(out) != "Node dev02 promoted to a manager in the swarm." {
		t.Fatalf("promote printed %q", out)
	}
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "manager"})

	// Step 5: a 2-replica service through the docker CLI, converging.
	out := dev01.mustDocker(t, "service", "create", "--name", "ping", "--replicas", "2", "--update-monitor", "1s", image, "sleep", marker)
	if !strings.Contains(out, "verify: Service") || !strings.Contains(out, "converged") {
		t.Fatalf("service create did not converge:\n%s", out)
	}
	waitSlots(t, dev01, "ping", map[int]string{}, 2)
	spread(t, dev01, "ping", 2)

	// Step 6: kill the leader; the survivor has no leader.
	leader := c.leader(t, dev01, dev02)
	other := otherOf(c, leader, dev01, dev02)
	deadTask := taskOn(t, leader, "ping", leader.name)
	leader.kill(t)
	wantNoLeaderSoon(t, other)

	// Step 7: it returns; control is back.
	leader.start(t)
	c.waitHealthy(t, other, map[string]string{"dev01": "manager", "dev02": "manager"})
	waitTask(t, other, deadTask.ID, func(task swarm.Task) error {
		if task.Status.State != swarm.TaskStateFailed {
			return fmt.Errorf("task of the dead node: %s, want failed once it reports back", task.Status.State)
		}
		return nil
	})
	waitSlots(t, other, "ping", map[int]string{}, 2) // the dead node's slot is running again

	// Step 8: kill the non-leader manager: still no quorum, but the task on
	// the survivor keeps running and no replacement starts.
	leader = c.leader(t, dev01, dev02)
	victim := otherOf(c, leader, dev01, dev02)
	victimTask := taskOn(t, leader, "ping", victim.name)
	victim.kill(t)
	wantNoLeaderSoon(t, leader)
	consistently(t, 2*time.Second, func() error {
		if n := leader.runningTasks(marker); n != 1 {
			return fmt.Errorf("%d task processes on %s, want 1 (its task keeps running, nothing else starts)", n, leader.name)
		}
		return nil
	})

	// Step 9: it returns; the slot gets a new task, the old one is Failed.
	victim.start(t)
	c.waitHealthy(t, leader, map[string]string{"dev01": "manager", "dev02": "manager"})
	waitTask(t, leader, victimTask.ID, func(task swarm.Task) error {
		if task.DesiredState != swarm.TaskStateShutdown || task.Status.State != swarm.TaskStateFailed || task.Status.Err == "" {
			return fmt.Errorf("old task: desired %s, state %s, err %q", task.DesiredState, task.Status.State, task.Status.Err)
		}
		return nil
	})
	waitSlots(t, leader, "ping", map[int]string{}, 2) // a new task for the slot, after the restart delay
	ps := leader.mustShoal(t, "service", "ps", "ping")
	if !strings.Contains(ps, `\_ ping.`) || !strings.Contains(ps, "Failed") {
		t.Errorf("service ps does not show the failed task in the slot's history:\n%s", ps)
	}

	// Step 10: dev03 joins directly as a manager.
	dev03 := c.addWith(t, runtime3)
	t.Cleanup(dev03.removeContainers)
	if out := c.join(t, dev03, "manager", leader); strings.TrimSpace(out) != "This node joined a swarm as a manager." {
		t.Fatalf("join printed %q", out)
	}
	all := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager"}
	c.waitHealthy(t, dev01, all)

	// Step 11: a fresh 3-replica service places one task per node.
	dev01.mustShoal(t, "service", "rm", "ping")
	eventually(t, converge, func() error {
		if n := countAllTasks(c, marker); n != 0 {
			return fmt.Errorf("%d task processes left after service rm", n)
		}
		return nil
	})
	dev01.mustShoal(t, "service", "create", "--name", "ping", "--replicas", "3", "--update-monitor", "1s", image, "sleep", marker)
	waitSlots(t, dev01, "ping", map[int]string{}, 3)
	spread(t, dev01, "ping", 3)

	// Step 12: kill the leader; control stays available.
	leader = c.leader(t, dev01, dev02, dev03)
	survivors := c.others(leader)
	lost := taskOn(t, survivors[0], "ping", leader.name)
	healthy := []swarm.Task{taskOn(t, survivors[0], "ping", survivors[0].name), taskOn(t, survivors[0], "ping", survivors[1].name)}
	leader.kill(t)
	eventually(t, converge, func() error {
		tb, err := nodeTable(survivors[0])
		if err != nil {
			return err
		}
		row, err := tb.row("HOSTNAME", leader.name)
		if err != nil {
			return err
		}
		if row["MANAGER STATUS"] != "Unreachable" || (row["STATUS"] != "Unknown" && row["STATUS"] != "Down") {
			return fmt.Errorf("dead leader shows %v", row)
		}
		return nil
	})

	// Step 13: its slot runs elsewhere; the old task is desired Shutdown
	// and its last state stays, marked unconfirmed.
	waitSlots(t, survivors[0], "ping", map[int]string{lost.Slot: leader.name}, 3)
	for _, h := range healthy { // a change of leader restarts or moves no healthy task
		waitTask(t, survivors[0], h.ID, func(task swarm.Task) error {
			if task.DesiredState != swarm.TaskStateRunning || task.Status.State != swarm.TaskStateRunning {
				return fmt.Errorf("healthy task %s on a surviving node: desired %s, state %s", h.ID, task.DesiredState, task.Status.State)
			}
			return nil
		})
	}
	waitTask(t, survivors[0], lost.ID, func(task swarm.Task) error {
		if task.DesiredState != swarm.TaskStateShutdown || task.Status.State != swarm.TaskStateRunning || !strings.Contains(task.Status.Message, "unconfirmed") {
			return fmt.Errorf("old task: desired %s, state %s, message %q", task.DesiredState, task.Status.State, task.Status.Message)
		}
		return nil
	})

	// Step 14: the dead node returns; the old task becomes Failed.
	leader.start(t)
	c.waitHealthy(t, survivors[0], all)
	waitTask(t, survivors[0], lost.ID, func(task swarm.Task) error {
		if task.Status.State != swarm.TaskStateFailed || task.Status.Err == "" {
			return fmt.Errorf("old task: state %s, err %q", task.Status.State, task.Status.Err)
		}
		return nil
	})

	// Step 15: nothing moves back by itself; a new service spreads.
	consistently(t, 2*time.Second, func() error {
		if n := leader.runningTasks(marker); n != 0 {
			return fmt.Errorf("%d ping tasks moved back to %s", n, leader.name)
		}
		return nil
	})
	dev01.mustDocker(t, "service", "create", "-d", "--name", "ping2", "--replicas", "3", image, "sleep", marker+"2")
	waitSlots(t, dev01, "ping2", map[int]string{}, 3)
	spread(t, dev01, "ping2", 3)

	// Step 16: a forced update restarts every task, one at a time, and
	// spreads the slots again; each slot keeps its history.
	out = dev01.mustShoal(t, "service", "update", "--force", "ping")
	if !strings.Contains(out, "verify: Service ping converged") {
		t.Fatalf("update --force did not converge:\n%s", out)
	}
	waitSlots(t, dev01, "ping", map[int]string{}, 3)
	spread(t, dev01, "ping", 3)
	tasks := serviceTasks(t, dev01, "ping")
	perSlot := map[int]int{}
	for _, task := range tasks {
		perSlot[task.Slot]++
		if task.DesiredState == swarm.TaskStateShutdown && task.Status.State == swarm.TaskStateRunning && task.NodeID != "" {
			t.Errorf("an old task still runs: %s", task.ID)
		}
	}
	for slot, n := range perSlot {
		if n < 2 || n > 5 {
			t.Errorf("slot %d keeps %d tasks; want its history, at most the retention limit (5)", slot, n)
		}
	}
}

// taskMarker is a sleep duration unique to this test run, so the test can
// find its own task processes among the machine's.
func taskMarker() string {
	return strconv.Itoa(100000 + int(time.Now().UnixNano()%800000))
}

// otherOf returns the one of a, b that is not n.
func otherOf(c *cluster, n, a, b *node) *node {
	if n == a {
		return b
	}
	return a
}

// wantNoLeaderSoon waits (briefly: an election may still be in progress)
// for node ls on n to fail with Docker's exact no-leader message.
func wantNoLeaderSoon(t *testing.T, n *node) {
	t.Helper()
	eventually(t, converge, func() error {
		r := n.shoalWithin(5*time.Second, "node", "ls")
		if r.err != nil {
			return fmt.Errorf("node ls did not return: %v", r)
		}
		if r.code != 1 || strings.TrimSpace(r.stderr) != "Error response from daemon: "+msgNoLeaderText {
			return fmt.Errorf("want the no-leader message, got %v", r)
		}
		return nil
	})
}

const msgNoLeaderText = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."

func serviceTasks(t testing.TB, via *node, service string) []swarm.Task {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tasks, err := via.client().TaskList(ctx, client.NewFilters().Add("service", service))
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// nodeNames maps node IDs to hostnames.
func nodeNames(via *node) (map[string]string, error) {
	nodes, err := listNodes(via)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, n := range nodes {
		out[n.ID] = name
	}
	return out, nil
}

// waitSlots waits until slots 1..n of a service each have exactly one task
// desired and seen running, none of them on the node avoid[slot] names.
func waitSlots(t testing.TB, via *node, service string, avoid map[int]string, n int) {
	t.Helper()
	eventually(t, converge, func() error {
		names, err := nodeNames(via)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tasks, err := via.client().TaskList(ctx, client.NewFilters().Add("service", service))
		if err != nil {
			return err
		}
		running := map[int]int{}
		for _, task := range tasks {
			if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning {
				if names[task.NodeID] == avoid[task.Slot] && avoid[task.Slot] != "" {
					return fmt.Errorf("slot %d still runs on %s", task.Slot, avoid[task.Slot])
				}
				running[task.Slot]++
			}
		}
		for slot := 1; slot <= n; slot++ {
			if running[slot] != 1 {
				return fmt.Errorf("slot %d has %d running tasks (%v)", slot, running[slot], running)
			}
		}
		return nil
	})
}

// spread checks that a service's n running tasks are on n different nodes.
func spread(t testing.TB, via *node, service string, n int) {
	t.Helper()
	on := map[string]bool{}
	for _, task := range serviceTasks(t, via, service) {
		if task.DesiredState == swarm.TaskStateRunning && task.Status.State == swarm.TaskStateRunning {
			on[task.NodeID] = true
		}
	}
	if len(on) != n {
		t.Errorf("%s runs on %d nodes, want its %d tasks spread over %d", service, len(on), n, n)
	}
}

// taskOn returns the running task of a service on the named node.
func taskOn(t testing.TB, via *node, service, nodeName string) swarm.Task {
	t.Helper()
	names, err := nodeNames(via)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, task := range serviceTasks(t, via, service) {
		if names[task.NodeID] == nodeName && task.DesiredState == swarm.TaskStateRunning {
			return task
		}
		ids = append(ids, names[task.NodeID])
	}
	sort.Strings(ids)
	t.Fatalf("no running task of %s on %s (tasks on %v)", service, nodeName, ids)
	return swarm.Task{}
}

// waitTask waits until the task passes check.
func waitTask(t testing.TB, via *node, id string, check func(swarm.Task) error) {
	t.Helper()
	eventually(t, converge, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		task, _, err := via.client().TaskInspect(ctx, id)
		if err != nil {
			return err
		}
		return check(task)
	})
}

// countProcesses counts the task processes (by marker) under n's daemon.
func countProcesses(n *node, marker string) int {
	count := 0
	for _, p := range descendants(n.pid()) {
		if strings.Contains(cmdline(p), "sleep "+marker) {
			count++
		}
	}
	return count
}

// countAllProcesses counts the task processes (by marker) on the machine.
func countAllProcesses(marker string) int {
	count := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if p, err := strconv.Atoi(e.Name()); err == nil && strings.Contains(cmdline(p), "sleep "+marker) {
			count++
		}
	}
	return count
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

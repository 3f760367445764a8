package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestForceNewCluster: two of three managers die (SIGKILL) and the swarm
// has no quorum; `docker swarm init --force-new-cluster` on the survivor
// makes it the only manager of the same swarm: its nodes and services
// kept, writes accepted again, a worker still there, a new manager
// joinable at once, a returning manager back in the membership by itself.
// Refused, with nothing changed, on a worker and on a
// node in no swarm.
func TestForceNewCluster(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 1)
	dev01, dev02, dev03, dev04 := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3]
	dev01.mustDocker(t, "service", "create", "--detach", "--name", "kept", "--replicas", "2", "busybox", "sleep", "1000")
	before := dev01.mustDocker(t, "service", "ls", "--format", "{{.ID}} {{.Name}} {{.Mode}}")

	// A worker holds no copy of the state; a node in no swarm has none.
	errorContains(t, dev04.docker("swarm", "init", "--force-new-cluster"), "this node is a worker")
	lone := c.add(t)
	errorContains(t, lone.docker("swarm", "init", "--force-new-cluster"), "this node is not part of a swarm")
	if out := lone.mustDocker(t, "info", "--format", "{{.Swarm.LocalNodeState}}"); strings.TrimSpace(out) != "inactive" {
		t.Errorf("the refused node's swarm state is %q", out)
	}

	dev02.kill(t)
	dev03.kill(t)
	eventually(t, converge, func() error { return errorIs(dev01.docker("service", "ls"), msgNoLeader) })

	start := time.Now()
	out := dev01.mustDocker(t, "swarm", "init", "--force-new-cluster")
	if !strings.HasPrefix(out, "Swarm initialized: current node (") {
		t.Errorf("swarm init --force-new-cluster printed %q", out)
	}
	var firstWrite time.Duration
	eventually(t, converge, func() error {
		if err := dev01.docker("node", "update", "--label-add", "recovered=yes", "dev04").ok(); err != nil {
			return err
		}
		firstWrite = time.Since(start)
		return nil
	})
	t.Logf("from swarm init --force-new-cluster to the first accepted write: %v", firstWrite.Round(time.Millisecond))

	if got := dev01.mustDocker(t, "service", "ls", "--format", "{{.ID}} {{.Name}} {{.Mode}}"); got != before {
		t.Errorf("services after recovery:\n%s\nbefore:\n%s", got, before)
	}
	// The new swarm has one manager; a new manager joins at once; the
	// worker is still there.
	extra := c.add(t)
	c.join(t, extra, "manager", dev01)
	eventually(t, converge, func() error {
		tb, err := nodeTable(dev01)
		if err != nil {
			return err
		}
		for name, status := range map[string]string{"dev01": "Leader", "dev04": "", extra.name: "Reachable"} {
			if err := checkNodeRow(dev01, name, "Ready", status); err != nil {
				return err
			}
		}
		if _, err := tb.row("HOSTNAME", "dev02"); err != nil {
			return err // the dead managers are still nodes of the swarm
		}
		return nil
	})
	dev01.mustDocker(t, "service", "scale", "kept=3")

	// A dead manager that returns, still wanted as a manager, joins the
	// new membership by itself.
	dev02.start(t)
	waitNodeRow(t, dev01, "dev02", "Ready", "Reachable")
}

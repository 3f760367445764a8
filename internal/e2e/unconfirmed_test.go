package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// unconfirmedWords is the full ERROR of a task whose node dev02 is in doubt.
var unconfirmedWords = regexp.MustCompile(`^unconfirmed: node dev02 unreachable since (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d \S+, last reported running$`)

// TestUnconfirmedTasksInDockerCLI is issue 13, problem 4: while a node is
// in doubt (Unknown, then Down), the ERROR column of `docker service ps`
// says its task is unconfirmed (Docker's state names unchanged), and so do
// `--no-trunc`, `docker inspect` and `shoal service ps`; the words go away
// when the node is back. First a paused daemon (Unknown, then back with its
// task still running), then machine death (Unknown, Down, restart).
func TestUnconfirmedTasksInDockerCLI(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not on PATH")
	}
	t.Parallel()
	c := newSwarm(t, 1, 1)
	dev01, dev02 := c.nodes[0], c.nodes[1]
	// A longer grace, so the Unknown stretch (2 s of silence to the grace)
	// is long enough to look at on a loaded machine.
	setDownGrace(t, dev01, 8*time.Second)
	dev01.mustDocker(t, "service", "create", "-d", "--name", "web", "--constraint", "node.role==worker", "busybox", "sleep", taskMarker())
	waitSlots(t, dev01, "web", nil, 1)
	task := taskOn(t, dev01, "web", dev02.name)

	// A paused daemon: Unknown, its task unconfirmed; back, the words go.
	dev02.signal(t, syscall.SIGSTOP)
	waitNodeRow(t, dev01, dev02.name, "Unknown", "")
	checkUnconfirmed(t, dev01, task.ID, "Running")
	dev02.signal(t, syscall.SIGCONT)
	waitNodeRow(t, dev01, dev02.name, "Ready", "")
	eventually(t, converge, func() error { return psError(dev01, task.ID, "Running", "") })

	// Machine death: Unknown, then Down (the task desired Shutdown), each
	// with the words; restarted, the task gets its real end.
	dev02.kill(t)
	waitNodeRow(t, dev01, dev02.name, "Unknown", "")
	checkUnconfirmed(t, dev01, task.ID, "Running")
	waitNodeRow(t, dev01, dev02.name, "Down", "")
	checkUnconfirmed(t, dev01, task.ID, "Shutdown")
	dev02.start(t)
	waitNodeRow(t, dev01, dev02.name, "Ready", "")
	eventually(t, converge, func() error {
		row, err := psRow(dev01, task.ID, true)
		if err != nil {
			return err
		}
		if strings.Contains(row["ERROR"], "unconfirmed") || strings.HasPrefix(row["CURRENT STATE"], "Running") {
			return fmt.Errorf("the old task, its node back: %v", row)
		}
		return nil
	})
}

// checkUnconfirmed waits until `docker service ps` shows the task still
// Running, desired as given, with the unconfirmed words (cut by the CLI),
// then checks the whole words in --no-trunc, docker inspect and the shoal
// CLI.
func checkUnconfirmed(t *testing.T, via *node, id, desired string) {
	t.Helper()
	eventually(t, converge, func() error { return psError(via, id, desired, `"unconfirmed: node dev02 unrea…"`) })
	row, err := psRow(via, id, true)
	if err != nil {
		t.Fatal(err)
	}
	full := strings.Trim(row["ERROR"], `"`)
	if !unconfirmedWords.MatchString(full) {
		t.Errorf("service ps --no-trunc ERROR is %q, want %v", row["ERROR"], unconfirmedWords)
	}
	if got := strings.TrimSpace(via.mustDocker(t, "inspect", "--format", "{{.Status.State}}|{{.Status.Err}}", id)); got != "running|"+full {
		t.Errorf("docker inspect %s: %q, want %q", id, got, "running|"+full)
	}
	out := via.mustShoal(t, "service", "ps", "--no-trunc", "web")
	if !strings.Contains(out, full) {
		t.Errorf("shoal service ps --no-trunc lacks %q:\n%s", full, out)
	}
}

// psError checks the task's row of `docker service ps web`: desired state,
// current state Running (as Docker shows it: "Running 8 seconds ago") and
// the ERROR cell.
func psError(via *node, id, desired, wantErr string) error {
	row, err := psRow(via, id, false)
	if err != nil {
		return err
	}
	if row["DESIRED STATE"] != desired || !strings.HasPrefix(row["CURRENT STATE"], "Running ") || row["ERROR"] != wantErr {
		return fmt.Errorf("service ps row %v; want desired %s, Running, ERROR %s", row, desired, wantErr)
	}
	return nil
}

// psRow returns the row of task id in `docker service ps web`.
func psRow(via *node, id string, noTrunc bool) (map[string]string, error) {
	args := []string{"service", "ps", "web"}
	short := id[:12]
	if noTrunc {
		args, short = append(args, "--no-trunc"), id
	}
	r := via.docker(args...)
	if err := r.ok(); err != nil {
		return nil, err
	}
	return parseTable(r.stdout).row("ID", short)
}

// setDownGrace sets the cluster's node down grace (shoal's label on the
// swarm spec).
func setDownGrace(t *testing.T, via *node, grace time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	sw, err := via.client().SwarmInspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sw.Spec.Labels["com.shoal.dispatcher.node-down-grace"] = grace.String()
	if err := via.client().SwarmUpdate(ctx, sw.Version, sw.Spec, client.SwarmUpdateFlags{}); err != nil {
		t.Fatal(err)
	}
}

// signal sends sig to the daemon process alone (SIGSTOP: a frozen machine).
func (n *node) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(n.pid(), sig); err != nil {
		t.Fatalf("signal %s: %v", n.name, err)
	}
	if sig == syscall.SIGSTOP {
		t.Cleanup(func() { _ = syscall.Kill(n.pid(), syscall.SIGCONT) })
	}
}

// TestDeadLeaderNeverReadsReady is issue 13, problem 4's second half: after
// the leader's death, the new leader knows from Raft that it is gone, and
// its node list never shows it Ready (it used to for about a second after
// the election, with MANAGER STATUS Unreachable): Unknown, then Down.
func TestDeadLeaderNeverReadsReady(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 0)
	old := c.leader(t, c.nodes[0])
	survivors := c.others(old)
	var mu sync.Mutex
	var seen []string // each distinct state in order, by survivor
	done := make(chan struct{})
	var wg sync.WaitGroup
	old.kill(t)
	for _, s := range survivors {
		wg.Go(func() {
			last := ""
			tick := time.NewTicker(pollInterval)
			defer tick.Stop()
			for {
				if nodes, err := listNodes(s); err == nil {
					if st := string(nodes[old.name].Status.State); st != last {
						last = st
						mu.Lock()
						seen = append(seen, s.name+":"+st+"/"+managerStatus(nodes[old.name]))
						mu.Unlock()
					}
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		})
	}
	eventually(t, converge, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range seen {
			if strings.Contains(s, ":"+string(swarm.NodeStateDown)+"/") {
				return nil
			}
		}
		return fmt.Errorf("%s not Down yet; seen %v", old.name, seen)
	})
	close(done)
	wg.Wait()
	t.Logf("the survivors' node lists showed %s as %v", old.name, seen)
	for _, s := range seen {
		if strings.Contains(s, ":"+string(swarm.NodeStateReady)+"/") {
			t.Errorf("a survivor showed the dead leader %s Ready after its death: %v", old.name, seen)
			break
		}
	}
}

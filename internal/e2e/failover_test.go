package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// TestLeaderDeathThreeManagers is SEED-SCENARIO step 12 and 14: with three
// managers, killing the leader leaves a working swarm whose node ls shows
// the dead node Unreachable, Unknown then Down; the node comes back Ready
// and Reachable and sees what was written while it was away.
func TestLeaderDeathThreeManagers(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 0)
	old := c.leader(t, c.nodes[0])
	survivors := c.others(old)

	watch := watchRow(survivors, old.name)
	defer watch.close()
	old.kill(t)

	newLeader := c.leader(t, survivors...)
	if newLeader == old {
		t.Fatalf("the dead node %s is still the leader", old.name)
	}
	// A CLI given every manager fails over from the dead one by itself.
	hosts := old.host() + "," + survivors[0].host() + "," + survivors[1].host()
	eventually(t, converge, func() error {
		r := run(10*time.Second, cliEnv(c.dockerConfig), shoalBin, "-H", hosts, "node", "ls")
		if err := r.ok(); err != nil {
			return err
		}
		tb := parseTable(r.stdout)
		if _, err := tb.row("MANAGER STATUS", "Leader"); err != nil {
			return err
		}
		row, err := tb.row("HOSTNAME", old.name)
		if err != nil || row["MANAGER STATUS"] != "Unreachable" {
			return fmt.Errorf("dead %s: %v (%v)", old.name, row, err)
		}
		return nil
	})
	// A write through either survivor is accepted once a leader is elected.
	eventually(t, converge, func() error {
		return survivors[1].shoalWithin(10*time.Second, "node", "update", "--label-add", "written=while-dead", old.name).ok()
	})
	for _, s := range survivors {
		if got := nodeLabel(t, s, old.name, "written"); got != "while-dead" {
			t.Errorf("label written=%q through %s, want while-dead", got, s.name)
		}
	}

	// node ls: the dead node is Unreachable, Unknown, then Down.
	eventually(t, converge, func() error {
		if !slices.Contains(watch.states(), "Down/Unreachable") {
			return fmt.Errorf("%s not Down/Unreachable yet; seen %v", old.name, watch.states())
		}
		return nil
	})
	seen := watch.states()
	t.Logf("node ls showed %s as %v", old.name, seen)
	unknown, down := slices.Index(seen, "Unknown/Unreachable"), slices.Index(seen, "Down/Unreachable")
	if unknown < 0 || unknown > down {
		t.Errorf("node ls showed %s as %v; want Unknown/Unreachable before Down/Unreachable", old.name, seen)
	}

	old.start(t)
	waitNodeRow(t, old, old.name, "Ready", "Reachable")
	c.waitHealthy(t, old, map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager"})
	if got := nodeLabel(t, old, old.name, "written"); got != "while-dead" {
		t.Errorf("label written=%q through the restarted %s, want while-dead", got, old.name)
	}
	if err := checkNodeRow(old, newLeader.name, "Ready", "Leader"); err != nil {
		t.Errorf("leadership moved again after the restart: %v", err)
	}
}

// TestTwoManagersLoseQuorum is SEED-SCENARIO part 1 (steps 1-2, 6-8): two
// managers are not enough. Losing either one, leader or not, stops control
// with Docker's no-leader message, and the swarm recovers when it returns.
func TestTwoManagersLoseQuorum(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 1)
	dev01, dev02 := c.nodes[0], c.nodes[1]

	tb, err := nodeTable(dev01)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, tb, "dev01", map[string]string{"STATUS": "Ready", "AVAILABILITY": "Active", "MANAGER STATUS": "Leader"})
	wantRow(t, tb, "dev02", map[string]string{"STATUS": "Ready", "AVAILABILITY": "Active", "MANAGER STATUS": ""})

	if out := dev01.mustShoal(t, "node", "promote", "dev02"); out != "Node dev02 promoted to a manager in the swarm.\n" {
		t.Errorf("node promote printed %q", out)
	}
	waitNodeRow(t, dev01, "dev02", "Ready", "Reachable")
	both := map[string]string{"dev01": "manager", "dev02": "manager"}
	c.waitHealthy(t, dev02, both) // dev02 now serves node ls itself

	// Kill the leader: the survivor has no majority.
	leader := c.leader(t, dev01, dev02)
	survivor := c.others(leader)[0]
	leader.kill(t)
	wantNoLeader(t, survivor.shoalWithin(5*time.Second, "node", "ls"))
	wantError(t, leader.shoalWithin(5*time.Second, "node", "ls"),
		"Cannot connect to the shoal daemon at "+leader.host()+". Is the daemon running?")

	leader.start(t)
	c.waitHealthy(t, survivor, both)
	c.waitHealthy(t, leader, both)

	// Kill the manager that does not lead: the same, for the same reason.
	leader = c.leader(t, dev01, dev02)
	follower := c.others(leader)[0]
	follower.kill(t)
	var r result
	eventually(t, converge, func() error {
		r = leader.shoalWithin(5*time.Second, "node", "ls")
		if r.err != nil {
			t.Fatalf("node ls on %s with its only peer dead did not return: %v", leader.name, r)
		}
		if r.code == 0 {
			return fmt.Errorf("node ls on %s still works without a majority:\n%s", leader.name, r.stdout)
		}
		return nil
	})
	wantNoLeader(t, r)

	follower.start(t)
	c.waitHealthy(t, leader, both)
	c.waitHealthy(t, follower, both)
}

// TestWorkerReconnects: a worker that joined through dev01 keeps its session
// with the swarm when dev01 dies: it stays Ready in the other managers' view
// beyond the down grace, and its info lists every manager.
func TestWorkerReconnects(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 1)
	dev01, worker := c.nodes[0], c.nodes[3]
	survivors := []*node{c.nodes[1], c.nodes[2]}

	out := worker.mustShoal(t, "info")
	want := []string{"Is Manager: false", "Node Address: " + worker.ip, "Manager Addresses:"}
	for _, m := range c.nodes[:3] {
		want = append(want, m.addr())
	}
	if err := hasLines(out, want...); err != nil {
		t.Errorf("worker info: %v", err)
	}

	dev01.kill(t)
	// Once dev01 is Down, the down grace has passed since the survivors'
	// leader started watching: a worker without a session would be Down too.
	eventually(t, converge, func() error { return checkNodeRow(anyOf(survivors), "dev01", "Down", "Unreachable") })
	if err := checkNodeRow(anyOf(survivors), worker.name, "Ready", ""); err != nil {
		t.Fatalf("worker lost after dev01 died: %v", err)
	}
	consistently(t, downGrace+time.Second, func() error {
		return checkNodeRow(anyOf(survivors), worker.name, "Ready", "")
	})
	if err := hasLines(worker.mustShoal(t, "info"), want...); err != nil {
		t.Errorf("worker info after dev01 died: %v", err)
	}
}

// TestFullRestart: every machine of the swarm dies at once and comes back;
// the swarm resumes with the same nodes, labels, availability, settings and
// join tokens, and every node keeps a live session.
func TestFullRestart(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 1)
	dev01 := c.nodes[0]
	dev01.mustShoal(t, "node", "update", "--label-add", "zone=a", "dev02")
	dev01.mustShoal(t, "node", "update", "--label-add", "disk=ssd", "--label-add", "tier=2", "dev04")
	dev01.mustShoal(t, "node", "update", "--availability", "drain", "dev03")
	dev01.mustShoal(t, "swarm", "update", "--task-history-limit", "3")
	before := clusterFacts(t, dev01)

	killAll(t, c.nodes...)
	for _, n := range c.nodes {
		n.start(t)
	}

	managers := c.nodes[:3]
	want := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager", "dev04": ""}
	leader := c.leader(t, managers...)
	c.waitHealthy(t, leader, want)
	// Nodes restored as Ready from the log must also be alive: they stay
	// Ready past the down grace of the new leader.
	consistently(t, downGrace+time.Second, func() error {
		nodes, err := listNodes(leader)
		if err != nil {
			return err
		}
		for name, n := range nodes {
			if n.Status.State != swarm.NodeStateReady {
				return fmt.Errorf("%s is %s after the restart: %s", name, n.Status.State, describeNodes(nodes))
			}
		}
		return nil
	})
	for _, m := range managers {
		after := clusterFacts(t, m)
		if after != before {
			t.Errorf("through %s after the restart:\n%s\nbefore:\n%s", m.name, after, before)
		}
	}
}

// clusterFacts is what must survive a restart, as text: each node's ID,
// role, availability and labels, the retention limit and the join tokens.
func clusterFacts(t testing.TB, via *node) string {
	t.Helper()
	var lines []string
	var nodes map[string]swarm.Node
	eventually(t, converge, func() (err error) { nodes, err = listNodes(via); return err })
	for name, n := range nodes {
		labels, _ := json.Marshal(n.Spec.Labels)
		lines = append(lines, fmt.Sprintf("node %s %s %s %s %s", name, n.ID, n.Spec.Role, n.Spec.Availability, labels))
	}
	slices.Sort(lines)
	info := via.mustShoal(t, "info")
	if err := hasLines(info, "Task History Retention Limit: 3"); err != nil {
		t.Errorf("info through %s: %v", via.name, err)
	}
	for _, role := range []string{"worker", "manager"} {
		tok := strings.TrimSpace(via.mustShoal(t, "swarm", "join-token", "-q", role))
		lines = append(lines, role+" token "+tok)
	}
	return strings.Join(lines, "\n")
}

// wantNoLeader checks that a command failed promptly with Docker's no-leader
// message and exit status 1.
func wantNoLeader(t testing.TB, r result) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("the command did not return: %v", r)
	}
	if r.code != 1 || strings.TrimSpace(r.stderr) != msgNoLeader || r.stdout != "" {
		t.Errorf("want exit 1 and exactly %q on stderr, got %v", msgNoLeader, r)
	}
}

// wantRow checks some cells of the node ls row of name.
func wantRow(t testing.TB, tb table, name string, want map[string]string) {
	t.Helper()
	row, err := tb.row("HOSTNAME", name)
	if err != nil {
		t.Fatal(err)
	}
	for col, v := range want {
		if row[col] != v {
			t.Errorf("node ls: %s %s is %q, want %q (%v)", name, col, row[col], v, row)
		}
	}
}

// nodeLabel returns a label of node name as `node inspect` shows it through
// via ("<no value>" when it is absent).
func nodeLabel(t testing.TB, via *node, name, key string) string {
	t.Helper()
	out := via.mustShoal(t, "node", "inspect", "--format", fmt.Sprintf("{{index .Spec.Labels %q}}", key), name)
	return strings.TrimSpace(out)
}

// anyOf returns the first of nodes whose node ls answers, or the first.
func anyOf(nodes []*node) *node {
	for _, n := range nodes {
		if _, err := listNodes(n); err == nil {
			return n
		}
	}
	return nodes[0]
}

// rowWatch records, in order, the distinct "STATUS/MANAGER STATUS" values
// that `node ls` shows for one node, polling through whichever of its nodes
// answers.
type rowWatch struct {
	mu   sync.Mutex
	seen []string

	stop chan struct{}
	done chan struct{}
}

func watchRow(via []*node, name string) *rowWatch {
	w := &rowWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(via, name)
	return w
}

func (w *rowWatch) run(via []*node, name string) {
	defer close(w.done)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		for _, v := range via {
			tb, err := nodeTable(v)
			if err != nil {
				continue
			}
			if row, err := tb.row("HOSTNAME", name); err == nil {
				w.record(row["STATUS"] + "/" + row["MANAGER STATUS"])
				break
			}
		}
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

func (w *rowWatch) record(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.seen); n == 0 || w.seen[n-1] != s {
		w.seen = append(w.seen, s)
	}
}

func (w *rowWatch) states() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen)
}

func (w *rowWatch) close() {
	close(w.stop)
	<-w.done
}

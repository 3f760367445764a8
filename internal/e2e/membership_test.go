package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInspectAndInfo is SEED-SCENARIO steps 3-4: node inspect --pretty
// shows each manager's Manager Status block, and info shows the Swarm block
// on a manager (cluster, settings, every manager address) and on a worker.
func TestInspectAndInfo(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 2, 0)
	dev01, dev02 := c.nodes[0], c.nodes[1]
	// dev01 initialised the swarm; wait until it is seen leading from both.
	waitNodeRow(t, dev02, "dev01", "Ready", "Leader")

	for _, tc := range []struct {
		n      *node
		leader string
	}{{dev01, "Yes"}, {dev02, "No"}} {
		out := dev01.mustShoal(t, "node", "inspect", "--pretty", tc.n.name)
		ms := block(out, "Manager Status:")
		if err := hasLines(ms, "Address: "+tc.n.addr(), "Raft Status: Reachable", "Leader: "+tc.leader); err != nil {
			t.Errorf("node inspect --pretty %s, Manager Status block: %v\nfull output:\n%s", tc.n.name, err, out)
		}
		if err := hasLines(out, "Hostname: "+tc.n.name, "State: Ready", "Availability: Active"); err != nil {
			t.Errorf("node inspect --pretty %s: %v", tc.n.name, err)
		}
	}

	// Docker's Status.Addr is the node's IP alone; the port is in
	// ManagerStatus.Addr.
	t.Run("Status.Addr is the IP", func(t *testing.T) {
		for _, n := range c.nodes {
			got := strings.TrimSpace(dev01.mustShoal(t, "node", "inspect", "--format", "{{.Status.Addr}} {{.ManagerStatus.Addr}}", n.name))
			if want := n.ip + " " + n.addr(); got != want {
				t.Errorf("%s: Status.Addr and ManagerStatus.Addr are %q, want %q", n.name, got, want)
			}
		}
	})

	id := strings.TrimSpace(dev01.mustShoal(t, "node", "inspect", "--format", "{{.ID}}", "self"))
	out := dev01.mustShoal(t, "info")
	sw := block(out, "Swarm: active")
	wantManager := []string{
		"NodeID: " + id,
		"Is Manager: true",
		"Managers: 2",
		"Nodes: 2",
		"Orchestration:", "Task History Retention Limit: 5",
		"Raft:", "Snapshot Interval: 10000", "Number of Old Snapshots to Retain: 0", "Heartbeat Tick: 1", "Election Tick: 5",
		"Dispatcher:", "Heartbeat Period: 1 second",
		"CA Configuration:", "Expiry Duration: 3 months",
		"Autolock Managers: false",
		"Node Address: " + dev01.ip,
		"Manager Addresses:", dev01.addr(), dev02.addr(),
	}
	if err := hasLines(sw, wantManager...); err != nil {
		t.Errorf("info on a manager, Swarm block: %v\nfull output:\n%s", err, out)
	}
	if !strings.Contains(sw, "ClusterID: ") {
		t.Errorf("info on a manager has no ClusterID:\n%s", out)
	}

	worker := c.add(t)
	c.join(t, worker, "worker", dev01)
	out = worker.mustShoal(t, "info")
	sw = block(out, "Swarm: active")
	if err := hasLines(sw, "Is Manager: false", "Node Address: "+worker.ip, "Manager Addresses:", dev01.addr(), dev02.addr()); err != nil {
		t.Errorf("info on a worker, Swarm block: %v\nfull output:\n%s", err, out)
	}
	if strings.Contains(sw, "ClusterID:") || strings.Contains(sw, "Managers:") {
		t.Errorf("info on a worker shows cluster details it cannot know:\n%s", out)
	}
}

// TestJoinRoles is SEED-SCENARIO step 10: the manager token makes a manager,
// the worker token a worker.
func TestJoinRoles(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	dev01, dev02, dev03 := c.nodes[0], c.nodes[1], c.nodes[2]
	c.init(t, dev01)
	if out := c.join(t, dev02, "manager", dev01); out != "This node joined a swarm as a manager.\n" {
		t.Errorf("join with the manager token printed %q", out)
	}
	if out := c.join(t, dev03, "worker", dev01); out != "This node joined a swarm as a worker.\n" {
		t.Errorf("join with the worker token printed %q", out)
	}
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "manager", "dev03": ""})
	c.waitHealthy(t, dev02, map[string]string{"dev01": "manager", "dev02": "manager", "dev03": ""})

	for name, role := range map[string]string{"dev02": "manager", "dev03": "worker"} {
		got := strings.TrimSpace(dev01.mustShoal(t, "node", "inspect", "--format", "{{.Spec.Role}}", name))
		if got != role {
			t.Errorf("%s has role %q, want %q", name, got, role)
		}
	}
	wantError(t, dev03.shoal("node", "ls"), msgNotManager)
	if err := hasLines(dev03.mustShoal(t, "info"), "Is Manager: false"); err != nil {
		t.Error(err)
	}
}

// TestDemoteLeader: demoting the leader hands leadership over; the demoted
// node becomes a worker and can be promoted back. The demotion waits until
// the leader's own agent has heard of every manager (see
// TestDemoteLeaderRightAfterJoin for why).
func TestDemoteLeader(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 0)
	old := c.leader(t, c.nodes[0])
	waitKnownManagers(t, old, 3)
	demoteAndPromoteLeader(t, c, old)
}

// TestDemoteLeaderRightAfterJoin demotes the leader as soon as the other
// managers have joined, before its own agent's next heartbeat (1 s) has told
// it about them: the demoted node must still find the new leader and
// become a worker. The window is a race: when the leader's agent heard of
// the others first, the attempt is dropped and tried again on a new swarm.
func TestDemoteLeaderRightAfterJoin(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 5; attempt++ {
		c := joinedManagers(t)
		dev01 := c.nodes[0]
		if known := knownManagers(t, dev01); known != 1 {
			t.Logf("attempt %d: the leader's agent already knew %d managers; trying again", attempt, known)
			c.close()
			continue
		}
		demoteAndPromoteLeader(t, c, dev01)
		return
	}
	t.Skip("the leader's agent always heard of the other managers before the demotion: the race was not probed")
}

// TestDemotedWhileDown: a manager demoted while its machine is down comes
// back as a worker.
func TestDemotedWhileDown(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 0)
	waitKnownManagers(t, c.nodes[0], 3)
	demoteWhileDown(t, c)
}

// TestDemotedWhileDownStaleManagers is TestDemotedWhileDown for a machine
// that died within a heartbeat of the other managers' joining, so that the
// manager list it saved names itself alone: it must still find the swarm
// when it comes back.
func TestDemotedWhileDownStaleManagers(t *testing.T) {
	t.Parallel()
	for attempt := 1; attempt <= 5; attempt++ {
		c := joinedManagers(t)
		dev01 := c.nodes[0]
		dev01.kill(t) // freezes its saved manager list
		if known := knownManagers(t, dev01); known != 1 {
			t.Logf("attempt %d: dev01 had saved %d managers; trying again", attempt, known)
			c.close()
			continue
		}
		demoteWhileDown(t, c)
		return
	}
	t.Skip("dev01 always saved the other managers before it was killed: the case was not probed")
}

// demoteWhileDown kills dev01 (unless dead already), demotes it through the
// others, starts it again and waits until it serves as a worker.
func demoteWhileDown(t *testing.T, c *cluster) {
	t.Helper()
	dev01, dev02 := c.nodes[0], c.nodes[1]
	if dev01.running() {
		dev01.kill(t)
	}
	c.leader(t, dev02, c.nodes[2])
	eventually(t, converge, func() error {
		r := dev02.shoalWithin(10*time.Second, "node", "demote", "dev01")
		if err := r.ok(); err != nil {
			return err
		}
		if r.stdout != "Manager dev01 demoted in the swarm.\n" {
			t.Errorf("node demote printed %q", r.stdout)
		}
		return nil
	})
	waitNodeRow(t, dev02, "dev01", "-", "")
	// Once the removal has committed, the managers stop contacting dev01's
	// Raft member: nothing knocks at its address any more.
	waitQuiet(t, dev01.addr(), time.Second)
	dev01.start(t)
	eventually(t, converge, func() error { return errorIs(dev01.shoal("node", "ls"), msgNotManager) })
	c.waitHealthy(t, dev02, map[string]string{"dev01": "", "dev02": "manager", "dev03": "manager"})
}

// joinedManagers starts three daemons; dev01 initialises a swarm and the
// others join it as managers at once, without waiting for anything else.
func joinedManagers(t *testing.T) *cluster {
	t.Helper()
	c := newCluster(t, 3)
	c.init(t, c.nodes[0])
	for _, n := range c.nodes[1:] {
		c.join(t, n, "manager", c.nodes[0])
	}
	return c
}

// demoteAndPromoteLeader demotes the leader old through itself, checks that
// another manager leads and that old serves as a worker, then promotes it
// back and checks that it serves as a manager again.
func demoteAndPromoteLeader(t *testing.T, c *cluster, old *node) {
	t.Helper()
	rest := c.others(old)
	if out := old.mustShoal(t, "node", "demote", old.name); out != fmt.Sprintf("Manager %s demoted in the swarm.\n", old.name) {
		t.Errorf("node demote printed %q", out)
	}
	for _, via := range rest {
		eventually(t, converge, func() error {
			if err := checkNodeRow(via, old.name, "Ready", ""); err != nil {
				return err
			}
			tb, err := nodeTable(via)
			if err != nil {
				return err
			}
			if _, err := tb.row("MANAGER STATUS", "Leader"); err != nil {
				return fmt.Errorf("no leader after the demotion (via %s): %w", via.name, err)
			}
			return nil
		})
	}
	if newLeader := c.leader(t, rest...); newLeader == old {
		t.Fatalf("%s still leads after its demotion", old.name)
	}
	eventually(t, converge, func() error { return errorIs(old.shoal("node", "ls"), msgNotManager) })
	// The remaining managers keep working.
	rest[0].mustShoal(t, "node", "update", "--label-add", "after=demotion", old.name)

	if out := rest[0].mustShoal(t, "node", "promote", old.name); out != fmt.Sprintf("Node %s promoted to a manager in the swarm.\n", old.name) {
		t.Errorf("node promote printed %q", out)
	}
	all := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager"}
	waitNodeRow(t, rest[0], old.name, "Ready", "Reachable")
	c.waitHealthy(t, old, all)
	if got := nodeLabel(t, old, old.name, "after"); got != "demotion" {
		t.Errorf("label after=%q through %s, want demotion", got, old.name)
	}
}

// waitKnownManagers waits until n's agent has recorded count managers.
func waitKnownManagers(t testing.TB, n *node, count int) {
	t.Helper()
	eventually(t, converge, func() error {
		if known := knownManagers(t, n); known != count {
			return fmt.Errorf("%s knows %d managers, want %d", n.name, known, count)
		}
		return nil
	})
}

// knownManagers is the number of managers n's agent has recorded in its
// data root (state.json). The file is the daemon's private state: this is
// the one place the suite looks inside, to tell a bug apart from a race.
func knownManagers(t testing.TB, n *node) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dataRoot, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Managers []struct{ Addr string } }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s's state.json: %v", n.name, err)
	}
	return len(st.Managers)
}

// TestRemovedNodeCannotReturn: a running worker removed with node rm
// --force is refused from then on, even after a restart with its old
// certificate.
func TestRemovedNodeCannotReturn(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 1)
	dev01, dev02 := c.nodes[0], c.nodes[1]

	if out := dev01.mustShoal(t, "node", "rm", "--force", "dev02"); out != "dev02\n" {
		t.Errorf("node rm printed %q", out)
	}
	eventually(t, converge, func() error {
		out := dev02.mustShoal(t, "info")
		if err := hasLines(out, "Swarm: error"); err != nil {
			return err
		}
		if !strings.Contains(block(out, "Swarm: error"), "Error: ") {
			return fmt.Errorf("no Error line in the Swarm block:\n%s", out)
		}
		return nil
	})
	notListed := func() error {
		nodes, err := listNodes(dev01)
		if err != nil {
			return err
		}
		if _, ok := nodes["dev02"]; ok {
			return fmt.Errorf("dev02 is back in node ls: %s", describeNodes(nodes))
		}
		return nil
	}
	consistently(t, 3*time.Second, notListed)

	dev02.kill(t)
	dev02.start(t)
	consistently(t, 3*time.Second, notListed)
	if out := dev02.mustShoal(t, "info"); strings.Contains(out, "Swarm: active") {
		t.Errorf("the removed node reads as a swarm member after a restart:\n%s", out)
	}
}

// waitQuiet listens on the address of a dead node until no connection has
// come in for quiet, and closes it.
func waitQuiet(t testing.TB, addr string, quiet time.Duration) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the dead node's address: %v", err)
	}
	var mu sync.Mutex
	last := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
			mu.Lock()
			last = time.Now()
			mu.Unlock()
		}
	}()
	defer func() { ln.Close(); <-done }()
	eventually(t, converge, func() error {
		mu.Lock()
		defer mu.Unlock()
		if since := time.Since(last); since < quiet {
			return fmt.Errorf("%s was contacted %v ago", addr, since.Round(time.Millisecond))
		}
		return nil
	})
}

// wantError checks that a command failed with exit 1 and exactly msg.
func wantError(t testing.TB, r result, msg string) {
	t.Helper()
	if err := errorIs(r, msg); err != nil {
		t.Error(err)
	}
}

// errorIs reports whether a command failed with exit 1 and exactly msg on
// its standard error.
func errorIs(r result, msg string) error {
	if r.err != nil || r.code != 1 || strings.TrimSpace(r.stderr) != msg {
		return errors.New("want exit 1 and exactly " + fmt.Sprintf("%q", msg) + " on stderr, got " + r.String())
	}
	return nil
}

// errorContains checks that a command failed with exit 1 and a message
// holding part.
func errorContains(t testing.TB, r result, part string) {
	t.Helper()
	if r.err != nil || r.code != 1 || !strings.Contains(r.stderr, part) {
		t.Errorf("want exit 1 and %q on stderr, got %v", part, r)
	}
}

// TestCleanStop: a daemon in a swarm, worker or manager, stops cleanly on
// SIGTERM (exit status 0) and resumes its membership when started again.
func TestCleanStop(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 1)
	for _, n := range []*node{c.nodes[1], c.nodes[0]} {
		code, err := n.stop(10 * time.Second)
		if err != nil {
			t.Error(err)
		} else if code != 0 {
			t.Errorf("%s exited with status %d after SIGTERM", n.name, code)
		}
	}
	for _, n := range c.nodes {
		n.start(t)
	}
	c.waitHealthy(t, c.nodes[0], map[string]string{"dev01": "manager", "dev02": ""})
}

// swarm update's Raft settings reach the running managers: with a small
// snapshot interval, both managers take a snapshot after a few writes
// (without a restart; before, the setting waited for one).
func TestRaftSettingsApplyWithoutRestart(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 2, 0)
	dev01 := c.nodes[0]
	waitNodeRow(t, c.nodes[1], "dev01", "Ready", "Leader")
	dev01.mustShoal(t, "swarm", "update", "--snapshot-interval", "5")
	for i := range 6 {
		dev01.mustShoal(t, "node", "update", "--label-add", fmt.Sprintf("n=%d", i), "dev02")
	}
	for _, n := range c.nodes {
		dir := filepath.Join(n.dataRoot, "raft", "snapshots")
		// Raft looks at the threshold every 5-10 s.
		eventually(t, 30*time.Second, func() error {
			entries, err := os.ReadDir(dir)
			if err != nil || len(entries) == 0 {
				return fmt.Errorf("no snapshot in %s (%v)", dir, err)
			}
			return nil
		})
	}
}

// TestJoinThroughAnyManager: a node joins through whichever manager it is
// given, as in Swarm: a worker and a manager through a follower (with the
// unmodified docker CLI), and a worker through a manager that itself
// joined a moment ago. The follower forwards the join to the leader on
// behalf of no one: the joining node has no certificate yet.
func TestJoinThroughAnyManager(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 5)
	dev01, dev02, dev03, dev04, dev05 := c.nodes[0], c.nodes[1], c.nodes[2], c.nodes[3], c.nodes[4]
	c.init(t, dev01)
	c.join(t, dev02, "manager", dev01)
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": "manager"})
	if l := c.leader(t, dev01); l != dev01 {
		t.Fatalf("the leader is %s, want dev01", l.name)
	}
	dockerJoin := func(n *node, role string, via *node) {
		t.Helper()
		token := strings.TrimSpace(via.mustDocker(t, "swarm", "join-token", "-q", role))
		n.port = freePort(t, n.ip)
		out := n.mustDocker(t, "swarm", "join", "--token", token, "--listen-addr", n.addr(), "--advertise-addr", n.addr(), via.addr())
		if want := "This node joined a swarm as a " + role + ".\n"; out != want {
			t.Errorf("%s joining through %s printed %q, want %q", n.name, via.name, out, want)
		}
		n.rememberID(t)
	}
	dockerJoin(dev03, "worker", dev02)  // through a follower
	dockerJoin(dev04, "manager", dev02) // through a follower
	dockerJoin(dev05, "worker", dev04)  // through a manager that just joined
	want := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "", "dev04": "manager", "dev05": ""}
	c.waitHealthy(t, dev01, want)
	c.waitHealthy(t, dev04, want)
	// A bad token through a follower is refused in Docker's words.
	bad := "SWMTKN-1-" + strings.Repeat("0", 50) + "-" + strings.Repeat("0", 25)
	extra := c.add(t)
	extra.port = freePort(t, extra.ip)
	r := extra.docker("swarm", "join", "--token", bad, "--listen-addr", extra.addr(), "--advertise-addr", extra.addr(), dev02.addr())
	if r.ok() == nil {
		t.Fatalf("a join with a bad token through a follower worked:\n%s", r)
	}
	c.waitHealthy(t, dev01, want)
}

// TestDemotePromoteLeaderConverges: the leader is demoted and, as soon as
// its spec says worker, promoted again, ten times in a row. Each time the
// node must be a manager again (Ready, in the membership, seen alike by
// every manager). It used to stay outside the membership for good in 2 of
// 3 tries: the new leader removed it from Raft, and nothing added it back
// because the node never stopped its manager role.
func TestDemotePromoteLeaderConverges(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 3, 0)
	all := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager"}
	var took []time.Duration
	for try := 1; try <= 10; try++ {
		old := c.leader(t, c.nodes...)
		via := c.others(old)[0]
		start := time.Now()
		nodeUpdate(t, via, "demote", old.name)
		eventually(t, converge, func() error {
			r := via.docker("node", "inspect", "--format", "{{.Spec.Role}}", old.name)
			if r.ok() != nil || strings.TrimSpace(r.stdout) != "worker" {
				return fmt.Errorf("try %d: %s not a worker yet: %s", try, old.name, r)
			}
			return nil
		})
		nodeUpdate(t, via, "promote", old.name)
		for _, n := range c.nodes {
			c.waitHealthy(t, n, all)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("demote then promote of the leader, converged in: median %v, worst %v (10 tries)", took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}

// nodeUpdate runs `docker node VERB NAME`, again when it answers "update
// out of sequence" as a user would: the CLI reads the node, then writes it
// back with the version it read, and the node's status may change between
// the two (it does in Docker too).
func nodeUpdate(t *testing.T, via *node, verb, name string) {
	t.Helper()
	for range 5 {
		r := via.docker("node", verb, name)
		if r.ok() == nil {
			return
		}
		if !strings.Contains(r.stderr, "update out of sequence") {
			t.Fatal(r.ok())
		}
		t.Logf("docker node %s %s: update out of sequence; again", verb, name)
	}
	t.Fatalf("docker node %s %s: out of sequence five times", verb, name)
}

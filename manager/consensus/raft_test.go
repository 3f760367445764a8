package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/shoal-project/shoal/ca"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// member is one manager: its TLS cluster port, store and Raft, over a real
// loopback listener so that the stream layer and mTLS are exercised too.
type member struct {
	id    swarm.NodeID
	dir   string
	creds *ca.Credentials
	mux   *clusternet.Mux
	st    *store.Store
	r     *Raft
}

func startMember(t *testing.T, m *member, addr string, bootstrap bool) {
	t.Helper()
	mux, err := clusternet.Listen(addr, m.creds, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m.mux, m.st = mux, store.New()
	m.r, err = New(Config{ID: m.id, Addr: mux.Addr().String(), Dir: m.dir, Bootstrap: bootstrap,
		Spec: swarm.DefaultClusterSpec().Raft}, m.st, mux.RaftLayer(m.creds, nil))
	if err != nil {
		t.Fatal(err)
	}
}

// r0cfg is the configuration the member's Raft runs with, at addr.
func (m *member) r0cfg(addr string) Config {
	return Config{ID: m.id, Addr: addr, Dir: m.dir, Spec: swarm.DefaultClusterSpec().Raft}
}

func swarmID(s string) swarm.NodeID { return swarm.NodeID(s) }

func (m *member) stop() {
	if m.r != nil {
		m.r.Shutdown()
		m.mux.Close()
		m.r = nil
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leader(ms []*member) *member {
	for _, m := range ms {
		if m.r != nil && m.r.IsLeader() {
			return m
		}
	}
	return nil
}

func cluster(t *testing.T) []*member {
	root := catest.NewCA(t)
	var ms []*member
	for i := 1; i <= 3; i++ {
		id := swarm.NodeID(fmt.Sprintf("m%d", i))
		ms = append(ms, &member{id: id, dir: t.TempDir(), creds: catest.NewNodeWithID(t, root, id, swarm.RoleManager)})
	}
	t.Cleanup(func() {
		for _, m := range ms {
			m.stop()
		}
	})
	startMember(t, ms[0], "127.0.0.1:0", true)
	waitFor(t, "first leader", func() bool { return ms[0].r.IsLeader() })
	ctx := context.Background()
	for _, m := range ms[1:] {
		startMember(t, m, "127.0.0.1:0", false)
		if err := ms[0].r.AddVoter(ctx, m.id, m.mux.Addr().String()); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

func propose(ctx context.Context, m *member, id swarm.NodeID) error {
	return m.r.Propose(ctx, store.NewCreateNode(&swarm.Node{ID: id}))
}

// Three members elect a new leader when the leader stops, keep every
// acknowledged write, and a restarted member catches up from its own log.
func TestFailoverKeepsAcknowledgedWrites(t *testing.T) {
	ms := cluster(t)
	ctx := context.Background()
	if err := propose(ctx, ms[0], "n1"); err != nil {
		t.Fatal(err)
	}
	old := leader(ms)
	addr := old.mux.Addr().String()
	old.stop()
	var next *member
	waitFor(t, "a new leader", func() bool { next = leader(ms); return next != nil })
	waitFor(t, "leader accepts writes", func() bool { return propose(ctx, next, "n2") == nil })

	startMember(t, old, addr, false)
	waitFor(t, "restarted member catches up", func() bool {
		tx := old.st.ReadTxn()
		_, e1 := store.GetNode(tx, "n1")
		_, e2 := store.GetNode(tx, "n2")
		return e1 == nil && e2 == nil
	})
	members, err := next.r.Members()
	if err != nil || len(members) != 3 {
		t.Fatalf("members %v, %v", members, err)
	}
}

// A store refusal comes back to the proposer; a follower cannot propose.
func TestProposeOutcomes(t *testing.T) {
	ms := cluster(t)
	ctx := context.Background()
	l := leader(ms)
	if err := propose(ctx, l, "dup"); err != nil {
		t.Fatal(err)
	}
	if err := propose(ctx, l, "dup"); !errors.Is(err, swarm.ErrAlreadyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	for _, m := range ms {
		if m != l {
			if err := propose(ctx, m, "x"); !errors.Is(err, swarm.ErrUnavailable) || err.Error() != swarm.MsgNoLeader {
				t.Fatalf("follower propose: %v", err)
			}
		}
	}
}

// With two of three members gone, the survivor accepts no write and says
// so with Docker's message instead of hanging.
func TestMinorityRefusesWrites(t *testing.T) {
	ms := cluster(t)
	l := leader(ms)
	for _, m := range ms {
		if m != l {
			m.stop()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := propose(ctx, l, "lost")
	if !errors.Is(err, swarm.ErrUnavailable) {
		t.Fatalf("minority write: %v", err)
	}
	if _, err := store.GetNode(l.st.ReadTxn(), "lost"); err == nil {
		t.Fatal("a minority applied a write")
	}
}

// A member with a worker certificate cannot take part in Raft.
func TestWorkerCertificateCannotJoinRaft(t *testing.T) {
	root := catest.NewCA(t)
	m := &member{id: "m1", dir: t.TempDir(), creds: catest.NewNodeWithID(t, root, "m1", swarm.RoleManager)}
	startMember(t, m, "127.0.0.1:0", true)
	defer m.stop()
	w := catest.NewNodeWithID(t, root, "w1", swarm.RoleWorker)
	layer := m.mux.RaftLayer(w, nil)
	if c, err := layer.Dial("127.0.0.1:1", time.Second); err == nil {
		c.Close()
		t.Fatal("dial to a closed port succeeded")
	}
	wm, err := clusternet.Listen("127.0.0.1:0", w, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer wm.Close()
	if c, err := wm.RaftLayer(w, nil).Dial(m.r.transport.LocalAddr(), time.Second); err == nil {
		// The handshake may complete before the server refuses; the
		// connection must then be closed by the server.
		buf := make([]byte, 1)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, rerr := c.Read(buf)
		c.Close()
		if rerr == nil {
			t.Fatal("a worker certificate was accepted for raft")
		}
	}
}

// A member restarted after a snapshot rebuilds its store from the snapshot
// plus the log after it.
func TestRestartFromSnapshot(t *testing.T) {
	root := catest.NewCA(t)
	m := &member{id: "m1", dir: t.TempDir(), creds: catest.NewNodeWithID(t, root, "m1", swarm.RoleManager)}
	startMember(t, m, "127.0.0.1:0", true)
	defer m.stop()
	waitFor(t, "leader", m.r.IsLeader)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := propose(ctx, m, swarm.NodeID(fmt.Sprintf("before%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.r.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if err := propose(ctx, m, "after"); err != nil {
		t.Fatal(err)
	}
	addr := m.mux.Addr().String()
	m.stop()
	startMember(t, m, addr, true) // bootstrap is a no-op on existing state
	waitFor(t, "leader after restart", m.r.IsLeader)
	if err := m.r.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	nodes, _ := store.ListNodes(m.st.ReadTxn())
	if len(nodes) != 6 {
		t.Fatalf("after restart: %d nodes, want 6", len(nodes))
	}
}

// A read on a new leader sees every write its predecessor acknowledged,
// even one the followers had not yet learned was committed when the old
// leader died: the new leader serves reads only once it has applied
// everything committed before its term. (Found by the fault-injection
// harness as a non-linearizable history under freeze-leader.)
func TestNewLeaderReadsSeeAcknowledgedWrites(t *testing.T) {
	ms := cluster(t)
	ctx := context.Background()
	for round := range 4 {
		old := leader(ms)
		if old == nil {
			waitFor(t, "a leader", func() bool { old = leader(ms); return old != nil })
		}
		last := swarm.NodeID(fmt.Sprintf("round%d", round))
		if err := propose(ctx, old, last); err != nil {
			t.Fatal(err)
		}
		addr := old.mux.Addr().String()
		old.stop() // at once: the followers may not know last is committed
		var next *member
		deadline := time.Now().Add(15 * time.Second)
		for next == nil && time.Now().Before(deadline) {
			for _, m := range ms {
				if m.r != nil && m.r.IsLeader() && m.r.VerifyLeader(ctx) == nil {
					next = m
					break
				}
			}
		}
		if next == nil {
			t.Fatal("no leader confirmed itself")
		}
		if _, err := store.GetNode(next.st.ReadTxn(), last); err != nil {
			t.Fatalf("round %d: the new leader confirmed itself but its store lacks the acknowledged write %s", round, last)
		}
		startMember(t, old, addr, false)
	}
}

// A member takes a snapshot once the commands applied since its last one
// reach SnapshotBytes, long before SnapshotInterval entries: a restarted
// member then replays only what came after it.
func TestSnapshotBySize(t *testing.T) {
	root := catest.NewCA(t)
	for _, c := range []struct {
		limit int
		want  bool
	}{{limit: 2 << 10, want: true}, {limit: 1 << 30, want: false}} {
		m := &member{id: "m1", dir: t.TempDir(), creds: catest.NewNodeWithID(t, root, "m1", swarm.RoleManager)}
		mux, err := clusternet.Listen("127.0.0.1:0", m.creds, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		m.mux, m.st = mux, store.New()
		m.r, err = New(Config{ID: m.id, Addr: mux.Addr().String(), Dir: m.dir, Bootstrap: true,
			Spec: swarm.DefaultClusterSpec().Raft, SnapshotBytes: c.limit}, m.st, mux.RaftLayer(m.creds, nil))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "leader", m.r.IsLeader)
		for i := range 30 { // about 100 bytes each
			if err := propose(context.Background(), m, swarm.NodeID(fmt.Sprintf("node%02d", i))); err != nil {
				t.Fatal(err)
			}
		}
		snapshotted := func() bool { return m.r.raft.Stats()["last_snapshot_index"] != "0" }
		if c.want {
			waitFor(t, "a snapshot after 3 KB of commands", snapshotted)
		} else if snapshotted() {
			t.Errorf("a snapshot with a %d-byte limit and 30 small commands", c.limit)
		}
		m.stop()
	}
}

package dispatcher

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setup(t *testing.T) (*storetest.Proposer, *Dispatcher) {
	t.Helper()
	p := storetest.NewProposer()
	ctx := context.Background()
	must(t, p.Propose(ctx, store.NewCreateCluster(&swarm.Cluster{ID: "c", Spec: swarm.DefaultClusterSpec()})))
	for _, id := range []swarm.NodeID{"m1", "w1"} {
		role := swarm.RoleWorker
		if id == "m1" {
			role = swarm.RoleManager
		}
		n := &swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: role, Availability: swarm.AvailabilityActive},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady}}
		must(t, p.Propose(ctx, store.NewCreateNode(n)))
	}
	d := New(Config{
		Store: p.Store, Proposer: p,
		Managers: func() []dispatchapi.Peer { return []dispatchapi.Peer{{NodeID: "m1", Addr: "10.0.0.1:2377"}} },
	})
	return p, d
}

// start runs d until the test ends (inside a synctest bubble, before the
// bubble waits for its goroutines) and returns the context it runs with.
func start(t *testing.T, d *Dispatcher) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func state(t *testing.T, st *store.Store, id swarm.NodeID) swarm.NodeState {
	t.Helper()
	n, err := store.GetNode(st.ReadTxn(), id)
	must(t, err)
	return n.Status.State
}

// A node that stops heartbeating becomes Unknown after two periods and Down
// after the grace period; one that keeps heartbeating stays Ready.
func TestSilentNodeGoesUnknownThenDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher

		beat := func() {
			resp, err := d.Heartbeat(ctx, "m1", dispatchapi.HeartbeatRequest{Addr: "10.0.0.1"})
			must(t, err)
			if resp.Period != spec.HeartbeatPeriod || resp.Role != swarm.RoleManager || len(resp.Managers) != 1 {
				t.Fatalf("heartbeat response %+v", resp)
			}
		}
		var sawUnknown bool
		for elapsed := time.Duration(0); elapsed < spec.NodeDownGrace+spec.HeartbeatPeriod; elapsed += spec.HeartbeatPeriod / 2 {
			beat()
			time.Sleep(spec.HeartbeatPeriod / 2)
			synctest.Wait()
			if state(t, p.Store, "w1") == swarm.NodeStateUnknown {
				sawUnknown = true
			}
		}
		if !sawUnknown {
			t.Error("silent worker never shown Unknown before Down")
		}
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateDown {
			t.Errorf("silent worker is %s, want down", got)
		}
		if got := state(t, p.Store, "m1"); got != swarm.NodeStateReady {
			t.Errorf("heartbeating manager is %s, want ready", got)
		}
	})
}

// A silent node is marked Down when its grace period ends (give or take
// verdictBatch), not at the liveness loop's next tick (up to half a period
// later): the refill of a dead node's slots starts then.
func TestSilentNodeIsDownWhenItsGraceEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		beat := func(id swarm.NodeID) {
			_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: "10.0.0.1"})
			must(t, err)
		}
		// w1's last heartbeat comes between two ticks of the loop.
		const offset = 200 * time.Millisecond
		time.Sleep(offset)
		beat("w1")
		beat("m1")
		lastBeat := time.Now()
		downAt := lastBeat.Add(spec.NodeDownGrace)
		for time.Until(downAt) > spec.HeartbeatPeriod/2 {
			time.Sleep(spec.HeartbeatPeriod / 2)
			beat("m1")
		}
		time.Sleep(time.Until(downAt) - time.Millisecond)
		synctest.Wait()
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateUnknown {
			t.Fatalf("1 ms before its grace ends, w1 is %s, want unknown", got)
		}
		time.Sleep(verdictBatch + time.Millisecond)
		synctest.Wait()
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateDown {
			t.Fatalf("%v after its grace ended, w1 is %s, want down (the next tick is %v later)", verdictBatch, got, spec.HeartbeatPeriod/2-offset)
		}
	})
}

// A heartbeat from a Down node makes it Ready again, and a demoted node
// keeps the manager role while it is still a Raft member.
func TestHeartbeatRevivesAndKeepsMemberAManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()
		must(t, p.Propose(ctx, store.NewUpdateNodeStatus("w1", swarm.NodeStatus{State: swarm.NodeStateDown})))
		resp, err := d.Heartbeat(ctx, "w1", dispatchapi.HeartbeatRequest{Addr: "10.0.0.2:2377"})
		must(t, err)
		if resp.Role != swarm.RoleWorker {
			t.Errorf("worker told role %s", resp.Role)
		}
		synctest.Wait() // the loop writes the revival
		n, _ := store.GetNode(p.Store.ReadTxn(), "w1")
		if n.Status.State != swarm.NodeStateReady || n.Status.Addr != "10.0.0.2" || n.Status.ClusterAddr != "10.0.0.2:2377" {
			t.Errorf("after heartbeat: %+v", n.Status)
		}
		// Demote m1 in the spec: while still a member it must stay a manager.
		must(t, p.Propose(ctx, store.NewUpdateNodeSpec("m1", swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive}, 0)))
		resp, err = d.Heartbeat(ctx, "m1", dispatchapi.HeartbeatRequest{Addr: "10.0.0.1"})
		must(t, err)
		if resp.Role != swarm.RoleManager {
			t.Errorf("demoted raft member told role %s before leaving raft", resp.Role)
		}
		cancel()
		<-done
		if _, err := d.Heartbeat(context.Background(), "w1", dispatchapi.HeartbeatRequest{}); err == nil {
			t.Error("heartbeat to a stopped dispatcher succeeded")
		}
	})
}

func TestUnknownNodeIsRefused(t *testing.T) {
	_, d := setup(t)
	_, err := d.Heartbeat(context.Background(), "ghost", dispatchapi.HeartbeatRequest{})
	if err == nil {
		t.Fatal("heartbeat from an unknown node accepted")
	}
}

// slowVerdicts delays liveness-verdict commits, as a loaded Raft would.
type slowVerdicts struct {
	*storetest.Proposer
	delay time.Duration
}

func (s slowVerdicts) Propose(ctx context.Context, cmd *store.Command) error {
	verdict := cmd.Op == store.OpUpdateNodeStatuses ||
		cmd.Op == store.OpUpdateNodeStatus && cmd.NodeStatus.State != swarm.NodeStateReady
	if verdict {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Proposer.Propose(ctx, cmd)
}

// A slow commit of verdicts does not hold up heartbeats: with 1,000 nodes,
// heartbeats queued behind such writes passed the grace period, marking
// more nodes down and making more writes.
func TestSlowVerdictWriteDoesNotDelayHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := setup(t)
		spec := swarm.DefaultClusterSpec().Dispatcher
		d := New(Config{
			Store: p.Store, Proposer: slowVerdicts{p, spec.NodeDownGrace},
			Managers: func() []dispatchapi.Peer { return []dispatchapi.Peer{{NodeID: "m1", Addr: "10.0.0.1:2377"}} },
		})
		ctx := start(t, d)
		for elapsed := time.Duration(0); elapsed < 4*spec.NodeDownGrace; elapsed += spec.HeartbeatPeriod / 2 {
			start := time.Now()
			_, err := d.Heartbeat(ctx, "m1", dispatchapi.HeartbeatRequest{Addr: "10.0.0.1"})
			must(t, err)
			if waited := time.Since(start); waited > 0 {
				t.Fatalf("heartbeat took %v while a verdict write was pending", waited)
			}
			time.Sleep(spec.HeartbeatPeriod / 2)
			synctest.Wait()
			if got := state(t, p.Store, "m1"); got != swarm.NodeStateReady {
				t.Fatalf("heartbeating manager is %s after %v", got, elapsed)
			}
		}
		if got := state(t, p.Store, "w1"); got != swarm.NodeStateDown {
			t.Errorf("silent worker is %s, want down", got)
		}
	})
}

// countingProposer counts the node status commands and delays them, as a
// loaded Raft would.
type countingProposer struct {
	*storetest.Proposer
	delay      time.Duration
	mu         sync.Mutex
	single     int // one node's status
	batched    int // several nodes' statuses
	batchNodes int
}

func (c *countingProposer) Propose(ctx context.Context, cmd *store.Command) error {
	switch cmd.Op {
	case store.OpUpdateNodeStatus:
		c.mu.Lock()
		c.single++
		c.mu.Unlock()
	case store.OpUpdateNodeStatuses:
		c.mu.Lock()
		c.batched++
		c.batchNodes += len(cmd.NodeChanges)
		c.mu.Unlock()
		time.Sleep(c.delay)
	}
	return c.Proposer.Propose(ctx, cmd)
}

// Nodes coming back write one command together, and their heartbeats do
// not wait for it: under load, a Raft entry per returning node, each
// awaited by its heartbeat, kept nodes silent and Unknown in a loop.
func TestRevivalsAreWrittenTogetherWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := setup(t)
		const n = 200
		ids := make([]swarm.NodeID, n)
		for i := range ids {
			ids[i] = swarm.NodeID(fmt.Sprintf("n%03d", i))
			node := &swarm.Node{ID: ids[i], Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
				Status: swarm.NodeStatus{State: swarm.NodeStateDown}}
			must(t, p.Propose(context.Background(), store.NewCreateNode(node)))
		}
		cp := &countingProposer{Proposer: p, delay: 200 * time.Millisecond}
		d := New(Config{Store: p.Store, Proposer: cp,
			Managers: func() []dispatchapi.Peer { return []dispatchapi.Peer{{NodeID: "m1", Addr: "10.0.0.1:2377"}} }})
		ctx := start(t, d)
		start := time.Now()
		for i, id := range ids {
			_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: fmt.Sprintf("10.0.1.%d:2377", i)})
			must(t, err)
		}
		if waited := time.Since(start); waited > 0 {
			t.Errorf("%d heartbeats of Down nodes took %v: they waited for a write", n, waited)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, id := range ids {
			nd, err := store.GetNode(p.Store.ReadTxn(), id)
			must(t, err)
			if nd.Status.State != swarm.NodeStateReady || nd.Status.ClusterAddr != fmt.Sprintf("10.0.1.%d:2377", i) {
				t.Fatalf("node %s after its heartbeat: %+v", id, nd.Status)
			}
		}
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if cp.single != 0 || cp.batched > 2 || cp.batchNodes < n {
			t.Errorf("%d nodes revived with %d one-node writes and %d batched writes (of %d nodes); want one or two batched",
				n, cp.single, cp.batched, cp.batchNodes)
		}
	})
}

// addWorkers creates n Ready workers named prefix000, prefix001, ...
func addWorkers(t *testing.T, p *storetest.Proposer, prefix string, n int) []swarm.NodeID {
	t.Helper()
	ids := make([]swarm.NodeID, n)
	for i := range ids {
		ids[i] = swarm.NodeID(fmt.Sprintf("%s%03d", prefix, i))
		node := &swarm.Node{ID: ids[i], Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady}}
		must(t, p.Propose(context.Background(), store.NewCreateNode(node)))
	}
	return ids
}

// When most nodes fall silent together, they go Unknown but not Down (their
// tasks stay); once most are heard from again, those still silent go Down.
func TestMassSilenceHoldsDownVerdicts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		ids := addWorkers(t, p, "n", 20)
		ctx := start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		beating := append([]swarm.NodeID{"m1", "w1"}, ids[:5]...) // 7 of 22 heard from
		run := func(d2 time.Duration) {
			for elapsed := time.Duration(0); elapsed < d2; elapsed += spec.HeartbeatPeriod / 2 {
				for _, id := range beating {
					_, err := d.Heartbeat(ctx, id, dispatchapi.HeartbeatRequest{Addr: "10.0.0.9:2377"})
					must(t, err)
				}
				time.Sleep(spec.HeartbeatPeriod / 2)
				synctest.Wait()
			}
		}
		run(3 * spec.NodeDownGrace)
		for _, id := range ids[5:] {
			if got := state(t, p.Store, id); got != swarm.NodeStateUnknown {
				t.Fatalf("with 15 of 22 nodes silent, silent node %s is %s, want unknown", id, got)
			}
		}
		beating = append(beating, ids[5:17]...) // 3 of 22 silent now
		run(2 * spec.NodeDownGrace)
		for i, id := range ids {
			want := swarm.NodeStateReady
			if i >= 17 {
				want = swarm.NodeStateDown
			}
			if got := state(t, p.Store, id); got != want {
				t.Errorf("node %s is %s, want %s", id, got, want)
			}
		}
	})
}

// A node that joined during the term is not marked Down before it had a
// grace period to send its first heartbeat.
func TestNewNodeHasItsGracePeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, d := setup(t)
		start(t, d)
		spec := swarm.DefaultClusterSpec().Dispatcher
		time.Sleep(2 * spec.NodeDownGrace) // the term is old
		ids := addWorkers(t, p, "new", 1)
		time.Sleep(spec.NodeDownGrace / 2)
		synctest.Wait()
		if got := state(t, p.Store, ids[0]); got != swarm.NodeStateReady {
			t.Errorf("a node that joined %v ago is %s", spec.NodeDownGrace/2, got)
		}
		time.Sleep(spec.NodeDownGrace)
		synctest.Wait()
		if got := state(t, p.Store, ids[0]); got != swarm.NodeStateDown {
			t.Errorf("a node silent since it joined %v ago is %s, want down", 3*spec.NodeDownGrace/2, got)
		}
	})
}

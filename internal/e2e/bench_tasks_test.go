package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// BenchmarkRefillAfterWorkerDeath measures the time from a worker's machine
// death to every slot of a 6-replica service running again (on the
// survivors). Metric: refill-p50-ms, refill-max-ms.
func BenchmarkRefillAfterWorkerDeath(b *testing.B) {
	c := newSwarm(b, 1, 2)
	benchRefill(b, c, func(i int) *node { return c.nodes[1+i%2] })
}

// BenchmarkRefillAfterLeaderDeath is the same when the dead machine is the
// leader of three managers, and ran tasks itself.
func BenchmarkRefillAfterLeaderDeath(b *testing.B) {
	c := newSwarm(b, 3, 0)
	benchRefill(b, c, func(int) *node { return c.leader(b, c.nodes...) })
}

func benchRefill(b *testing.B, c *cluster, pick func(i int) *node) {
	const replicas = 6
	c.nodes[0].mustShoal(b, "service", "create", "-d", "--name", "bench", "--replicas", strconv.Itoa(replicas), "busybox", "sleep", taskMarker())
	waitSlots(b, c.nodes[0], "bench", map[int]string{}, replicas)
	want := map[string]string{}
	for _, n := range c.nodes {
		want[n.name] = ""
		if ms := managerRole(b, c.nodes[0], n.name); ms {
			want[n.name] = "manager"
		}
	}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		victim := pick(i)
		survivors := c.others(victim)
		b.StartTimer()
		t0 := time.Now()
		victim.kill(b)
		if err := poll(converge, func() error { return allSlotsRunningAway(survivors, "bench", victim.name, replicas) }); err != nil {
			b.Fatalf("iteration %d: %v", i, err)
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		victim.start(b)
		c.waitHealthy(b, survivors[0], want)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(ms(took[len(took)/2]), "refill-p50-ms")
	b.ReportMetric(ms(took[len(took)-1]), "refill-max-ms")
}

func managerRole(b *testing.B, via *node, name string) bool {
	nodes, err := listNodes(via)
	if err != nil {
		b.Fatal(err)
	}
	return nodes[name].ManagerStatus != nil
}

// allSlotsRunningAway checks, through any survivor that answers, that every
// slot has a running task and none of them is on the dead node.
func allSlotsRunningAway(survivors []*node, service, dead string, n int) error {
	var last error
	for _, via := range survivors {
		names, err := nodeNames(via)
		if err != nil {
			last = err
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		tasks, err := via.client().TaskList(ctx, client.NewFilters().Add("service", service))
		cancel()
		if err != nil {
			last = err
			continue
		}
		running := map[int]bool{}
		for _, t := range tasks {
			if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning && names[t.NodeID] != dead {
				running[t.Slot] = true
			}
		}
		if len(running) == n {
			return nil
		}
		return fmt.Errorf("%d of %d slots running away from %s", len(running), n, dead)
	}
	return last
}

// BenchmarkConverge100 and BenchmarkConverge1000 measure the time for a
// service of that many replicas (real processes) to have every task
// running on a 3-node swarm. Metric: converge-ms.
func BenchmarkConverge100(b *testing.B)  { benchConverge(b, 100) }
func BenchmarkConverge1000(b *testing.B) { benchConverge(b, 1000) }

func benchConverge(b *testing.B, replicas int) {
	c := newSwarm(b, 1, 2)
	via := c.nodes[0]
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := "conv" + strconv.Itoa(i)
		t0 := time.Now()
		via.mustShoal(b, "service", "create", "-d", "--name", name, "--replicas", strconv.Itoa(replicas), "busybox", "sleep", taskMarker())
		if err := poll(2*time.Minute, func() error { return allRunning(via, name, replicas) }); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		via.mustShoal(b, "service", "rm", name)
		eventually(b, 2*time.Minute, func() error { return noTasks(via, name) })
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(ms(took[len(took)/2]), "converge-ms")
}

func allRunning(via *node, service string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svcs, err := via.client().ServiceList(ctx, client.NewFilters().Add("name", service), true)
	if err != nil || len(svcs) != 1 || svcs[0].ServiceStatus == nil {
		return fmt.Errorf("service %s: %v", service, err)
	}
	if st := svcs[0].ServiceStatus; int(st.RunningTasks) != n {
		return fmt.Errorf("%d of %d running", st.RunningTasks, n)
	}
	return nil
}

func noTasks(via *node, service string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tasks, err := via.client().TaskList(ctx, nil)
	if err != nil {
		return err
	}
	if len(tasks) > 0 {
		return fmt.Errorf("%d tasks left", len(tasks))
	}
	return nil
}

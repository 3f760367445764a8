package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkLeaderFailover measures how long a three-manager swarm stays
// unable to accept a write after its leader's machine dies: each iteration
// kills the leader (t0), then tries a node label update through each
// survivor every writeRetry until one is accepted (t1). The killed node is
// restarted, and rejoins as Reachable, outside the timed part.
//
// Metrics: failover-p50-ms and failover-max-ms (t1-t0), and rss-MB, the
// mean resident memory of an idle manager daemon.
func BenchmarkLeaderFailover(b *testing.B) {
	c := newSwarm(b, 3, 0)
	managers := map[string]string{"dev01": "manager", "dev02": "manager", "dev03": "manager"}
	rss := idleRSS(b, c.nodes)

	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		leader := c.leader(b, c.nodes...)
		survivors := c.others(leader)
		label := "bench-" + strconv.Itoa(i)
		b.StartTimer()

		t0 := time.Now()
		leader.kill(b)
		if err := writeUntilAccepted(survivors, label, converge); err != nil {
			b.Fatalf("iteration %d: no survivor accepted a write within %v of the leader's death: %v", i, converge, err)
		}
		took = append(took, time.Since(t0))

		b.StopTimer()
		leader.start(b)
		c.waitHealthy(b, survivors[0], managers)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(ms(took[len(took)/2]), "failover-p50-ms")
	b.ReportMetric(ms(took[len(took)-1]), "failover-max-ms")
	b.ReportMetric(rss, "rss-MB") // after the loop: ResetTimer drops metrics
}

// writeRetry is the pause between two rounds of write attempts.
const writeRetry = 10 * time.Millisecond

// writeUntilAccepted tries a label update on each survivor's own node,
// through that survivor, until one is accepted or within passes.
func writeUntilAccepted(survivors []*node, label string, within time.Duration) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(writeRetry)
	defer tick.Stop()
	var last error
	for time.Now().Before(deadline) {
		for _, s := range survivors {
			if last = labelNode(s, label); last == nil {
				return nil
			}
		}
		<-tick.C
	}
	return last
}

// labelNode adds label=yes to via's own node through via.
func labelNode(via *node, label string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	api := via.client()
	n, _, err := api.NodeInspect(ctx, via.name)
	if err != nil {
		return err
	}
	spec := n.Spec
	spec.Labels = map[string]string{label: "yes"}
	return api.NodeUpdate(ctx, n.ID, n.Version, spec)
}

// idleRSS lets the cluster idle for idleWindow, sampling the resident
// memory of every daemon, and returns the mean of the last samples in MB.
func idleRSS(b *testing.B, nodes []*node) float64 {
	b.Helper()
	const idleWindow = 3 * time.Second
	last := map[string]float64{}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(idleWindow); time.Now().Before(end); <-tick.C {
		for _, n := range nodes {
			kb, err := vmRSS(n.pid())
			if err != nil {
				b.Fatal(err)
			}
			last[n.name] = float64(kb) / 1024
		}
	}
	var sum float64
	for _, v := range last {
		sum += v
	}
	return sum / float64(len(last))
}

// vmRSS reads VmRSS (in kB) from /proc/<pid>/status.
func vmRSS(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/fleet"
)

// Sizes of the later measurements.
const (
	serviceCalls   = 50              // service ls and service create calls timed
	deadFraction   = 10              // percent of the fleet killed at once
	refillTimeout  = 5 * time.Minute // for the dead nodes' slots to run elsewhere
	failoverLimit  = time.Minute     // for a new leader to accept a write
	failoverPeriod = 20 * time.Millisecond
)

// timeCalls runs call n times and prints its p50 and p99 latency as
// name-p50-ms and name-p99-ms.
func timeCalls(ctx context.Context, name string, n int, call func(i int) error) error {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if err := call(i); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		lat = append(lat, time.Since(start))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	slices.Sort(lat)
	figure(name+"-p50-ms", ms(percentile(lat, 50)), "ms")
	figure(name+"-p99-ms", ms(percentile(lat, 99)), "ms")
	return nil
}

// measureAPILatencyApart runs measureAPILatency against socket in a child
// process, as a CLI user's client is: in this process the client's decoding
// would share the garbage collector and the scheduler with the thousand
// simulated agents, and measure them rather than the managers.
func measureAPILatencyApart(ctx context.Context, socket string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "--api-latency-client", socket)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("API latency client: %w", err)
	}
	return nil
}

// apiLatencyClient is the child process of measureAPILatencyApart. Besides
// the client calls, it times the raw node list (the whole body read, not
// decoded), to tell the manager's part from the client's.
func apiLatencyClient(socket string) error {
	api, err := client.New([]string{"unix://" + socket})
	if err != nil {
		return err
	}
	defer api.Close()
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	defer hc.CloseIdleConnections()
	err = timeCalls(ctx, "node-ls-raw", nodeLsCalls, func(int) error {
		resp, err := hc.Get("http://shoal/v1.50/nodes")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /nodes: %s", resp.Status)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	})
	if err != nil {
		return err
	}
	return measureAPILatency(ctx, api)
}

// measureAPILatency times node ls, service ls and service create (services
// of zero replicas: the write path, without adding tasks) at the leader.
func measureAPILatency(ctx context.Context, api *client.Client) error {
	if err := timeCalls(ctx, "node-ls", nodeLsCalls, func(int) error {
		_, err := api.NodeList(ctx, nil)
		return err
	}); err != nil {
		return err
	}
	if err := timeCalls(ctx, "service-ls", serviceCalls, func(int) error {
		_, err := api.ServiceList(ctx, nil, true)
		return err
	}); err != nil {
		return err
	}
	return timeCalls(ctx, "service-create", serviceCalls, func(i int) error {
		_, _, err := api.ServiceCreate(ctx, fleet.ReplicatedService(fmt.Sprintf("lat%03d", i), 0), client.ServiceCreateOptions{})
		return err
	})
}

// measureRefill kills deadFraction percent of the fleet at once and times
// it until the live nodes run every task again.
func (b *bench) measureRefill(ctx context.Context) error {
	count := max(1, b.o.nodes*deadFraction/100)
	start := time.Now()
	b.fleet.Kill(count)
	fmt.Fprintf(os.Stderr, "killed %d nodes at %s\n", count, start.UTC().Format("15:04:05.000"))
	err := fleet.Poll(ctx, refillTimeout, 50*time.Millisecond, func() error {
		if held := b.fleet.RunningTasks(); held != int(b.o.tasks) {
			return fmt.Errorf("the live nodes run %d of %d tasks", held, b.o.tasks)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("refill after %d nodes died: %w", count, err)
	}
	figure("refill-dead-nodes", float64(count), "nodes")
	figure("refill-s", time.Since(start).Seconds(), "s")
	return nil
}

// raftSizes prints the size of a manager's Raft log store and snapshots.
func raftSizes(d *fleet.Daemon, dataRoot, when string) error {
	dir := filepath.Join(dataRoot, d.Name(), "raft")
	st, err := os.Stat(filepath.Join(dir, "raft.db"))
	if err != nil {
		return err
	}
	var snaps int64
	err = filepath.WalkDir(filepath.Join(dir, "snapshots"), func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := e.Info(); err == nil && !e.IsDir() {
			snaps += info.Size()
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	figure("raft-log-mb-"+when, float64(st.Size())/(1<<20), "MiB")
	figure("raft-snapshots-mb-"+when, float64(snaps)/(1<<20), "MiB")
	return nil
}

// lateProbe measures how late this process (the simulated fleet) wakes a
// goroutine that asks to run every 10 ms. The agents' timers and reads are
// as late: near a second, their timeouts measure the simulator's own
// starvation (a thousand nodes in one process), not the managers'.
type lateProbe struct {
	stop chan struct{}
	done chan []time.Duration
}

func startLateProbe() *lateProbe {
	p := &lateProbe{stop: make(chan struct{}), done: make(chan []time.Duration, 1)}
	go func() {
		const every = 10 * time.Millisecond
		var late []time.Duration
		t := time.NewTicker(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-p.stop:
				p.done <- late
				return
			case now := <-t.C:
				late = append(late, max(0, now.Sub(last)-every))
				last = now
			}
		}
	}()
	return p
}

// report prints the probe's p99 and worst lateness under name.
func (p *lateProbe) report(name string) {
	close(p.stop)
	late := <-p.done
	if len(late) == 0 {
		return
	}
	slices.Sort(late)
	fmt.Printf("%s-p99-ms %.2f ms\n", name, ms(late[len(late)*99/100]))
	fmt.Printf("%s-max-ms %.2f ms\n", name, ms(late[len(late)-1]))
}

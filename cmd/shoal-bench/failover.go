package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/fleet"
)

// measureFailovers kills the leader's whole process group n times and times
// each until another manager accepts a write (a label on the benchmark
// service); between kills the dead manager starts again and rejoins. It
// returns the leader at the end.
func (b *bench) measureFailovers(ctx context.Context, leader *fleet.Daemon, serviceID string, n int) (*fleet.Daemon, error) {
	var took []time.Duration
	for range n {
		d, next, err := b.failover(ctx, leader, serviceID)
		if err != nil {
			return nil, err
		}
		took = append(took, d)
		fmt.Fprintf(os.Stderr, "failover %d: %s killed, a write accepted %.2f s later\n", len(took), leader.Name(), d.Seconds())
		if err := b.restart(ctx, leader, next); err != nil {
			return nil, err
		}
		if leader, err = b.leader(ctx, next.Client()); err != nil {
			return nil, err
		}
	}
	slices.Sort(took)
	figure("failovers", float64(len(took)), "kills")
	figure("failover-median-s", took[len(took)/2].Seconds(), "s")
	figure("failover-max-s", took[len(took)-1].Seconds(), "s")
	return leader, nil
}

// failover has a child process kill the leader and time it until a
// survivor accepts a write (see failoverClient); it returns the time and
// that survivor. The child measures, not this process: here, the thousand
// simulated agents failing over at the same instant would delay the
// client's own calls (by 0.4 s in one run), which a CLI user's process
// does not share.
func (b *bench) failover(ctx context.Context, leader *fleet.Daemon, serviceID string) (time.Duration, *fleet.Daemon, error) {
	var other *fleet.Daemon
	for _, d := range b.mgrs {
		if d != leader {
			other = d
			break
		}
	}
	if other == nil {
		return 0, nil, errors.New("failover needs at least two managers")
	}
	self, err := os.Executable()
	if err != nil {
		return 0, nil, err
	}
	cmd := exec.CommandContext(ctx, self, "--failover-client", other.Socket(),
		"--failover-service", serviceID, "--failover-kill", strconv.Itoa(leader.Pid()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	runErr := cmd.Run()
	leader.Kill() // already dead: reaps it
	if runErr != nil {
		return 0, nil, fmt.Errorf("failover client: %w", runErr)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		return 0, nil, fmt.Errorf("failover client said %q: %w", out.String(), err)
	}
	return time.Duration(secs * float64(time.Second)), other, nil
}

// failoverClient is the child process of failover: it kills the process
// group pgid (the leader), then writes through the manager at socket until
// a write is accepted, and prints the seconds that took.
func failoverClient(socket, serviceID string, pgid int) error {
	api, err := client.New([]string{"unix://" + socket})
	if err != nil {
		return err
	}
	defer api.Close()
	ctx := context.Background()
	start := time.Now()
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill the leader's process group %d: %w", pgid, err)
	}
	fmt.Fprintf(os.Stderr, "killed the leader at %s\n", start.UTC().Format("15:04:05.000"))
	err = fleet.Poll(ctx, failoverLimit, failoverPeriod, func() error {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		svc, _, err := api.ServiceInspect(cctx, serviceID, false)
		if err != nil {
			return err
		}
		spec := svc.Spec
		spec.Labels = map[string]string{"failover": start.Format(time.RFC3339Nano)}
		_, err = api.ServiceUpdate(cctx, svc.ID, svc.Version, spec, client.ServiceUpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("after the leader's death: %w", err)
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	return nil
}

// restart starts a killed manager again and waits until every manager is
// reachable (as node ls through via shows them).
func (b *bench) restart(ctx context.Context, dead, via *fleet.Daemon) error {
	d, err := dead.Restart(ctx)
	if err != nil {
		return err
	}
	for i, m := range b.mgrs {
		if m == dead {
			b.mgrs[i] = d
		}
	}
	return fleet.Poll(ctx, failoverLimit, 100*time.Millisecond, func() error {
		nodes, err := via.Client().NodeList(ctx, nil)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ManagerStatus != nil && n.ManagerStatus.Reachability != "reachable" {
				return fmt.Errorf("manager %s is %s", n.Description.Hostname, n.ManagerStatus.Reachability)
			}
		}
		return nil
	})
}

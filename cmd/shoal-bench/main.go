package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// options are the command's flags.
type options struct {
	managers  int
	nodes     int
	tasks     uint64
	keep      bool
	bin       string
	profile   string // directory for the leader's profiles; empty: none
	failovers int
	// procs is the GOMAXPROCS of each daemon and of the fleet (see
	// shareProcs); 0: the machine's CPUs shared among them.
	procs    int
	fleetLog string // file for the simulated agents' debug log; empty: none
	// snapshotInterval, if not zero, replaces the swarm's Raft snapshot
	// interval (log entries between snapshots) before the fleet joins.
	snapshotInterval uint64
	// apiClient, set in the child process only, is the socket whose API
	// latency it measures (see measureAPILatencyApart).
	apiClient string
	// failoverClient, failoverService and failoverKill are set in the
	// child process of a failover measurement only (see failoverClient).
	failoverClient  string
	failoverService string
	failoverKill    int
}

func main() {
	var o options
	flag.IntVar(&o.managers, "managers", 3, "manager daemons to start (real processes)")
	flag.IntVar(&o.nodes, "nodes", 100, "simulated worker nodes to join")
	flag.Uint64Var(&o.tasks, "tasks", 1000, "replicas of the benchmark service")
	flag.BoolVar(&o.keep, "keep", false, "leave the daemons running and their directories in place at exit")
	flag.StringVar(&o.bin, "bin", "", "shoal binary (default: go build ./cmd/shoal into a temporary directory)")
	flag.StringVar(&o.profile, "profile", "", "save the leader's CPU profiles (busy: the first 20 s after create; idle) and heap into this directory; managers run with --debug")
	flag.IntVar(&o.failovers, "failovers", 3, "leader kills timed (each killed manager restarts before the next)")
	flag.IntVar(&o.procs, "procs", 0, "GOMAXPROCS of each manager daemon and of the simulated fleet, which share this machine (0: its CPUs divided among them, at least 1)")
	flag.StringVar(&o.fleetLog, "fleet-log", "", "write the simulated agents' debug log (heartbeat and report failures) to this file")
	flag.Uint64Var(&o.snapshotInterval, "snapshot-interval", 0, "Raft log entries between snapshots, set with swarm update before the fleet joins (0: the default, 10000)")
	flag.StringVar(&o.apiClient, "api-latency-client", "", "internal: time API calls to this socket and print the figures (the bench runs itself so)")
	flag.StringVar(&o.failoverClient, "failover-client", "", "internal: kill --failover-kill's process group, then time writes through this socket until one is accepted")
	flag.StringVar(&o.failoverService, "failover-service", "", "internal: the service --failover-client updates")
	flag.IntVar(&o.failoverKill, "failover-kill", 0, "internal: the leader's process group")
	flag.Parse()
	if o.failoverClient != "" {
		if err := failoverClient(o.failoverClient, o.failoverService, o.failoverKill); err != nil {
			fmt.Fprintln(os.Stderr, "shoal-bench:", err)
			os.Exit(1)
		}
		return
	}
	if o.apiClient != "" {
		if err := apiLatencyClient(o.apiClient); err != nil {
			fmt.Fprintln(os.Stderr, "shoal-bench:", err)
			os.Exit(1)
		}
		return
	}
	if o.managers < 1 || o.managers > 250 || o.nodes < 1 || o.tasks < 1 || o.failovers < 1 || o.procs < 0 {
		fmt.Fprintln(os.Stderr, "shoal-bench: --managers must be 1-250, --nodes, --tasks and --failovers at least 1, --procs at least 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shoal-bench:", err)
		os.Exit(1)
	}
}

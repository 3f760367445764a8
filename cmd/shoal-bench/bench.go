package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/fleet"
)

// Limits and sample sizes of the measurements.
const (
	readyTimeout    = 5 * time.Minute
	runningTimeout  = 10 * time.Minute
	settle          = 2 * time.Second // after convergence, before idle figures
	nodeLsCalls     = 100
	idleWindow      = 10 * time.Second
	clockTicksPerS  = 100 // USER_HZ on Linux
	joinParallelism = 8
	phasePoll       = 20 * time.Millisecond // the fleet's runtimes, while a service converges
)

// bench is one run: its directories, daemons and fleet.
type bench struct {
	o       options
	dir     string // data roots and logs
	sockDir string // short paths for the API sockets
	mgrs    []*fleet.Daemon
	fleet   *fleet.Fleet
	closers []func() error // files to close at the end
}

func run(ctx context.Context, o options) (err error) {
	b := &bench{o: o}
	b.o.procs = shareProcs(o.procs, o.managers)
	runtime.GOMAXPROCS(b.o.procs) // the fleet's share
	fmt.Printf("gomaxprocs %d procs\n", b.o.procs)
	defer func() { err = errors.Join(err, b.cleanup()) }()
	if err := b.setup(ctx); err != nil {
		return err
	}
	leader, err := b.formSwarm(ctx)
	if err != nil {
		return err
	}
	api := leader.Client()
	if err := b.setSnapshotInterval(ctx, api); err != nil {
		return err
	}
	if err := b.measureNodesReady(ctx, api); err != nil {
		return err
	}
	if err := raftSizes(leader, b.dir, "joined"); err != nil {
		return err
	}
	busy := b.profile(ctx, leader, "profile?seconds=20", "busy-cpu.pprof")
	var follower *fleet.Daemon
	for _, d := range b.mgrs {
		if d != leader {
			follower = d
		}
	}
	busyFollower := b.profile(ctx, follower, "profile?seconds=20", "busy-cpu-follower.pprof")
	busyTrace := b.profile(ctx, leader, "trace?seconds=5", "busy-trace.out")
	stopFleetProfile, err := b.profileSelf("busy-cpu-fleet.pprof")
	if err != nil {
		return err
	}
	late := startLateProbe()
	serviceID, err := b.measureService(ctx, api, leader.Pid())
	late.report("fleet-late-busy")
	stopFleetProfile()
	if err != nil {
		return err
	}
	if err := errors.Join(<-busy, <-busyFollower, <-busyTrace); err != nil {
		return err
	}
	if err := sleep(ctx, settle); err != nil {
		return err
	}
	if err := measureAPILatencyApart(ctx, leader.Socket()); err != nil {
		return err
	}
	idle := b.profile(ctx, leader, fmt.Sprintf("profile?seconds=%d", int(idleWindow/time.Second)), "idle-cpu.pprof")
	if err := b.measureIdle(ctx, leader.Pid()); err != nil {
		return err
	}
	if err := <-idle; err != nil {
		return err
	}
	if err := <-b.profile(ctx, leader, "heap", "heap.pprof"); err != nil {
		return err
	}
	if err := raftSizes(leader, b.dir, "running"); err != nil {
		return err
	}
	if err := b.measureRefill(ctx); err != nil {
		return err
	}
	if len(b.mgrs) < 2 {
		return nil
	}
	leader, err = b.measureFailovers(ctx, leader, serviceID, b.o.failovers)
	if err != nil {
		return err
	}
	return raftSizes(leader, b.dir, "end")
}

// profile saves one of the leader's profiles into the --profile directory
// in the background; the channel yields the outcome (nil at once without
// --profile or without a daemon).
func (b *bench) profile(ctx context.Context, d *fleet.Daemon, name, file string) <-chan error {
	done := make(chan error, 1)
	if b.o.profile == "" || d == nil {
		done <- nil
		return done
	}
	go func() {
		if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
			done <- err
			return
		}
		done <- d.Profile(ctx, name, filepath.Join(b.o.profile, file))
	}()
	return done
}

// fleetLogger is the simulated agents' logger: debug lines into the
// --fleet-log file, or nothing.
func (b *bench) fleetLogger() (*slog.Logger, error) {
	if b.o.fleetLog == "" {
		return nil, nil
	}
	f, err := os.Create(b.o.fleetLog)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, f.Close)
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), nil
}

// profileSelf starts a CPU profile of this process (the simulated fleet)
// into the --profile directory; the function returned stops it.
func (b *bench) profileSelf(file string) (stop func(), err error) {
	if b.o.profile == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(b.o.profile, file))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// setup makes the directories and finds or builds the binary.
func (b *bench) setup(ctx context.Context) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "shoal-bench-"); err != nil {
		return err
	}
	if b.sockDir, err = os.MkdirTemp("", "sb-"); err != nil {
		return err
	}
	if b.o.bin == "" {
		b.o.bin, err = fleet.BuildShoal(ctx, b.dir)
		return err
	}
	b.o.bin, err = filepath.Abs(b.o.bin)
	return err
}

// shareProcs is the GOMAXPROCS each of the bench's processes (the managers
// and the fleet) runs with: procs if set, else the machine's CPUs divided
// among them, at least 1. They share one machine, unlike a real swarm's
// managers: each with as many Ps as the machine has cores, their idle Ps
// spinning for sparse work (a thousand nodes' heartbeats) took much of it:
// on 2 cores with the code of the time, the idle leader used 27 % of a
// core with 2 Ps, 18 % with one, and the followers 16 % against 4 % (see
// BENCHMARKS.md, session 5). Go picks fewer Ps by itself for a process
// whose cgroup limits its CPU.
func shareProcs(procs, managers int) int {
	if procs > 0 {
		return procs
	}
	return max(1, runtime.NumCPU()/(managers+1))
}

// formSwarm starts the managers, the first one initialising the swarm and
// the others joining it as managers, and returns the leader.
func (b *bench) formSwarm(ctx context.Context) (*fleet.Daemon, error) {
	for i := range b.o.managers {
		name := fmt.Sprintf("mgr%d", i+1)
		d, err := fleet.StartDaemon(ctx, fleet.DaemonConfig{Bin: b.o.bin, Name: name, IP: fmt.Sprintf("127.0.1.%d", i+1),
			Dir: b.dir, Socket: filepath.Join(b.sockDir, name+".sock"), Debug: b.o.profile != "",
			Procs: b.o.procs})
		if err != nil {
			return nil, err
		}
		b.mgrs = append(b.mgrs, d)
	}
	first := b.mgrs[0]
	if err := first.Init(ctx); err != nil {
		return nil, err
	}
	sw, err := first.Client().SwarmInspect(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range b.mgrs[1:] {
		if err := d.Join(ctx, sw.JoinTokens.Manager, first.Addr()); err != nil {
			return nil, err
		}
	}
	return b.leader(ctx, first.Client())
}

// setSnapshotInterval applies --snapshot-interval, if given.
func (b *bench) setSnapshotInterval(ctx context.Context, api *client.Client) error {
	if b.o.snapshotInterval == 0 {
		return nil
	}
	sw, err := api.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	spec := sw.Spec
	spec.Raft.SnapshotInterval = b.o.snapshotInterval
	if err := api.SwarmUpdate(ctx, sw.Version, spec, client.SwarmUpdateFlags{}); err != nil {
		return fmt.Errorf("set the snapshot interval: %w", err)
	}
	return nil
}

// leader is the manager node ls marks as leader.
func (b *bench) leader(ctx context.Context, api *client.Client) (*fleet.Daemon, error) {
	nodes, err := api.NodeList(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.ManagerStatus == nil || !n.ManagerStatus.Leader {
			continue
		}
		for _, d := range b.mgrs {
			if d.Addr() == n.ManagerStatus.Addr || d.Name() == n.Description.Hostname {
				return d, nil
			}
		}
	}
	return nil, errors.New("no manager is shown as leader")
}

// measureNodesReady joins the fleet and times it until node ls shows every
// simulated node Ready.
func (b *bench) measureNodesReady(ctx context.Context, api *client.Client) error {
	sw, err := api.SwarmInspect(ctx)
	if err != nil {
		return err
	}
	addrs := make([]string, len(b.mgrs))
	for i, d := range b.mgrs {
		addrs[i] = d.Addr()
	}
	start := time.Now()
	logger, err := b.fleetLogger()
	if err != nil {
		return err
	}
	b.fleet, err = fleet.Start(ctx, fleet.FleetConfig{Managers: addrs, Token: sw.JoinTokens.Worker,
		Nodes: b.o.nodes, Parallelism: joinParallelism, Logger: logger})
	if err != nil {
		return err
	}
	if err := fleet.WaitReady(ctx, api, b.fleet.Names(), readyTimeout); err != nil {
		return err
	}
	figure("nodes-ready-s", time.Since(start).Seconds(), "s")
	return nil
}

// measureService creates the service and times it until every replica
// runs; it also reports the CPU used meanwhile by the leader, by the other
// managers together and by this process (the simulated fleet), to show
// where the machine's cores went.
func (b *bench) measureService(ctx context.Context, api *client.Client, leaderPid int) (string, error) {
	pids := b.cpuPids(leaderPid)
	t0, err := cpuTicksOf(pids)
	if err != nil {
		return "", err
	}
	start := time.Now()
	phases := b.watchPhases(ctx, start)
	id, _, err := api.ServiceCreate(ctx, fleet.ReplicatedService("bench", b.o.tasks), client.ServiceCreateOptions{})
	if err != nil {
		return "", err
	}
	if err := fleet.WaitRunning(ctx, api, id, b.o.tasks, runningTimeout); err != nil {
		return "", err
	}
	took := time.Since(start)
	d := took.Seconds()
	received, started := phases()
	t1, err := cpuTicksOf(pids)
	if err != nil {
		return "", err
	}
	if held := b.fleet.RunningTasks(); held != int(b.o.tasks) {
		return "", fmt.Errorf("the managers count %d running tasks, the fleet's runtimes hold %d", b.o.tasks, held)
	}
	leader, followers, fleetCPU := cpuShares(t0, t1, took)
	figure("create-to-received-s", received.Seconds(), "s")
	figure("create-to-started-s", started.Seconds(), "s")
	figure("create-to-running-s", d, "s")
	figure("tasks-per-s", float64(b.o.tasks)/d, "tasks/s")
	figure("leader-cpu-pct-busy", leader, "%")
	figure("followers-cpu-pct-busy", followers, "%")
	figure("fleet-cpu-pct-busy", fleetCPU, "%")
	kb, err := rssKB(leaderPid)
	if err != nil {
		return "", err
	}
	figure("leader-rss-mb-busy", float64(kb)/1024, "MiB")
	return id, nil
}

// watchPhases follows the fleet's runtimes from start until the function it
// returns is called, which yields when they first held every task (each
// agent had its assignments) and when they first ran every task (before the
// managers had the reports). Zero: not reached.
func (b *bench) watchPhases(ctx context.Context, start time.Time) func() (received, started time.Duration) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var received, started time.Duration
	go func() {
		defer close(done)
		tick := time.NewTicker(phasePoll)
		defer tick.Stop()
		for started == 0 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if received == 0 && b.fleet.HeldTasks() >= int(b.o.tasks) {
				received = time.Since(start)
			}
			if received != 0 && b.fleet.RunningTasks() >= int(b.o.tasks) {
				started = time.Since(start)
			}
		}
	}()
	return func() (time.Duration, time.Duration) {
		cancel()
		<-done
		return received, started
	}
}

// cpuTicksOf reads cpuTicks of each process.
func cpuTicksOf(pids []int) ([]int64, error) {
	out := make([]int64, len(pids))
	for i, pid := range pids {
		t, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measureIdle reads the CPU time of the leader, of the other managers
// together and of this process (the simulated fleet) over the idle window,
// and the leader's resident memory (the highest of one sample a second).
func (b *bench) measureIdle(ctx context.Context, leaderPid int) error {
	pids := b.cpuPids(leaderPid)
	t0, err := cpuTicksOf(pids)
	if err != nil {
		return err
	}
	start := time.Now()
	var rss int64
	for range int(idleWindow / time.Second) {
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		kb, err := rssKB(leaderPid)
		if err != nil {
			return err
		}
		rss = max(rss, kb)
	}
	t1, err := cpuTicksOf(pids)
	if err != nil {
		return err
	}
	leader, followers, fleet := cpuShares(t0, t1, time.Since(start))
	figure("leader-cpu-pct-idle", leader, "%")
	figure("followers-cpu-pct-idle", followers, "%")
	figure("fleet-cpu-pct-idle", fleet, "%")
	figure("leader-rss-mb-idle", float64(rss)/1024, "MiB")
	return nil
}

// cpuPids lists the leader, this process, then the other managers: the
// order cpuShares reads.
func (b *bench) cpuPids(leaderPid int) []int {
	pids := []int{leaderPid, os.Getpid()}
	for _, d := range b.mgrs {
		if d.Pid() != leaderPid {
			pids = append(pids, d.Pid())
		}
	}
	return pids
}

// cpuShares turns two readings of cpuTicksOf(cpuPids) d apart into the
// percent of a core used by the leader, the other managers together and
// this process.
func cpuShares(t0, t1 []int64, d time.Duration) (leader, followers, fleet float64) {
	pct := func(i int) float64 { return 100 * float64(t1[i]-t0[i]) / clockTicksPerS / d.Seconds() }
	for i := 2; i < len(t0); i++ {
		followers += pct(i)
	}
	return pct(0), followers, pct(1)
}

// cpuTicks is the process's user plus system time, in clock ticks, from
// /proc/<pid>/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces and parentheses):
	// state is field 3, utime 14 and stime 15 of the whole line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}

// rssKB is VmRSS from /proc/<pid>/status, in KiB.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// figure prints one result line.
func figure(name string, value float64, unit string) {
	fmt.Printf("%s %.2f %s\n", name, value, unit)
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// cleanup stops the fleet, then stops the daemons and removes the
// directories, unless --keep.
func (b *bench) cleanup() error {
	var errs []error
	if b.fleet != nil {
		if err := b.fleet.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	if b.o.keep {
		for _, d := range b.mgrs {
			d.Release()
			fmt.Fprintf(os.Stderr, "kept %s: pid %d, -H unix://%s, log %s\n", d.Name(), d.Pid(), d.Socket(), d.LogPath())
		}
		return errors.Join(errs...)
	}
	for _, d := range b.mgrs {
		if err := d.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, dir := range []string{b.dir, b.sockDir} {
		if dir != "" {
			errs = append(errs, os.RemoveAll(dir))
		}
	}
	return errors.Join(errs...)
}

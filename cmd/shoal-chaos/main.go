// Command shoal-chaos is the soak mode of the fault-injection harness
// (internal/chaos): for a given duration it injects random faults with
// random durations and heal periods into a five-host shoal cluster while
// clients run a workload, checks every invariant after each heal, and
// prints a summary. It exits non-zero on any violation. The same seed gives
// the same fault schedule.
//
//	go run ./cmd/shoal-chaos --duration 1h --seed 42
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/internal/chaos"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to inject faults")
	seed := flag.Uint64("seed", 0, "seed of the fault schedule (0: random)")
	dir := flag.String("dir", "", "where to keep the binary, data roots and daemon logs (default: a new temporary directory)")
	managers := flag.Int("managers", 3, "manager hosts")
	workers := flag.Int("workers", 2, "worker hosts")
	clients := flag.Int("clients", 4, "concurrent clients")
	bin := flag.String("shoal", "", "the shoal binary to test (default: build ./cmd/shoal of the working directory's module)")
	flag.Parse()
	if err := checkFlags(*duration, *managers, *workers, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "shoal-chaos:", err)
		os.Exit(2)
	}
	cfg := chaos.Config{Managers: *managers, Workers: *workers, Dir: *dir, Bin: *bin}
	if err := run(*duration, *seed, cfg, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "shoal-chaos:", err)
		os.Exit(1)
	}
}

// checkFlags refuses settings the faults cannot run with, before any host
// is made: a partition of a minority or a majority needs three managers, a
// worker's death needs a worker.
func checkFlags(duration time.Duration, managers, workers, clients int) error {
	switch {
	case duration <= 0:
		return fmt.Errorf("--duration must be positive, got %v", duration)
	case managers < 3:
		return fmt.Errorf("--managers must be at least 3 (the partition faults need a majority to cut off), got %d", managers)
	case workers < 1:
		return fmt.Errorf("--workers must be at least 1 (the worker faults need one), got %d", workers)
	case clients < 1:
		return fmt.Errorf("--clients must be at least 1, got %d", clients)
	}
	return nil
}

// schedule draws the fault steps from the seed: a random fault, held 3 to
// 20 s, with 3 to 15 s of workload before it and 2 to 10 s after its heal.
type schedule struct{ rng *rand.Rand }

func (s schedule) next() chaos.Step {
	faults := slices.DeleteFunc(slices.Clone(chaos.AllFaults), func(f string) bool { return f == chaos.NoFault })
	secs := func(lo, hi int) time.Duration { return time.Duration(lo+s.rng.IntN(hi-lo+1)) * time.Second }
	return chaos.Step{Fault: faults[s.rng.IntN(len(faults))], Hold: secs(3, 20), Pre: secs(3, 15), Post: secs(2, 10)}
}

func run(duration time.Duration, seed uint64, cfg chaos.Config, clients int) error {
	if seed == 0 {
		seed = rand.Uint64()%1_000_000 + 1
	}
	fmt.Printf("shoal-chaos: seed %d, duration %v (replay: --seed %d --duration %v)\n", seed, duration, seed, duration)
	if cfg.Dir == "" {
		var err error
		if cfg.Dir, err = os.MkdirTemp("", "shoal-chaos-soak-"); err != nil {
			return err
		}
	}
	fmt.Printf("shoal-chaos: daemon logs in %s\n", cfg.Dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := chaos.NewCluster(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	sched := schedule{rng: rand.New(rand.NewPCG(seed, 1))}
	pick := rand.New(rand.NewPCG(seed, 2))
	r := &chaos.Runner{C: c, Clients: clients, Keys: 3, Seed: seed, Out: os.Stdout, Dir: cfg.Dir}
	sum := newSummary()
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		step := sched.next()
		res, err := r.Run(ctx, step, pick)
		if err != nil {
			sum.harnessErr = err
			break
		}
		fmt.Println("step:", res)
		for _, v := range res.Violations {
			fmt.Println("VIOLATION:", v)
		}
		sum.add(res)
	}
	sum.print(os.Stdout, seed, cfg.Dir)
	switch {
	case sum.harnessErr != nil:
		return fmt.Errorf("harness: %w", sum.harnessErr)
	case len(sum.violations) > 0:
		return fmt.Errorf("%d violations (seed %d)", len(sum.violations), seed)
	}
	return nil
}

// summary adds up the steps of a soak.
type summary struct {
	steps      int
	ops        int
	byOutcome  map[chaos.Outcome]int
	faults     map[string]int
	converge   []time.Duration
	violations []string
	harnessErr error
	start      time.Time
}

func newSummary() *summary {
	return &summary{byOutcome: map[chaos.Outcome]int{}, faults: map[string]int{}, start: time.Now()}
}

func (s *summary) add(res *chaos.Result) {
	s.steps++
	s.ops += res.Ops
	for o, n := range res.ByOutcome {
		s.byOutcome[o] += n
	}
	s.faults[res.Step.Fault]++
	s.converge = append(s.converge, res.Converge)
	for _, v := range res.Violations {
		if !slices.Contains(s.violations, v.String()) { // the leader check rereads every log
			s.violations = append(s.violations, v.String())
		}
	}
}

func (s *summary) print(w io.Writer, seed uint64, dir string) {
	fmt.Fprintf(w, "\n==== shoal-chaos summary (seed %d, %v, logs in %s)\n", seed, time.Since(s.start).Round(time.Second), dir)
	fmt.Fprintf(w, "steps: %d, operations: %d (ok %d, failed %d, unknown %d)\n",
		s.steps, s.ops, s.byOutcome[chaos.OK], s.byOutcome[chaos.Failed], s.byOutcome[chaos.Unknown])
	var kinds []string
	for k, n := range s.faults {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "faults: %s\n", strings.Join(kinds, ", "))
	if len(s.converge) > 0 {
		sorted := slices.Clone(s.converge)
		slices.Sort(sorted)
		fmt.Fprintf(w, "convergence after the last write: p50 %v, max %v (bound %v)\n",
			sorted[len(sorted)/2].Round(10*time.Millisecond), sorted[len(sorted)-1].Round(10*time.Millisecond), chaos.ConvergeBound)
	}
	if s.harnessErr != nil {
		fmt.Fprintf(w, "stopped early: %v\n", s.harnessErr)
	}
	fmt.Fprintf(w, "violations: %d\n", len(s.violations))
	for _, v := range s.violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
}

package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// Bounds of the checks.
const (
	// ConvergeBound is how long services may take to run their desired
	// replicas once the faults are healed and the workload has stopped.
	ConvergeBound = 30 * time.Second
	// HangBound: a request to a live host must be answered within it.
	HangBound = OpTimeout - 50*time.Millisecond
	// NoQuorumGrace is how long after the loss of quorum the managers may
	// take to notice it; NoQuorumBound is how fast a request must then be
	// refused.
	NoQuorumGrace = 3 * time.Second
	NoQuorumBound = 2 * time.Second
	// SlotSettle is how long after a disturbance ends the task list may
	// still show a dead node's task as running next to its replacement.
	SlotSettle = 10 * time.Second
	// linearizeTimeout bounds the linearizability search.
	linearizeTimeout = 2 * time.Minute
)

// Step is one fault scenario: the workload runs for Pre, the fault holds
// for Hold, the workload runs on for Post after the heal, then everything
// is checked.
type Step struct {
	Fault           string
	Pre, Hold, Post time.Duration
	// Sabotage, when set, breaks an invariant on purpose: the step must
	// then report a violation.
	Sabotage string
}

// Result is what one step did and found.
type Result struct {
	Step       Step
	Targets    []string
	Ops        int
	ByOutcome  map[Outcome]int
	ByReject   map[string]int
	Samples    int           // task list samples taken for the slot check
	Converge   time.Duration // from the end of the workload to convergence
	SinceHeal  time.Duration // from the heal to convergence
	Elapsed    time.Duration
	Violations []Violation
}

func (r *Result) String() string {
	return fmt.Sprintf("%s on %v: %d ops (ok %d, failed %d %v, unknown %d), %d task samples, converged %v after the last write (%v after the heal), %d violations, %v",
		r.Step.Fault, r.Targets, r.Ops, r.ByOutcome[OK], r.ByOutcome[Failed], r.ByReject, r.ByOutcome[Unknown], r.Samples,
		r.Converge.Round(10*time.Millisecond), r.SinceHeal.Round(10*time.Millisecond), len(r.Violations), r.Elapsed.Round(100*time.Millisecond))
}

// Runner runs steps on a cluster, one at a time.
type Runner struct {
	C       *Cluster
	Clients int
	Keys    int
	Out     io.Writer // progress lines
	Seed    uint64
	// Dir, when set, receives the history of every step with a violation.
	Dir   string
	steps int
}

func (r *Runner) logf(format string, args ...any) {
	if r.Out != nil {
		fmt.Fprintf(r.Out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
}

// windows are the fault windows of one step, by what they excuse or test.
type windows struct {
	minority, noQuorum, unavailable, disturbed []Window
}

// Run runs one step. It returns an error when the harness itself could not
// do its part (the cluster did not become healthy, a fault could not be
// injected or healed); broken invariants are the result's violations.
func (r *Runner) Run(ctx context.Context, step Step, rng *rand.Rand) (*Result, error) {
	begin := time.Now()
	r.steps++
	res := &Result{Step: step, ByOutcome: map[Outcome]int{}, ByReject: map[string]int{}}
	if _, err := r.C.WaitHealthy(ctx, healthyTimeout); err != nil {
		return nil, fmt.Errorf("before %s: cluster not healthy: %w", step.Fault, err)
	}
	keys := make([]string, r.Keys)
	for i := range keys {
		keys[i] = fmt.Sprintf("s%d-%d", r.steps, i)
	}
	wl := NewWorkload(r.C.Managers, keys, r.Clients, r.Seed+uint64(r.steps))
	wl.Sabotage = step.Sabotage
	smp := startSampler(ctx, r.C, keys)
	wl.Start(ctx)
	var win windows
	err := r.fault(ctx, step, rng, res, &win)
	wl.Stop()
	samples, taken := smp.stop()
	res.Samples = taken
	if err != nil {
		return nil, err
	}
	stopped := time.Now()
	final, err := r.finalReads(ctx, wl, keys)
	if err != nil {
		return nil, err
	}
	healed := win.disturbedEnd()
	convErr := pollUntil(ctx, ConvergeBound, func() error { return r.converged(ctx, keys) })
	res.Converge = time.Since(stopped)
	res.SinceHeal = time.Since(healed)
	if convErr != nil {
		res.Violations = append(res.Violations, Violation{"convergence", convErr.Error()})
	}
	ops := wl.History.Ops()
	res.Ops = len(ops)
	for _, op := range ops {
		res.ByOutcome[op.Outcome]++
		if op.Reject != "" {
			res.ByReject[op.Reject]++
		}
	}
	res.Violations = append(res.Violations, r.check(ops, final, samples, win)...)
	if len(res.Violations) > 0 && r.Dir != "" {
		r.dump(res, ops, win)
	}
	r.cleanup(ctx, keys)
	res.Elapsed = time.Since(begin)
	return res, nil
}

// fault runs the workload phases around one fault, recording its windows.
func (r *Runner) fault(ctx context.Context, step Step, rng *rand.Rand, res *Result, win *windows) error {
	if err := sleepCtx(ctx, step.Pre); err != nil {
		return err
	}
	start := time.Now()
	inj, err := inject(ctx, r.C, step.Fault, rng)
	if err != nil {
		return fmt.Errorf("inject %s: %w", step.Fault, err)
	}
	// The fault is whole only now: a write acknowledged while the rules
	// were being put in place is no minority's.
	inPlace := time.Now()
	res.Targets = inj.targets
	if step.Sabotage == SabotageForgetFreeze {
		inj.unavailable = nil
	}
	r.logf("fault %s on %v", inj.kind, inj.targets)
	holdErr := sleepCtx(ctx, step.Hold)
	healStart := time.Now()
	if err := inj.heal(ctx); err != nil {
		return fmt.Errorf("heal %s: %w", step.Fault, err)
	}
	end := time.Now()
	r.logf("healed %s (heal took %v)", step.Fault, end.Sub(healStart).Round(time.Millisecond))
	w := func(hosts []string) Window { return Window{Fault: inj.kind, Hosts: hosts, Start: start, End: end} }
	if len(inj.minority) > 0 {
		// A fault ends for the minority check when its heal begins.
		mw := w(inj.minority)
		mw.Start, mw.End = inPlace, healStart
		win.minority = append(win.minority, mw)
	}
	if inj.noQuorum {
		nw := w(inj.minority)
		nw.Start, nw.End = inPlace, healStart
		win.noQuorum = append(win.noQuorum, nw)
	}
	if len(inj.unavailable) > 0 {
		win.unavailable = append(win.unavailable, w(inj.unavailable))
	}
	if inj.disturbed {
		win.disturbed = append(win.disturbed, w(inj.targets))
	} else {
		win.disturbed = append(win.disturbed, Window{Fault: inj.kind, Start: end, End: end})
	}
	if holdErr != nil {
		return holdErr
	}
	return sleepCtx(ctx, step.Post)
}

// dump writes a step's fault windows, violations and whole history (by
// start time) to a file of the run's directory.
func (r *Runner) dump(res *Result, ops []*Op, win windows) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", res)
	for _, ws := range [][]Window{win.minority, win.noQuorum, win.unavailable, win.disturbed} {
		for _, w := range ws {
			fmt.Fprintf(&b, "window %s %v %s .. %s\n", w.Fault, w.Hosts, w.Start.Format("15:04:05.000"), w.End.Format("15:04:05.000"))
		}
	}
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "VIOLATION %s\n", v)
	}
	sorted := slices.Clone(ops)
	slices.SortStableFunc(sorted, func(a, b *Op) int { return a.Start.Compare(b.Start) })
	for _, op := range sorted {
		fmt.Fprintf(&b, "%s\n", op)
	}
	path := filepath.Join(r.Dir, fmt.Sprintf("step-%d-%s.history", r.steps, res.Step.Fault))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		r.logf("write history: %v", err)
		return
	}
	r.logf("history of step %d in %s", r.steps, path)
}

// disturbedEnd is when the last fault ended.
func (w windows) disturbedEnd() time.Time {
	var t time.Time
	for _, d := range w.disturbed {
		if d.End.After(t) {
			t = d.End
		}
	}
	return t
}

// check runs every checker over one step's records.
func (r *Runner) check(ops []*Op, final map[string]*Op, samples []SlotSample, win windows) []Violation {
	var out []Violation
	out = append(out, CheckLinearizable(ops, linearizeTimeout)...)
	out = append(out, CheckNoLostWrites(ops, final)...)
	claims, err := r.C.LeaderClaims()
	if err != nil {
		out = append(out, Violation{"one leader per term", "cannot read the logs: " + err.Error()})
	}
	out = append(out, CheckLeaders(claims)...)
	out = append(out, CheckMinority(ops, win.minority)...)
	out = append(out, CheckNoQuorum(ops, win.noQuorum, NoQuorumGrace, NoQuorumBound)...)
	out = append(out, CheckHangs(ops, win.unavailable, HangBound)...)
	out = append(out, CheckSlots(samples, win.disturbed, SlotSettle, 1)...)
	return out
}

// finalReads inspects every key through the managers until each read
// succeeds; the reads join the history (as one more client).
func (r *Runner) finalReads(ctx context.Context, wl *Workload, keys []string) (map[string]*Op, error) {
	final := map[string]*Op{}
	err := pollUntil(ctx, healthyTimeout, func() error {
		for _, key := range keys {
			if final[key] != nil {
				continue
			}
			for _, m := range r.C.Managers {
				op := &Op{Client: wl.Clients, Kind: OpRead, Target: m.Name, Key: key}
				wl.do(ctx, op, func(ctx context.Context) error {
					svc, _, err := m.api.ServiceInspect(ctx, key, false)
					if client.IsNotFound(err) {
						return nil
					}
					if err == nil {
						op.Found = true
						op.ReadValue, op.ReadReplicas = readValue(svc)
					}
					return err
				})
				if op.Outcome == OK {
					final[key] = op
					break
				}
			}
			if final[key] == nil {
				return fmt.Errorf("no final read of %s", key)
			}
		}
		return nil
	})
	return final, err
}

// converged reports whether every service of keys runs exactly its desired
// replicas, in the API (running tasks that should run) and on the hosts
// (task processes), and a key without a service runs nothing.
func (r *Runner) converged(ctx context.Context, keys []string) error {
	m := r.C.Managers[0]
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	services, err := m.api.ServiceList(cctx, nil, false)
	if err != nil {
		return err
	}
	tasks, err := m.api.TaskList(cctx, nil)
	if err != nil {
		return err
	}
	procs := processesByService()
	byID := map[string]swarm.Service{}
	for _, s := range services {
		byID[s.ID] = s
	}
	running := map[string]int{}
	for _, t := range tasks {
		if s, ok := byID[t.ServiceID]; ok && t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning {
			running[s.Spec.Name]++
		}
	}
	want := map[string]uint64{}
	for _, s := range services {
		_, want[s.Spec.Name] = readValue(s)
	}
	for _, key := range keys {
		w := want[key]
		if uint64(running[key]) != w || uint64(procs[key]) != w {
			return fmt.Errorf("%s: %d replicas wanted, %d tasks running, %d processes", key, w, running[key], procs[key])
		}
	}
	return nil
}

// processesByService counts the task processes on every host by the
// service named in their environment.
func processesByService() map[string]int {
	out := map[string]int{}
	entries, _ := os.ReadDir("/proc")
	prefix := []byte(svcEnv + "=")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if strings.HasPrefix(kv, string(prefix)) {
				out[strings.TrimPrefix(kv, string(prefix))]++
			}
		}
	}
	return out
}

// cleanup removes the step's services and waits until their processes are
// gone, so that the next step starts from a quiet cluster.
func (r *Runner) cleanup(ctx context.Context, keys []string) {
	err := pollUntil(ctx, healthyTimeout, func() error {
		var left []string
		for _, key := range keys {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := r.C.Managers[0].api.ServiceRemove(cctx, key)
			cancel()
			if err != nil && !client.IsNotFound(err) {
				return err
			}
		}
		procs := processesByService()
		for _, key := range keys {
			if procs[key] > 0 {
				left = append(left, fmt.Sprintf("%s:%d", key, procs[key]))
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("task processes left: %v", left)
		}
		return nil
	})
	if err != nil {
		r.logf("cleanup: %v", err)
	}
}

// sampler lists tasks every second and records the slots that had more
// than one running task.
type sampler struct {
	mu      sync.Mutex
	taken   int
	samples []SlotSample
	cancel  context.CancelFunc
	done    chan struct{}
}

func startSampler(ctx context.Context, c *Cluster, keys []string) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			s.sample(ctx, c, keys)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop stops sampling; it returns the slots seen running more than once
// and the number of samples taken.
func (s *sampler) stop() ([]SlotSample, int) {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.taken
}

// sample lists the tasks through the first manager that answers.
func (s *sampler) sample(ctx context.Context, c *Cluster, keys []string) {
	for _, m := range c.Managers {
		if !m.Running() || m.Frozen() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		at := time.Now()
		services, err := m.api.ServiceList(cctx, nil, false)
		var tasks []swarm.Task
		if err == nil {
			tasks, err = m.api.TaskList(cctx, nil)
		}
		cancel()
		if err != nil {
			continue
		}
		s.record(at, services, tasks, keys)
		return
	}
}

func (s *sampler) record(at time.Time, services []swarm.Service, tasks []swarm.Task, keys []string) {
	names := map[string]string{}
	for _, svc := range services {
		if slices.Contains(keys, svc.Spec.Name) {
			names[svc.ID] = svc.Spec.Name
		}
	}
	type slot struct {
		svc  string
		slot int
	}
	running := map[slot][]string{}
	for _, t := range tasks {
		if name, ok := names[t.ServiceID]; ok && t.Status.State == swarm.TaskStateRunning {
			k := slot{name, t.Slot}
			running[k] = append(running[k], t.ID+"@"+t.NodeID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken++
	for k, ids := range running {
		if len(ids) > 1 {
			s.samples = append(s.samples, SlotSample{At: at, Service: k.svc, Slot: k.slot, Running: len(ids), Tasks: ids})
		}
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

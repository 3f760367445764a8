package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/shoal-project/shoal/agent/exec/exectest"
)

// DefaultJoinParallelism bounds the joins in flight when FleetConfig says
// nothing: each join signs a certificate and writes to Raft.
const DefaultJoinParallelism = 8

// simPort is the port of every simulated node's advertised address.
const simPort = 2377

// FleetConfig says how to start a fleet of simulated nodes.
type FleetConfig struct {
	Managers []string // cluster addresses (host:port)
	Token    string   // join token, usually the worker token
	Nodes    int      // how many nodes
	// NamePrefix names the nodes NamePrefix0001, NamePrefix0002, ...
	// ("sim" if empty).
	NamePrefix string
	// Parallelism bounds the joins in flight (DefaultJoinParallelism if 0).
	Parallelism int
	Logger      *slog.Logger
}

// Fleet is a set of simulated nodes running their sessions.
type Fleet struct {
	nodes  []*Node
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	errs  []error          // sessions that ended on their own
	stops map[*Node]func() // ends one node's session and waits for it
	dead  map[*Node]bool   // killed nodes: their tasks no longer count
}

// Start joins cfg.Nodes simulated nodes, at most cfg.Parallelism at a
// time, and runs each one's session as soon as it has joined. If a join
// fails, the nodes already running are stopped and the first error is
// returned. ctx bounds the joins only; Stop ends the sessions.
func Start(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = "sim"
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = DefaultJoinParallelism
	}
	runCtx, cancel := context.WithCancel(context.Background())
	f := &Fleet{nodes: make([]*Node, cfg.Nodes), cancel: cancel, stops: map[*Node]func(){}, dead: map[*Node]bool{}}
	joinCtx, stopJoins := context.WithCancel(ctx)
	defer stopJoins()
	var (
		joins    sync.WaitGroup
		firstErr error
		errOnce  sync.Once
		slots    = make(chan struct{}, cfg.Parallelism)
	)
	for i := range cfg.Nodes {
		joins.Add(1)
		go func() {
			defer joins.Done()
			select {
			case slots <- struct{}{}:
			case <-joinCtx.Done():
				return
			}
			defer func() { <-slots }()
			n, err := Join(joinCtx, Config{Managers: cfg.Managers, Token: cfg.Token,
				Name: nodeName(cfg.NamePrefix, i), Addr: simAddr(i), Logger: cfg.Logger})
			if err != nil {
				errOnce.Do(func() { firstErr = fmt.Errorf("node %d: %w", i+1, err); stopJoins() })
				return
			}
			f.nodes[i] = n
			f.run(runCtx, n)
		}()
	}
	joins.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		f.Stop()
		return nil, firstErr
	}
	return f, nil
}

// run runs one node's session on the fleet's wait group.
func (f *Fleet) run(ctx context.Context, n *Node) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	f.mu.Lock()
	f.stops[n] = func() { cancel(); <-done }
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(done)
		if err := n.Run(ctx); err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, fmt.Errorf("%s: %w", n.Name(), err))
			f.mu.Unlock()
		}
	}()
}

// nodeName is the hostname of the i-th node (from 0).
func nodeName(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i+1) }

// simAddr is a distinct loopback address for the i-th node (from 0), in
// 127.2.0.0/16; nothing listens on it.
func simAddr(i int) string {
	ip := net.IPv4(127, 2, byte(i/250), byte(i%250+1))
	return net.JoinHostPort(ip.String(), strconv.Itoa(simPort))
}

// Nodes returns the fleet's nodes, in name order.
func (f *Fleet) Nodes() []*Node { return f.nodes }

// Names returns the nodes' hostnames, in order.
func (f *Fleet) Names() []string {
	names := make([]string, 0, len(f.nodes))
	for _, n := range f.nodes {
		if n != nil {
			names = append(names, n.Name())
		}
	}
	return names
}

// Kill ends the sessions of the last count nodes at once, as if their
// machines died: no more heartbeats, and their tasks no longer count in
// RunningTasks. It returns their names.
func (f *Fleet) Kill(count int) []string {
	count = min(count, len(f.nodes))
	victims := f.nodes[len(f.nodes)-count:]
	var stops []func()
	var names []string
	f.mu.Lock()
	for _, n := range victims {
		if n == nil || f.dead[n] {
			continue
		}
		f.dead[n] = true
		stops = append(stops, f.stops[n])
		names = append(names, n.Name())
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, stop := range stops {
		wg.Add(1)
		go func() { defer wg.Done(); stop() }()
	}
	wg.Wait()
	return names
}

// RunningTasks is how many tasks the live nodes' scripted runtimes run now.
func (f *Fleet) RunningTasks() int {
	return f.sumLive(func(e *exectest.Scripted) int { return len(e.Running()) })
}

// HeldTasks is how many tasks the live nodes' scripted runtimes hold (given
// to them by their agents, running or not).
func (f *Fleet) HeldTasks() int {
	return f.sumLive((*exectest.Scripted).Len)
}

// sumLive adds count over the scripted runtimes of the nodes not killed.
func (f *Fleet) sumLive(count func(*exectest.Scripted) int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for _, n := range f.nodes {
		if n != nil && !f.dead[n] {
			total += count(n.Executor())
		}
	}
	return total
}

// Stop ends every session and waits for them; it returns the errors of
// sessions that had ended on their own (a node removed), if any. Calling it
// twice is harmless.
func (f *Fleet) Stop() error {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}

package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"time"
)

// Fault kinds. Each has a start (inject) and an end (heal).
const (
	KillLeader        = "kill-leader"        // SIGKILL of the leader's whole host, then start it again
	KillWorker        = "kill-worker"        // SIGKILL of a worker's whole host, then start it again
	FreezeLeader      = "freeze-leader"      // SIGSTOP of every process of the leader's host, then SIGCONT
	PartitionFollower = "partition-follower" // a follower manager cut from every host
	PartitionLeader   = "partition-leader"   // the leader cut from every host
	PartitionMinority = "partition-minority" // the leader and a worker cut from the others
	PartitionMajority = "partition-majority" // two of three managers each cut off alone: no quorum
	OneWayLeader      = "oneway-leader"      // the leader hears nothing, but its packets go out
	NetemAll          = "netem"              // latency and loss on every host's link
	RestartDaemon     = "restart-daemon"     // graceful stop (SIGTERM) of a worker's daemon, then start
	NoFault           = "none"               // nothing: the workload alone
)

// AllFaults lists every fault kind.
var AllFaults = []string{KillLeader, KillWorker, FreezeLeader, PartitionFollower, PartitionLeader,
	PartitionMinority, PartitionMajority, OneWayLeader, NetemAll, RestartDaemon}

// DefaultNetem is the latency and loss of the netem fault.
var DefaultNetem = Netem{Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond, LossPc: 5}

// injected is a fault in place: what it concerns and how to end it.
type injected struct {
	kind    string
	targets []string // hosts the fault was applied to
	// minority: hosts that cannot commit anything while the fault holds.
	minority []string
	// noQuorum: no side holds a quorum of managers.
	noQuorum bool
	// unavailable: hosts dead, frozen or stopped (requests to them may hang).
	unavailable []string
	// disturbed: the network is not whole (slots may legitimately run twice).
	disturbed bool
	heal      func(ctx context.Context) error
}

// inject applies a fault of the given kind; rng picks among candidate hosts.
func inject(ctx context.Context, c *Cluster, kind string, rng *rand.Rand) (*injected, error) {
	leader, err := c.Leader(ctx, healthyTimeout)
	if err != nil {
		return nil, err
	}
	var followers []*Host
	for _, m := range c.Managers {
		if m != leader {
			followers = append(followers, m)
		}
	}
	pick := func(hs []*Host) *Host { return hs[rng.IntN(len(hs))] }
	switch kind {
	case KillLeader:
		return kill(c, leader)
	case KillWorker:
		return kill(c, pick(c.Workers))
	case FreezeLeader:
		leader.Freeze()
		return &injected{kind: kind, targets: []string{leader.Name}, unavailable: []string{leader.Name}, disturbed: true,
			heal: func(context.Context) error { leader.Thaw(); return nil }}, nil
	case PartitionFollower:
		return isolate(ctx, c, kind, []*Host{pick(followers)}, false)
	case PartitionLeader:
		return isolate(ctx, c, kind, []*Host{leader}, false)
	case PartitionMinority:
		return isolate(ctx, c, kind, []*Host{leader, pick(c.Workers)}, false)
	case PartitionMajority:
		return isolateEach(ctx, c, kind, []*Host{leader, pick(followers)})
	case OneWayLeader:
		return isolate(ctx, c, kind, []*Host{leader}, true)
	case NetemAll:
		return netem(ctx, c, DefaultNetem)
	case NoFault:
		return &injected{kind: kind, heal: func(context.Context) error { return nil }}, nil
	case RestartDaemon:
		h := pick(c.Workers)
		if err := h.Stop(); err != nil {
			return nil, err
		}
		return &injected{kind: kind, targets: []string{h.Name}, unavailable: []string{h.Name}, disturbed: true,
			heal: h.Start}, nil
	}
	return nil, fmt.Errorf("unknown fault %q", kind)
}

func kill(c *Cluster, h *Host) (*injected, error) {
	if err := h.Kill(); err != nil {
		return nil, err
	}
	return &injected{kind: "kill", targets: []string{h.Name}, unavailable: []string{h.Name}, disturbed: true,
		heal: h.Start}, nil
}

// isolate cuts the group off from every other host (only inbound traffic
// when inboundOnly). The members of the group still reach one another.
func isolate(ctx context.Context, c *Cluster, kind string, group []*Host, inboundOnly bool) (*injected, error) {
	var others []string
	for _, h := range c.Hosts {
		if !slices.Contains(group, h) {
			others = append(others, h.IP)
		}
	}
	inj := &injected{kind: kind, disturbed: true}
	for _, h := range group {
		inj.targets = append(inj.targets, h.Name)
		if slices.Contains(c.Managers, h) {
			inj.minority = append(inj.minority, h.Name)
		}
	}
	inj.heal = func(ctx context.Context) error { return healAll(ctx, group) }
	for _, h := range group {
		if err := dropPeers(ctx, h.NS, others, inboundOnly); err != nil {
			return nil, errors.Join(err, inj.heal(ctx))
		}
	}
	return inj, nil
}

// isolateEach cuts each host of group off alone, so that the managers left
// together are a minority: no quorum anywhere.
func isolateEach(ctx context.Context, c *Cluster, kind string, group []*Host) (*injected, error) {
	inj := &injected{kind: kind, disturbed: true, noQuorum: true}
	for _, m := range c.Managers {
		inj.minority = append(inj.minority, m.Name)
	}
	inj.heal = func(ctx context.Context) error { return healAll(ctx, group) }
	for _, h := range group {
		inj.targets = append(inj.targets, h.Name)
		if err := dropPeers(ctx, h.NS, nil, false); err != nil {
			return nil, errors.Join(err, inj.heal(ctx))
		}
	}
	return inj, nil
}

func healAll(ctx context.Context, hosts []*Host) error {
	var errs []error
	for _, h := range hosts {
		errs = append(errs, healFilters(ctx, h.NS))
	}
	return errors.Join(errs...)
}

// netem adds latency and loss on every host; the network stays whole.
func netem(ctx context.Context, c *Cluster, n Netem) (*injected, error) {
	inj := &injected{kind: NetemAll}
	var undos []func(context.Context) error
	inj.heal = func(ctx context.Context) error {
		var errs []error
		for _, undo := range undos {
			errs = append(errs, undo(ctx))
		}
		return errors.Join(errs...)
	}
	for _, h := range c.Hosts {
		inj.targets = append(inj.targets, h.Name)
		how, undo, err := addNetem(ctx, h.NS, n)
		if err != nil {
			return nil, errors.Join(err, inj.heal(ctx))
		}
		undos = append(undos, undo)
		inj.kind = NetemAll + " (" + how + ")"
	}
	// A handshake with a manager waits for its SYN to be let in: it shows
	// whether the delay is really there.
	took, err := handshake(ctx, c.Managers[0].Addr())
	if err == nil && took < n.Delay-n.Jitter {
		err = fmt.Errorf("a handshake with %s took %v under a delay of %v±%v", c.Managers[0].Name, took, n.Delay, n.Jitter)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("netem did not take effect: %w", err), inj.heal(ctx))
	}
	inj.kind += fmt.Sprintf(", a handshake took %v", took.Round(time.Millisecond))
	return inj, nil
}

// handshake times a TCP handshake with addr from the harness.
func handshake(ctx context.Context, addr string) (time.Duration, error) {
	start := time.Now()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	conn.Close()
	return took, nil
}

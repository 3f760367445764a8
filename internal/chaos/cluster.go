package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/fleet"
)

// healthyTimeout bounds the wait for a healthy cluster (every node Ready,
// every manager reachable, one leader).
const healthyTimeout = 60 * time.Second

// Config says what cluster to build.
type Config struct {
	Managers int
	Workers  int
	// Dir holds the binary, data roots and logs (kept after the run).
	Dir string
	// Bin is the shoal binary; empty builds ./cmd/shoal into Dir.
	Bin string
}

// Cluster is a swarm of hosts on the test network.
type Cluster struct {
	Hosts    []*Host
	Managers []*Host
	Workers  []*Host

	net     *network
	sockDir string
}

// NewCluster builds the network, starts one daemon per host, makes the
// first host initialise a swarm and the others join it, and waits until it
// is healthy. Close undoes everything but the logs.
func NewCluster(ctx context.Context, cfg Config) (c *Cluster, err error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if cfg.Bin == "" {
		if cfg.Bin, err = fleet.BuildShoal(ctx, cfg.Dir); err != nil {
			return nil, err
		}
	}
	n := cfg.Managers + cfg.Workers
	netw, err := setupNetwork(ctx, n)
	if err != nil {
		return nil, err
	}
	sockDir, err := os.MkdirTemp("", "shch-")
	if err != nil {
		netw.close(ctx)
		return nil, err
	}
	c = &Cluster{net: netw, sockDir: sockDir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for i := 1; i <= n; i++ {
		h := &Host{Index: i, Name: fmt.Sprintf("chaos%d", i), NS: netw.ns(i), IP: netw.ip(i),
			Sock: filepath.Join(sockDir, fmt.Sprintf("h%d.sock", i)), bin: cfg.Bin}
		h.dataRoot = filepath.Join(cfg.Dir, h.Name)
		h.Log = filepath.Join(cfg.Dir, h.Name+".log")
		if h.api, err = client.New([]string{"unix://" + h.Sock}, client.WithDialTimeout(apiDialTimeout)); err != nil {
			return nil, err
		}
		c.Hosts = append(c.Hosts, h)
		if i <= cfg.Managers {
			c.Managers = append(c.Managers, h)
		} else {
			c.Workers = append(c.Workers, h)
		}
		if err := h.Start(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.form(ctx); err != nil {
		return nil, err
	}
	if _, err := c.WaitHealthy(ctx, healthyTimeout); err != nil {
		return nil, err
	}
	return c, nil
}

// form initialises the swarm on the first host and joins the others.
func (c *Cluster) form(ctx context.Context) error {
	first := c.Hosts[0]
	if _, err := first.api.SwarmInit(ctx, swarm.InitRequest{ListenAddr: first.Addr(), AdvertiseAddr: first.Addr()}); err != nil {
		return fmt.Errorf("swarm init on %s: %w", first.Name, err)
	}
	sw, err := first.api.SwarmInspect(ctx)
	if err != nil {
		return fmt.Errorf("swarm inspect: %w", err)
	}
	for _, h := range c.Hosts[1:] {
		token := sw.JoinTokens.Worker
		if slices.Contains(c.Managers, h) {
			token = sw.JoinTokens.Manager
		}
		err := h.api.SwarmJoin(ctx, swarm.JoinRequest{ListenAddr: h.Addr(), AdvertiseAddr: h.Addr(),
			RemoteAddrs: []string{first.Addr()}, JoinToken: token})
		if err != nil {
			return fmt.Errorf("swarm join of %s: %w", h.Name, err)
		}
	}
	for _, h := range c.Hosts {
		info, err := h.api.Info(ctx)
		if err != nil {
			return fmt.Errorf("info of %s: %w", h.Name, err)
		}
		h.mu.Lock()
		h.nodeID = info.Swarm.NodeID
		h.mu.Unlock()
	}
	return nil
}

// Close kills every host and removes the network; the data roots and logs
// stay.
func (c *Cluster) Close() {
	for _, h := range c.Hosts {
		if h.Running() {
			_ = h.Kill()
		}
		h.api.Close()
	}
	c.net.close(context.Background())
	os.RemoveAll(c.sockDir)
}

// Host returns the host of node ID id, or nil.
func (c *Cluster) Host(id string) *Host {
	for _, h := range c.Hosts {
		if h.NodeID() == id {
			return h
		}
	}
	return nil
}

// WaitHealthy waits until every manager's node list shows every host Ready,
// every manager Leader or Reachable, and the same single leader; it returns
// the leader.
func (c *Cluster) WaitHealthy(ctx context.Context, timeout time.Duration) (*Host, error) {
	var leader *Host
	err := pollUntil(ctx, timeout, func() error {
		leader = nil
		for _, m := range c.Managers {
			l, err := c.healthyVia(ctx, m)
			if err != nil {
				return err
			}
			if leader != nil && l != leader {
				return fmt.Errorf("%s names leader %s, another manager %s", m.Name, l.Name, leader.Name)
			}
			leader = l
		}
		return nil
	})
	return leader, err
}

// healthyVia checks the node list of manager m and returns the leader it
// names.
func (c *Cluster) healthyVia(ctx context.Context, m *Host) (*Host, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	nodes, err := m.api.NodeList(cctx, nil)
	if err != nil {
		return nil, fmt.Errorf("node ls on %s: %w", m.Name, err)
	}
	if len(nodes) != len(c.Hosts) {
		return nil, fmt.Errorf("node ls on %s: %d nodes, want %d", m.Name, len(nodes), len(c.Hosts))
	}
	var leader *Host
	for _, n := range nodes {
		h := c.Host(n.ID)
		if h == nil {
			return nil, fmt.Errorf("node ls on %s: unknown node %s", m.Name, n.ID)
		}
		if n.Status.State != swarm.NodeStateReady {
			return nil, fmt.Errorf("node ls on %s: %s is %s", m.Name, h.Name, n.Status.State)
		}
		isManager := slices.Contains(c.Managers, h)
		switch {
		case isManager && n.ManagerStatus == nil:
			return nil, fmt.Errorf("node ls on %s: manager %s has no manager status", m.Name, h.Name)
		case isManager && n.ManagerStatus.Leader:
			leader = h
		case isManager && n.ManagerStatus.Reachability != swarm.ReachabilityReachable:
			return nil, fmt.Errorf("node ls on %s: manager %s is %s", m.Name, h.Name, n.ManagerStatus.Reachability)
		}
	}
	if leader == nil {
		return nil, fmt.Errorf("node ls on %s: no leader", m.Name)
	}
	return leader, nil
}

// Leader asks the managers in turn which node leads and returns its host.
func (c *Cluster) Leader(ctx context.Context, timeout time.Duration) (*Host, error) {
	var leader *Host
	err := pollUntil(ctx, timeout, func() error {
		var errs []error
		for _, m := range c.Managers {
			if !m.Running() || m.Frozen() {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			nodes, err := m.api.NodeList(cctx, nil)
			cancel()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, n := range nodes {
				if n.ManagerStatus != nil && n.ManagerStatus.Leader {
					leader = c.Host(n.ID)
					return nil
				}
			}
		}
		return fmt.Errorf("no leader: %w", errors.Join(errs...))
	})
	return leader, err
}

// leaderLine is what a daemon logs when it starts leading.
var leaderLine = regexp.MustCompile(`msg="?became leader"? node=(\S+) term=(\d+)`)

// LeaderClaim is one "became leader" line of a daemon's log.
type LeaderClaim struct {
	Host string
	Node string
	Term uint64
}

// LeaderClaims reads every "became leader" line of every host's log (all
// runs of each daemon).
func (c *Cluster) LeaderClaims() ([]LeaderClaim, error) {
	var out []LeaderClaim
	for _, h := range c.Hosts {
		claims, err := readLeaderClaims(h.Name, h.Log)
		if err != nil {
			return nil, err
		}
		out = append(out, claims...)
	}
	return out, nil
}

func readLeaderClaims(host, path string) ([]LeaderClaim, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []LeaderClaim
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := leaderLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		term, err := strconv.ParseUint(m[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad term in %q", path, sc.Text())
		}
		out = append(out, LeaderClaim{Host: host, Node: strings.Trim(m[1], `"`), Term: term})
	}
	return out, sc.Err()
}

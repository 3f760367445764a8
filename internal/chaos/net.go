package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The test networks: up to maxInstances runs may share the machine, each
// holding the lock of one instance k, with a bridge in the root namespace
// and one namespace per host, on subnet 10.213.(77+k).0/24. The names are
// unlikely to clash with anything else.
const (
	maxInstances = 4
	lockPattern  = "/run/shoal-chaos-%d.lock"
	cmdTimeout   = 20 * time.Second
)

// Preflight reports why the harness cannot run here (not root, no ip,
// iptables, tc or unshare), or nil.
func Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the chaos harness needs root (network and PID namespaces)")
	}
	for _, tool := range []string{"ip", "iptables", "tc", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the chaos harness needs %s: %w", tool, err)
		}
	}
	return nil
}

// sh runs a command and returns its error with its output.
func sh(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// inNS runs a command inside network namespace ns.
func inNS(ctx context.Context, ns string, name string, args ...string) error {
	return sh(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// network is the bridge and the namespaces of the hosts of one instance.
type network struct {
	inst  int
	hosts int
	lock  *os.File // flock held while the instance is ours
}

func (n *network) bridge() string       { return fmt.Sprintf("shchaos%d", n.inst) }
func (n *network) nsPrefix() string     { return fmt.Sprintf("shchaos%d-", n.inst) }
func (n *network) vethPrefix() string   { return fmt.Sprintf("shch%dv", n.inst) }
func (n *network) subnetPrefix() string { return fmt.Sprintf("10.213.%d.", 77+n.inst) }
func (n *network) ruleComment() string  { return fmt.Sprintf("shoal-chaos-%d", n.inst) }

// ns is the network namespace of host i (from 1).
func (n *network) ns(i int) string { return n.nsPrefix() + strconv.Itoa(i) }

// ip is the address of host i (from 1).
func (n *network) ip(i int) string { return n.subnetPrefix() + strconv.Itoa(i) }

// lockInstance takes the first free instance.
func lockInstance() (*network, error) {
	for k := range maxInstances {
		f, err := os.OpenFile(fmt.Sprintf(lockPattern, k), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		return &network{inst: k, lock: f}, nil
	}
	return nil, fmt.Errorf("all %d chaos network instances are in use by other runs", maxInstances)
}

// setupNetwork takes an instance, removes what a crashed run of it left,
// then creates the bridge and n hosts' namespaces, each with a veth on the
// bridge.
func setupNetwork(ctx context.Context, n int) (*network, error) {
	netw, err := lockInstance()
	if err != nil {
		return nil, err
	}
	netw.hosts = n
	netw.cleanup(ctx)
	br := netw.bridge()
	steps := [][]string{
		{"ip", "link", "add", br, "type", "bridge"},
		{"ip", "addr", "add", netw.subnetPrefix() + "254/24", "dev", br},
		{"ip", "link", "set", br, "up"},
		// Docker's FORWARD policy is DROP and bridged frames pass through
		// iptables here (br_netfilter): let the test bridge's traffic through.
		{"iptables", "-I", "FORWARD", "-i", br, "-o", br, "-m", "comment", "--comment", netw.ruleComment(), "-j", "ACCEPT"},
	}
	for i := 1; i <= n; i++ {
		ns, veth := netw.ns(i), netw.vethPrefix()+strconv.Itoa(i)
		steps = append(steps,
			[]string{"ip", "netns", "add", ns},
			[]string{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"ip", "link", "set", veth, "master", br, "up"},
			[]string{"ip", "netns", "exec", ns, "ip", "addr", "add", netw.ip(i) + "/24", "dev", "eth0"},
			[]string{"ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up"},
			[]string{"ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"},
		)
	}
	for _, s := range steps {
		if err := sh(ctx, s[0], s[1:]...); err != nil {
			netw.close(ctx)
			return nil, fmt.Errorf("set up the test network: %w", err)
		}
	}
	return netw, nil
}

// close removes the instance's network and releases it.
func (n *network) close(ctx context.Context) {
	n.cleanup(ctx)
	n.lock.Close()
}

// cleanup kills every process left in a namespace of the instance, deletes
// those namespaces, the veths, the bridge and the forwarding rule.
func (n *network) cleanup(ctx context.Context) {
	for _, ns := range n.namespaces() {
		for _, pid := range nsPids(ns) {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		_ = sh(ctx, "ip", "netns", "del", ns)
	}
	// The kernel frees a deleted namespace, and its end of each veth, in
	// the background: delete our ends now.
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if strings.HasPrefix(i.Name, n.vethPrefix()) {
				_ = sh(ctx, "ip", "link", "del", i.Name)
			}
		}
	}
	br := n.bridge()
	_ = sh(ctx, "ip", "link", "del", br)
	for range 10 {
		err := sh(ctx, "iptables", "-D", "FORWARD", "-i", br, "-o", br,
			"-m", "comment", "--comment", n.ruleComment(), "-j", "ACCEPT")
		if err != nil {
			break
		}
	}
}

// namespaces lists the network namespaces of the instance.
func (n *network) namespaces() []string {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), n.nsPrefix()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// nsPids lists the processes whose network namespace is ns, read from /proc.
func nsPids(ns string) []int {
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		return nil
	}
	link := fmt.Sprintf("net:[%d]", want.Ino)
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/net"); err == nil && l == link {
			out = append(out, pid)
		}
	}
	return out
}

// signalHost sends sig to every process of host namespace ns, twice, to
// catch a process forked during the first pass.
func signalHost(ns string, sig syscall.Signal) {
	for range 2 {
		for _, pid := range nsPids(ns) {
			_ = syscall.Kill(pid, sig)
		}
	}
}

// dropPeers makes host ns drop traffic from (and, unless inboundOnly, to)
// the given addresses. An empty list drops everything on eth0.
func dropPeers(ctx context.Context, ns string, peers []string, inboundOnly bool) error {
	if len(peers) == 0 {
		if err := inNS(ctx, ns, "iptables", "-A", "INPUT", "-i", "eth0", "-j", "DROP"); err != nil {
			return err
		}
		if inboundOnly {
			return nil
		}
		return inNS(ctx, ns, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "DROP")
	}
	for _, p := range peers {
		if err := inNS(ctx, ns, "iptables", "-A", "INPUT", "-s", p, "-j", "DROP"); err != nil {
			return err
		}
		if inboundOnly {
			continue
		}
		if err := inNS(ctx, ns, "iptables", "-A", "OUTPUT", "-d", p, "-j", "DROP"); err != nil {
			return err
		}
	}
	return nil
}

// healFilters removes every drop rule of host ns.
func healFilters(ctx context.Context, ns string) error {
	return errors.Join(inNS(ctx, ns, "iptables", "-F", "INPUT"), inNS(ctx, ns, "iptables", "-F", "OUTPUT"))
}

// Netem is the latency and loss added on a host's link.
type Netem struct {
	Delay  time.Duration
	Jitter time.Duration
	LossPc float64
}

func (n Netem) String() string {
	return fmt.Sprintf("delay %v±%v loss %.0f%%", n.Delay, n.Jitter, n.LossPc)
}

// addNetem adds latency and loss on host ns's eth0 with tc netem. Where the
// kernel has no netem qdisc (sch_netem), it makes them with what it has:
// loss by iptables' statistic match in both directions, and the delay by
// an NFQUEUE delayer on inbound packets (delay.go). It returns how the
// fault was made and how to remove it.
func addNetem(ctx context.Context, ns string, n Netem) (string, func(context.Context) error, error) {
	err := inNS(ctx, ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem",
		"delay", fmt.Sprintf("%dms", n.Delay.Milliseconds()), fmt.Sprintf("%dms", n.Jitter.Milliseconds()),
		"loss", fmt.Sprintf("%.1f%%", n.LossPc))
	if err == nil {
		undo := func(ctx context.Context) error {
			return inNS(ctx, ns, "tc", "qdisc", "del", "dev", "eth0", "root")
		}
		return "netem " + n.String(), undo, nil
	}
	if !strings.Contains(err.Error(), "qdisc kind is unknown") {
		return "", nil, err
	}
	p := fmt.Sprintf("%.3f", n.LossPc/100)
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		if err := inNS(ctx, ns, "iptables", "-A", chain, "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP"); err != nil {
			return "", nil, errors.Join(err, healFilters(ctx, ns))
		}
	}
	d, err := addDelay(ctx, ns, n.Delay, n.Jitter)
	if err != nil {
		return "", nil, errors.Join(err, healFilters(ctx, ns))
	}
	undo := func(ctx context.Context) error { return errors.Join(delDelay(ctx, ns, d), healFilters(ctx, ns)) }
	return fmt.Sprintf("no sch_netem: inbound delay %v±%v by nfqueue, loss %.0f%% each way by iptables",
		n.Delay, n.Jitter, n.LossPc), undo, nil
}

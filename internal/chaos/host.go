package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/internal/fleet"
)

// Timeouts of a host's daemon.
const (
	clusterPort    = "2377"
	startTimeout   = 30 * time.Second
	stopTimeout    = 15 * time.Second
	killTimeout    = 10 * time.Second
	pollEvery      = 100 * time.Millisecond
	apiDialTimeout = time.Second
)

// Host is one machine of the test cluster: a network namespace with its own
// address, a PID namespace whose init is the shoal daemon, and a data root.
// Its API socket lives on the shared filesystem, so the harness reaches it
// even when the host's network is cut.
type Host struct {
	Index int    // from 1
	Name  string // node name, e.g. chaos1
	NS    string // network namespace
	IP    string
	Sock  string // API socket path
	Log   string // the daemon's log, appended across restarts

	bin      string
	dataRoot string
	api      *client.Client

	mu     sync.Mutex
	cmd    *exec.Cmd     // ip netns exec … unshare … shoal daemon
	done   chan struct{} // closed when cmd has exited
	frozen bool
	nodeID string
}

// Addr is the host's cluster address.
func (h *Host) Addr() string { return net.JoinHostPort(h.IP, clusterPort) }

// Client is the API client of this host's socket alone (no failover).
func (h *Host) Client() *client.Client { return h.api }

// NodeID is the host's swarm node ID, once it is in the swarm.
func (h *Host) NodeID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nodeID
}

// Running reports whether the host's daemon is up (possibly frozen).
func (h *Host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cmd != nil
}

// Frozen reports whether the host is stopped by SIGSTOP.
func (h *Host) Frozen() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.frozen
}

// Start runs the daemon in the host's namespaces on its data root and
// waits until its API answers.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.cmd != nil {
		h.mu.Unlock()
		return fmt.Errorf("start %s: already running", h.Name)
	}
	h.mu.Unlock()
	logf, err := os.OpenFile(h.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "==== chaos: starting %s at %s\n", h.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command("ip", "netns", "exec", h.NS,
		"unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
		h.bin, "daemon", "--data-root", h.dataRoot, "--host", "unix://"+h.Sock, "--node-name", h.Name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", h.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	h.mu.Lock()
	h.cmd, h.done, h.frozen = cmd, done, false
	h.mu.Unlock()
	return pollUntil(ctx, startTimeout, func() error {
		select {
		case <-done:
			return fmt.Errorf("%s exited at start (log %s)", h.Name, h.Log)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := h.api.Ping(cctx)
		return err
	})
}

// Kill is the machine's death: SIGKILL to every process of the host. It
// returns once the daemon is gone.
func (h *Host) Kill() error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.cmd, h.frozen = nil, false
	h.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("kill %s: not running", h.Name)
	}
	signalHost(h.NS, syscall.SIGKILL)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(killTimeout):
		return fmt.Errorf("kill %s: still running %v after SIGKILL", h.Name, killTimeout)
	}
}

// Stop asks the daemon to exit (SIGTERM to the daemon alone) and waits; a
// daemon that does not exit in time is killed and reported.
func (h *Host) Stop() error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("stop %s: not running", h.Name)
	}
	daemon := childOf(cmd.Process.Pid)
	if daemon == 0 {
		return fmt.Errorf("stop %s: daemon process not found under pid %d", h.Name, cmd.Process.Pid)
	}
	_ = syscall.Kill(daemon, syscall.SIGTERM)
	select {
	case <-done:
		h.mu.Lock()
		h.cmd = nil
		h.mu.Unlock()
		return nil
	case <-time.After(stopTimeout):
		err := fmt.Errorf("%s did not exit within %v of SIGTERM", h.Name, stopTimeout)
		return errors.Join(err, h.Kill())
	}
}

// Freeze stops every process of the host (SIGSTOP).
func (h *Host) Freeze() {
	h.mu.Lock()
	h.frozen = true
	h.mu.Unlock()
	signalHost(h.NS, syscall.SIGSTOP)
}

// Thaw resumes every process of the host (SIGCONT).
func (h *Host) Thaw() {
	signalHost(h.NS, syscall.SIGCONT)
	h.mu.Lock()
	h.frozen = false
	h.mu.Unlock()
}

// childOf returns the first child process of pid, or 0.
func childOf(pid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid(p) == pid {
			return p
		}
	}
	return 0
}

// ppid reads the parent of process p from /proc (0 if unknown).
func ppid(p int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat"))
	if err != nil {
		return 0
	}
	// The fields after the command name (in parentheses, which may hold
	// parentheses itself): state, ppid, ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	v, _ := strconv.Atoi(f[1])
	return v
}

// pollUntil calls cond every pollEvery until it returns nil, ctx ends or
// timeout passes.
func pollUntil(ctx context.Context, timeout time.Duration, cond func() error) error {
	return fleet.Poll(ctx, timeout, pollEvery, cond)
}

package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mswarm "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// Timeouts of the daemons this package starts.
const (
	daemonStartTimeout = 20 * time.Second
	daemonStopTimeout  = 10 * time.Second
	pollInterval       = 50 * time.Millisecond
)

// BuildShoal builds ./cmd/shoal of the module in the working directory (or
// above it) into dir and returns the binary's path.
func BuildShoal(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the shoal module: cannot build ./cmd/shoal")
	}
	bin := filepath.Join(dir, "shoal")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/shoal")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/shoal: %w\n%s", err, out)
	}
	return bin, nil
}

// DaemonConfig says how to start one shoal daemon.
type DaemonConfig struct {
	Bin  string // the shoal binary
	Name string // --node-name
	IP   string // loopback address of its cluster port, e.g. 127.0.1.1
	// Dir holds the daemon's data root and log.
	Dir string
	// Socket is the API socket path (keep it short: unix socket paths are
	// limited to about 100 bytes).
	Socket string
	// Debug starts the daemon with --debug (profiles at /debug/pprof/).
	Debug bool
	// Procs, if not zero, is the daemon's GOMAXPROCS: its share of a
	// machine it shares with other daemons (see shoal-bench).
	Procs int
	// Port is the cluster port; zero picks a free one. A restart on the
	// same data root must keep the port its peers know.
	Port int
}

// Daemon is a shoal daemon running as a process of its own.
type Daemon struct {
	cfg     DaemonConfig
	addr    string // cluster address ip:port, free when started
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	api     *client.Client

	stopOnce sync.Once
	stopErr  error
}

// StartDaemon starts a daemon and waits until its API answers.
func StartDaemon(ctx context.Context, cfg DaemonConfig) (*Daemon, error) {
	port := cfg.Port
	if port == 0 {
		var err error
		if port, err = freePort(cfg.IP); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(cfg.Dir, cfg.Name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	api, err := client.New([]string{"unix://" + cfg.Socket}, client.WithDialTimeout(2*time.Second))
	if err != nil {
		return nil, err
	}
	args := []string{"daemon", "--data-root", filepath.Join(cfg.Dir, cfg.Name),
		"--host", "unix://" + cfg.Socket, "--node-name", cfg.Name}
	if cfg.Debug {
		args = append(args, "--debug")
	}
	cmd := exec.Command(cfg.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cfg.Procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(cfg.Procs))
	}
	if err := cmd.Start(); err != nil {
		api.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Name, err)
	}
	d := &Daemon{cfg: cfg, addr: net.JoinHostPort(cfg.IP, strconv.Itoa(port)), logPath: logPath,
		cmd: cmd, done: make(chan struct{}), api: api}
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()
	if err := d.waitAPI(ctx); err != nil {
		_ = d.Stop()
		return nil, err
	}
	return d, nil
}

// waitAPI polls the daemon's API until it answers.
func (d *Daemon) waitAPI(ctx context.Context) error {
	return Poll(ctx, daemonStartTimeout, pollInterval, func() error {
		select {
		case <-d.done:
			return fmt.Errorf("%s exited at start (log: %s)", d.cfg.Name, d.logPath)
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := d.api.Ping(cctx)
		return err
	})
}

// freePort returns a port that is free on ip now.
func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a port on %s: %w", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Restart starts the daemon again after Kill or Stop, on the same data
// root, socket and cluster address; it returns the new process.
func (d *Daemon) Restart(ctx context.Context) (*Daemon, error) {
	cfg := d.cfg
	_, port, err := net.SplitHostPort(d.addr)
	if err != nil {
		return nil, err
	}
	if cfg.Port, err = strconv.Atoi(port); err != nil {
		return nil, err
	}
	return StartDaemon(ctx, cfg)
}

// Name is the daemon's node name.
func (d *Daemon) Name() string { return d.cfg.Name }

// Addr is the daemon's cluster address (ip:port), for init and join.
func (d *Daemon) Addr() string { return d.addr }

// Socket is the daemon's API socket path.
func (d *Daemon) Socket() string { return d.cfg.Socket }

// LogPath is the file the daemon logs to.
func (d *Daemon) LogPath() string { return d.logPath }

// Pid is the daemon's process ID.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Client is the API client of this daemon's socket.
func (d *Daemon) Client() *client.Client { return d.api }

// Init makes the daemon the first manager of a new swarm on its address.
func (d *Daemon) Init(ctx context.Context) error {
	_, err := d.api.SwarmInit(ctx, mswarm.InitRequest{ListenAddr: d.addr, AdvertiseAddr: d.addr})
	if err != nil {
		return fmt.Errorf("%s: swarm init: %w", d.cfg.Name, err)
	}
	return nil
}

// Join makes the daemon join the swarm through the manager at via.
func (d *Daemon) Join(ctx context.Context, token, via string) error {
	err := d.api.SwarmJoin(ctx, mswarm.JoinRequest{ListenAddr: d.addr, AdvertiseAddr: d.addr,
		RemoteAddrs: []string{via}, JoinToken: token})
	if err != nil {
		return fmt.Errorf("%s: swarm join: %w", d.cfg.Name, err)
	}
	return nil
}

// Stop asks the daemon to exit (SIGTERM), kills its process group if it
// has not within a few seconds, and waits for it. Calling it again returns
// the first result.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		defer d.api.Close()
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(daemonStopTimeout):
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
			d.stopErr = fmt.Errorf("%s did not exit within %v of SIGTERM: killed", d.cfg.Name, daemonStopTimeout)
		}
	})
	return d.stopErr
}

// Kill ends the daemon as a machine death would: SIGKILL to its whole
// process group, then waits for it. Stop after Kill is harmless.
func (d *Daemon) Kill() {
	d.stopOnce.Do(func() {
		defer d.api.Close()
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	})
}

// Release lets the daemon run on after this process exits: it closes the
// API client only.
func (d *Daemon) Release() {
	d.stopOnce.Do(func() { d.api.Close() })
}

// Poll calls cond every interval until it returns nil, ctx ends, or
// timeout passes; it then returns an error wrapping cond's last one.
func Poll(ctx context.Context, timeout, interval time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Profile saves one of the daemon's Go profiles (a /debug/pprof/ path such
// as "profile?seconds=10" or "heap") to path. The daemon must run with
// Debug.
func (d *Daemon) Profile(ctx context.Context, name, path string) error {
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.cfg.Socket)
		},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://shoal/debug/pprof/"+name, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("profile %s of %s: %w", name, d.cfg.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s of %s: %s (is the daemon running with --debug?)", name, d.cfg.Name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

//go:build linux

package process

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-project/shoal/swarm"
)

// defaultGrace is the stop grace period of a spec without one, as in Docker.
const defaultGrace = 10 * time.Second

// defaultPath is the PATH a task gets when the daemon has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// plan is a task spec resolved for this node: what Start runs.
type plan struct {
	path       string // the executable
	argv       []string
	env        []string
	dir        string
	iso        *isolation // user and isolation; needsInit: started through the task init
	stopSignal syscall.Signal
	grace      time.Duration
	limits     swarm.Resources
}

// makePlan checks a task's spec against this node. workDir is the task's
// scratch directory, used when the spec names none; root says whether the
// daemon runs as root (see planIsolation).
func makePlan(t *swarm.Task, workDir string, root bool) (*plan, error) {
	c := t.Spec.Container
	p := &plan{argv: append(append([]string{}, c.Command...), c.Args...), dir: workDir,
		grace: defaultGrace, stopSignal: syscall.SIGTERM, limits: t.Spec.Resources.Limits}
	if len(p.argv) == 0 || p.argv[0] == "" {
		return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid task spec: the process runtime needs a command; %s has none", taskName(t))
	}
	if c.StopGracePeriod != nil {
		if *c.StopGracePeriod < 0 {
			return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid task spec: negative stop grace period %s", *c.StopGracePeriod)
		}
		p.grace = *c.StopGracePeriod
	}
	if c.StopSignal != "" {
		sig, err := parseSignal(c.StopSignal)
		if err != nil {
			return nil, err
		}
		p.stopSignal = sig
	}
	if c.Dir != "" {
		if err := checkDir(c.Dir); err != nil {
			return nil, err
		}
		p.dir = c.Dir
	}
	p.env = taskEnv(c.Env)
	path, err := lookPath(p.argv[0], p.dir, envValue(p.env, "PATH"))
	if err != nil {
		return nil, err
	}
	p.path = path
	if p.iso, err = planIsolation(c, root); err != nil {
		return nil, err
	}
	p.iso.Path, p.iso.Argv, p.iso.Env, p.iso.Dir = p.path, p.argv, p.env, p.dir
	return p, nil
}

func taskName(t *swarm.Task) string {
	if t.ServiceName != "" {
		return "service " + t.ServiceName
	}
	return "task " + string(t.ID)
}

func checkDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return swarm.Errorf(swarm.ErrInvalidArgument, "invalid task spec: working directory %q is not an absolute path", dir)
	}
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return swarm.Errorf(swarm.ErrFailedPrecondition, "working directory %q is not available on this node: %w", dir, err)
	case !fi.IsDir():
		return swarm.Errorf(swarm.ErrFailedPrecondition, "working directory %q is not a directory", dir)
	}
	return nil
}

// taskEnv is the spec's environment plus the daemon's PATH when the spec
// sets none. Entries without "=" are dropped.
func taskEnv(spec []string) []string {
	env := make([]string, 0, len(spec)+1)
	for _, kv := range spec {
		if strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	if _, ok := lookupEnv(env, "PATH"); !ok {
		path := os.Getenv("PATH")
		if path == "" {
			path = defaultPath
		}
		env = append(env, "PATH="+path)
	}
	return env
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- { // the last one wins, as in exec
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

func envValue(env []string, key string) string {
	v, _ := lookupEnv(env, key)
	return v
}

// lookPath finds the executable the task names, on the task's own PATH
// (not the daemon's); a name with a slash is taken relative to dir.
func lookPath(name, dir, path string) (string, error) {
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		if err := executable(name); err != nil {
			return "", swarm.Errorf(swarm.ErrFailedPrecondition, "exec: %q: %w", name, err)
		}
		return name, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" || !filepath.IsAbs(d) {
			continue // "." entries would make the result depend on the daemon's directory
		}
		if p := filepath.Join(d, name); executable(p) == nil {
			return p, nil
		}
	}
	return "", swarm.Errorf(swarm.ErrFailedPrecondition, "exec: %q: executable file not found in $PATH", name)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode()&0o111 == 0:
		return errors.New("permission denied")
	}
	return nil
}

// credential resolves "user", "user:group", "uid" or "uid:gid" (names
// through os/user, numbers as they are). A uid unknown to the node gets gid
// 0, as in Docker. The daemon's own identity gives nil: nothing to change.
func credential(spec string) (*syscall.Credential, error) {
	name, group, hasGroup := strings.Cut(spec, ":")
	uid, gid, err := lookupUser(name)
	if err != nil {
		return nil, err
	}
	if hasGroup {
		if gid, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	if int(uid) == os.Geteuid() && int(gid) == os.Getegid() {
		return nil, nil
	}
	// Only root may set supplementary groups; another daemon keeps its own.
	return &syscall.Credential{Uid: uid, Gid: gid, NoSetGroups: os.Geteuid() != 0}, nil
}

func lookupUser(name string) (uid, gid uint32, err error) {
	if n, perr := strconv.ParseUint(name, 10, 32); perr == nil {
		u, lerr := user.LookupId(name)
		if lerr != nil {
			return uint32(n), 0, nil
		}
		g, _ := strconv.ParseUint(u.Gid, 10, 32)
		return uint32(n), uint32(g), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, swarm.Errorf(swarm.ErrFailedPrecondition, "unable to find user %s: no matching entries in passwd file", name)
	}
	n, err1 := strconv.ParseUint(u.Uid, 10, 32)
	g, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, swarm.Errorf(swarm.ErrFailedPrecondition, "user %s has a non-numeric uid or gid", name)
	}
	return uint32(n), uint32(g), nil
}

func lookupGroup(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, swarm.Errorf(swarm.ErrFailedPrecondition, "unable to find group %s: no matching entries in group file", name)
	}
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, swarm.Errorf(swarm.ErrFailedPrecondition, "group %s has a non-numeric gid", name)
	}
	return uint32(n), nil
}

// signals are the names a stop signal may be given by, without "SIG".
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS, "CHLD": syscall.SIGCHLD,
	"CONT": syscall.SIGCONT, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV,
	"STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP, "SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM,
	"TRAP": syscall.SIGTRAP, "TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU,
	"URG": syscall.SIGURG, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "VTALRM": syscall.SIGVTALRM,
	"WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ,
}

// parseSignal reads "SIGTERM", "term" or "15".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, swarm.Errorf(swarm.ErrInvalidArgument, "invalid stop signal %q", s)
		}
		return syscall.Signal(n), nil
	}
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, swarm.Errorf(swarm.ErrInvalidArgument, "invalid stop signal %q", s)
}

// exitCode is a shell's view of a wait status: the exit status, or 128
// plus the signal that killed the process.
func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

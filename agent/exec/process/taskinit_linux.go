//go:build linux

package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/shoal-project/shoal/swarm"
	"golang.org/x/sys/unix"
)

// The task init: a task that needs more than a fork and exec (another
// user, capabilities, rlimits, no_new_privs, a mount namespace) is started
// as this very binary, re-executed (/proc/self/exe) with argv[0] initArg0.
// The package's init function sees that argv[0] before main runs, and
// becomes the task: it reads its isolation (JSON) from fd 3, sets up
// mounts, limits, capabilities and user in that order, on one locked
// thread, and execs the task's command; or writes why it could not to fd 4
// and exits. The daemon waits for fd 4 to close (it is close-on-exec): an
// exec that succeeded closes it empty, so a task that cannot be isolated as
// asked never starts, and Start fails with the reason (the task is
// rejected). Any binary that imports this package can run tasks this way
// (the shoal binary, and the tests).
//
// The init's environment is empty: the task's own environment is only
// given to the exec, so nothing in it (LD_PRELOAD, GODEBUG...) reaches
// code running as root.
const initArg0 = "shoal-task-init"

// initTimeout bounds how long the daemon waits for the task init to exec
// the command (a mount on a hung file system could block it).
const initTimeout = 30 * time.Second

// initMaxConfig bounds the configuration the init reads.
const initMaxConfig = 16 << 20

func init() {
	if len(os.Args) > 0 && os.Args[0] == initArg0 {
		runtime.LockOSThread() // credentials and capabilities are per thread until exec
		taskInit()
	}
}

// initError is a task init's failure, as it reported it: the task never
// ran, and starting it again elsewhere in the machine (without a cgroup)
// would not help.
type initError struct{ msg string }

func (e *initError) Error() string { return e.msg }

// initPipes connect the daemon to a task init: the configuration goes to
// its fd 3, and its fd 4 tells how the exec went.
type initPipes struct {
	cfgR, cfgW       *os.File
	statusR, statusW *os.File
}

func newInitPipes() (*initPipes, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, err
	}
	return &initPipes{cfgR, cfgW, statusR, statusW}, nil
}

func (p *initPipes) close() {
	for _, f := range []*os.File{p.cfgR, p.cfgW, p.statusR, p.statusW} {
		f.Close()
	}
}

// handshake, once the init runs, sends it iso and waits for its exec: nil
// once the task's command runs, an *initError if the init failed.
func (p *initPipes) handshake(iso *isolation) error {
	p.cfgR.Close()
	p.statusW.Close()
	b, err := json.Marshal(iso)
	if err != nil {
		return err
	}
	go func() { // the pipe may hold less than the config: do not wait on the reader
		_, _ = p.cfgW.Write(b)
		p.cfgW.Close()
	}()
	_ = p.statusR.SetReadDeadline(time.Now().Add(initTimeout))
	msg, err := io.ReadAll(io.LimitReader(p.statusR, 64<<10))
	p.statusR.Close()
	switch {
	case len(msg) > 0:
		return &initError{msg: string(msg)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &initError{msg: fmt.Sprintf("the task's isolation was not set up within %s", initTimeout)}
	case err != nil:
		return &initError{msg: "reading the task init's status: " + err.Error()}
	}
	return nil
}

// taskInit is the init's whole life: it never returns.
func taskInit() {
	status := os.NewFile(4, "status")
	fail := func(format string, args ...any) {
		if status != nil {
			fmt.Fprintf(status, format, args...)
		}
		os.Exit(127)
	}
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	ppid := os.Getppid()
	b, err := io.ReadAll(io.LimitReader(os.NewFile(3, "config"), initMaxConfig))
	if err != nil {
		fail("task init: reading its configuration: %v", err)
	}
	var iso isolation
	if err := json.Unmarshal(b, &iso); err != nil {
		fail("task init: bad configuration: %v", err)
	}
	if err := iso.apply(ppid); err != nil {
		fail("%v", err)
	}
	err = syscall.Exec(iso.Path, iso.Argv, iso.Env)
	fail("exec %s: %v", iso.Path, err)
}

// apply sets up everything but the exec, on the calling (locked) thread.
func (iso *isolation) apply(ppid int) error {
	if iso.NewNS {
		if err := iso.mountAll(); err != nil {
			return err
		}
	}
	if err := syscall.Chdir(iso.Dir); err != nil { // as the daemon's user, who can reach it
		return fmt.Errorf("working directory %s: %w", iso.Dir, err)
	}
	for _, r := range iso.Rlimits {
		if err := syscall.Setrlimit(r.Resource, &syscall.Rlimit{Cur: r.Cur, Max: r.Max}); err != nil {
			return fmt.Errorf("--ulimit %s: setrlimit: %w", r, err)
		}
	}
	if iso.Caps != nil {
		if err := dropBounding(*iso.Caps); err != nil {
			return err
		}
	}
	if iso.SetUser {
		if err := iso.becomeUser(); err != nil {
			return err
		}
	}
	if iso.Caps != nil {
		if err := setCaps(*iso.Caps, iso.SetUser && iso.UID != 0); err != nil {
			return err
		}
	}
	if iso.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no-new-privileges: %w", err)
		}
	}
	// A change of credentials cleared the parent-death signal: set it
	// again, then make sure the daemon did not die meanwhile.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent-death signal: %w", err)
	}
	if os.Getppid() != ppid {
		return errors.New("the daemon died while the task started")
	}
	return nil
}

// becomeUser switches this thread (the one that will exec) to the task's
// user, keeping its capabilities for setCaps. Raw per-thread system calls:
// the others threads die at exec.
func (iso *isolation) becomeUser() error {
	if iso.Caps != nil {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("--user: keeping capabilities: %w", err)
		}
	}
	groups := make([]uint32, len(iso.Groups))
	copy(groups, iso.Groups)
	var gp uintptr
	if len(groups) > 0 {
		gp = uintptr(unsafe.Pointer(&groups[0]))
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), gp, 0); e != 0 {
		return fmt.Errorf("--user: setgroups: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(iso.GID), uintptr(iso.GID), uintptr(iso.GID)); e != 0 {
		return fmt.Errorf("--user: setresgid %d: %w", iso.GID, e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(iso.UID), uintptr(iso.UID), uintptr(iso.UID)); e != 0 {
		return fmt.Errorf("--user: setresuid %d: %w", iso.UID, e)
	}
	return nil
}

// dropBounding removes from the bounding set every capability not in
// caps: no program the task runs, setuid root or with file capabilities,
// can get them back.
func dropBounding(caps uint64) error {
	last := capLast()
	for c := 0; c <= last; c++ {
		if caps&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("--cap-drop: dropping capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// setCaps makes caps the thread's permitted, effective and inheritable
// capabilities; for a user other than root they are also made ambient, so
// they survive the exec (root's come back from the bounding set).
func setCaps(caps uint64, ambient bool) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		w := uint32(caps >> (32 * i))
		data[i] = unix.CapUserData{Effective: w, Permitted: w, Inheritable: w}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("--cap-add/--cap-drop: capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("--cap-add: clearing ambient capabilities: %w", err)
	}
	if !ambient {
		return nil
	}
	for c := 0; c <= capLast(); c++ {
		if caps&(1<<c) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("--cap-add: raising ambient capability %d (Linux 4.3 or later): %w", c, err)
		}
	}
	return nil
}

// mountAll, in the init's own mount namespace, keeps its mounts from
// reaching the host, makes the root read-only if asked, and adds the
// task's mounts.
func (iso *isolation) mountAll() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the task's mounts private: %w", err)
	}
	if iso.ReadOnly {
		if err := readOnlyRoot(); err != nil {
			return err
		}
	}
	for _, m := range iso.Mounts {
		if err := mountOne(m); err != nil {
			return err
		}
	}
	return nil
}

// readOnlyRoot makes every mount read-only (mount_setattr, Linux 5.12),
// except /dev and /proc, which stay as they were, as in a container; and
// /proc/sys read-only, as Docker has it.
func readOnlyRoot() error {
	ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, ro); err != nil {
		if errors.Is(err, syscall.ENOSYS) {
			return errors.New("--read-only: the kernel lacks mount_setattr (Linux 5.12 or later is needed)")
		}
		return fmt.Errorf("--read-only: %w", err)
	}
	points := mountPoints()
	rw := &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	if points["/dev"] {
		if err := unix.MountSetattr(unix.AT_FDCWD, "/dev", unix.AT_RECURSIVE, rw); err != nil {
			return fmt.Errorf("--read-only: keeping /dev writable: %w", err)
		}
	}
	if points["/proc"] {
		if err := unix.MountSetattr(unix.AT_FDCWD, "/proc", 0, rw); err != nil {
			return fmt.Errorf("--read-only: keeping /proc: %w", err)
		}
		if err := unix.Mount("/proc/sys", "/proc/sys", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("--read-only: /proc/sys: %w", err)
		}
		if err := unix.MountSetattr(unix.AT_FDCWD, "/proc/sys", unix.AT_RECURSIVE, ro); err != nil {
			return fmt.Errorf("--read-only: /proc/sys: %w", err)
		}
	}
	return nil
}

// mountPoints are the mount points of this namespace (field 5 of
// /proc/self/mountinfo, octal escapes left as they are).
func mountPoints() map[string]bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	points := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			points[f[4]] = true
		}
	}
	return points
}

// mountOne adds a bind or tmpfs mount; read-only recursively if asked.
func mountOne(m swarm.Mount) error {
	switch m.Type {
	case swarm.MountBind:
		if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("--mount type=bind,source=%s,target=%s: %w", m.Source, m.Target, err)
		}
	case swarm.MountTmpfs:
		opts := []string{}
		if m.TmpfsSize > 0 {
			opts = append(opts, fmt.Sprintf("size=%d", m.TmpfsSize))
		}
		if m.TmpfsMode != 0 {
			opts = append(opts, fmt.Sprintf("mode=%o", m.TmpfsMode))
		}
		if err := unix.Mount("tmpfs", m.Target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, strings.Join(opts, ",")); err != nil {
			return fmt.Errorf("--mount type=tmpfs,target=%s: %w", m.Target, err)
		}
	default:
		return fmt.Errorf("--mount: type %q is not supported", m.Type)
	}
	if m.ReadOnly {
		ro := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(unix.AT_FDCWD, m.Target, unix.AT_RECURSIVE, ro); err != nil {
			return fmt.Errorf("--mount %s,readonly: %w", m.Target, err)
		}
	}
	return nil
}

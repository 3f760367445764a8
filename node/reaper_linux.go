//go:build linux

package node

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ReapOrphans makes the daemon a child subreaper and, until ctx ends,
// reaps the processes that end up its children without being its own: the
// orphaned descendants of its tasks (what a task started and left behind
// when it exited or was killed), and, when the daemon runs as PID 1 of a
// container or PID namespace, every orphan of that namespace. Without it
// they stayed <defunct> under a daemon that is PID 1. Only the daemon
// calls it (shoal daemon): it makes the whole process a subreaper.
//
// A task's own process is left to its supervisor, which reads how the task
// ended from its exit status (process.Executor.Tracks); the process
// runtime's tasks are the only children the daemon starts itself. A new
// way of starting a child in the daemon must be known to ownsChild, or
// its exit status may be taken here.
func (n *Node) ReapOrphans(ctx context.Context) {
	reapOrphans(ctx, n.log, n.ownsChild)
}

// ownsChild reports whether someone in the daemon waits for child pid: a
// task process of the current runtime. An executor being replaced or
// closed is closed under n.mu, so a child of it is either still tracked
// by the executor read here or already reaped.
func (n *Node) ownsChild(pid int) bool {
	n.mu.Lock()
	e := n.executor
	n.mu.Unlock()
	t, ok := e.(interface{ Tracks(pid int) bool })
	return ok && t.Tracks(pid)
}

// reapRetry is how soon a pass looks again when an exited child it must
// leave to its owner hid the others (see reapPass).
const reapRetry = 100 * time.Millisecond

func reapOrphans(ctx context.Context, log *slog.Logger, owned func(pid int) bool) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Warn("not a child subreaper: what tasks leave behind goes to the machine's init", "err", err)
	}
	exited := make(chan os.Signal, 1)
	signal.Notify(exited, syscall.SIGCHLD)
	defer signal.Stop(exited)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		if n, hidden := reapPass(owned); hidden {
			retry.Reset(reapRetry)
		} else if n > 0 {
			log.Debug("reaped orphaned processes", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-exited:
		case <-retry.C:
		}
	}
}

// reapPass reaps the exited children no one else waits for, and reports how
// many; hidden is set when it stopped at an exited child that its owner
// has not reaped yet (waitid shows one exited child at a time).
//
// It never waits for any child (a blanket wait4(-1) would take a task's
// exit status from its supervisor): it looks at an exited child without
// reaping it (WNOWAIT), asks whether it is owned, and only then reaps
// that pid.
func reapPass(owned func(pid int) bool) (reaped int, hidden bool) {
	for {
		pid, err := exitedChild()
		if err != nil || pid == 0 {
			return reaped, false
		}
		if owned(pid) {
			return reaped, true
		}
		var ws unix.WaitStatus
		for {
			_, err = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if err == nil {
			reaped++
		}
	}
}

// exitedChild returns an exited, unreaped child of the daemon, leaving it
// so; 0 when there is none.
func exitedChild() (int, error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: no children at all
			return 0, err
		}
		return siginfoPID(&info), nil
	}
}

// siginfoPID reads si_pid: the first field of siginfo_t's union, which
// follows three ints, aligned for a pointer.
func siginfoPID(info *unix.Siginfo) int {
	const ptr = unsafe.Sizeof(uintptr(0))
	off := (3*unsafe.Sizeof(int32(0)) + ptr - 1) &^ (ptr - 1)
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), off)))
}

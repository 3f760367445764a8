//go:build linux

package process

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// sysProcAttr is how every task process is started:
//
//   - Setpgid: its own process group (pgid = its pid), so stop signals
//     reach everything it started, and nothing of the daemon's.
//   - Pdeathsig SIGKILL: the kernel kills it when its parent dies, so a
//     daemon killed with SIGKILL leaves no orphan behind. See supervise for
//     the thread this is tied to.
//   - CgroupFD: born inside the task's cgroup (clone3 CLONE_INTO_CGROUP),
//     so its limits hold from its first instruction.
//
// A task with a user or isolation starts through the task init instead of
// its command (see taskinit_linux.go), in a mount namespace of its own
// (CLONE_NEWNS) when it needs one.
func sysProcAttr(cgroupFD int) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if cgroupFD >= 0 {
		a.UseCgroupFD, a.CgroupFD = true, cgroupFD
	}
	return a
}

// waitExited blocks until process pid (a child) has exited, without reaping
// it: while it is a zombie its pid, and so its process group id, cannot be
// reused, and the group can be signalled safely.
func waitExited(pid int) error {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])),
			syscall.WEXITED|0x1000000 /* WNOWAIT */, 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return e
		}
	}
}

// procStart returns the start time of process pid (in clock ticks since
// boot, field 22 of /proc/<pid>/stat): with the pid it names one process
// for good, since pids are recycled. zombie is set for a process that has
// exited but is not reaped.
func procStart(pid int) (ticks uint64, zombie bool, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name, field 2, is in parentheses and may hold anything:
	// the fields after it start after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, errors.New("malformed /proc stat")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3, the state
	if len(f) < 20 {
		return 0, false, errors.New("malformed /proc stat")
	}
	ticks, err = strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return ticks, string(f[0]) == "Z" || string(f[0]) == "X", nil
}

// alive reports whether the process pid that started at ticks still runs.
func alive(pid int, ticks uint64) bool {
	t, zombie, err := procStart(pid)
	return err == nil && !zombie && t == ticks
}

// killGroup sends sig to process group pgid; a group already gone is fine.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

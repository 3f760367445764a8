package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestDescriptorFloodAndTemplateBombs: a manager whose descriptors a flood
// of connections to its cluster port used up accepts again once the flood
// ends (its accept loop used to stop for good: joins timed out for ever),
// and answers its API socket meanwhile; a service whose env template would
// run workers out of memory is refused before it is stored.
func TestDescriptorFloodAndTemplateBombs(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	dev01, dev02 := c.nodes[0], c.nodes[1]
	c.init(t, dev01)

	t.Run("template bomb refused", func(t *testing.T) {
		r := dev01.shoal("service", "create", "--name", "bomb", "-e", "X={{range 400000000}}x{{end}}", "busybox", "true")
		errorContains(t, r, `Error response from daemon: rpc error: code = InvalidArgument desc = expanding env failed: expanding env "X={{range 400000000}}x{{end}}": template: expansion: range is allowed over a field`)
		if out := dev01.mustShoal(t, "service", "ls", "-q"); strings.TrimSpace(out) != "" {
			t.Fatalf("a refused service was stored: %q", out)
		}
	})

	t.Run("descriptor flood", func(t *testing.T) {
		const limit = 256
		setNoFile(t, dev01.pid(), limit)
		flood := holdConnections(t, dev01.addr(), limit+100)
		defer closeAll(flood)
		eventually(t, converge, func() error {
			b, err := os.ReadFile(dev01.logPath)
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), "accept failed") || !strings.Contains(string(b), "too many open files") {
				return fmt.Errorf("%d connections held, and dev01 has not run out of descriptors yet", len(flood))
			}
			return nil
		})
		// A CLI command sent while no descriptor is free waits in the
		// socket's backlog and is answered once the flood ends.
		during := make(chan result, 1)
		go func() { during <- dev01.shoal("node", "ls") }()
		time.Sleep(200 * time.Millisecond) // let it reach the backlog: not a wait for a condition
		closeAll(flood)
		if err := (<-during).ok(); err != nil {
			t.Fatalf("node ls sent during the flood: %v", err)
		}
		// New connections to the cluster port are accepted again.
		c.join(t, dev02, "worker", dev01)
		waitNodeRow(t, dev01, "dev02", "Ready", "")
	})
}

// setNoFile lowers a process's descriptor limit (soft and hard), as
// `prlimit --nofile` does.
func setNoFile(t *testing.T, pid, n int) {
	t.Helper()
	lim := syscall.Rlimit{Cur: uint64(n), Max: uint64(n)}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_NOFILE), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		t.Fatalf("prlimit %d nofile=%d: %v", pid, n, errno)
	}
}

// holdConnections opens n TCP connections to addr and sends nothing on
// them: the daemon holds each one open for its TLS handshake's bound.
func holdConnections(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			closeAll(conns)
			t.Fatalf("connection %d of the flood: %v", len(conns)+1, err)
		}
		conns = append(conns, conn)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

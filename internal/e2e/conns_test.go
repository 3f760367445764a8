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

// TestDescriptorFloodAndTemplateBombs: a flood of connections to a
// manager's cluster port leaves it descriptors for its API socket; a
// manager whose descriptors are used up all the same accepts again on its
// cluster port once the flood ends (its accept loop used to stop for good:
// joins timed out for ever), and answers a command sent to its API socket
// meanwhile; a service whose env template would run workers out of memory
// is refused before it is stored.
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
		logHas := func(want ...string) func() error {
			return func() error {
				b, err := os.ReadFile(dev01.logPath)
				if err != nil {
					return err
				}
				for _, w := range want {
					if !strings.Contains(string(b), w) {
						return fmt.Errorf("no %q in dev01's log yet", w)
					}
				}
				return nil
			}
		}
		// The cluster port holds at most half of 256 descriptors: the rest
		// of a flood is closed at once, and the API socket still accepts.
		cluster := holdConnections(t, "tcp", dev01.addr(), limit+100)
		defer closeAll(cluster)
		eventually(t, converge, func() error { // the flood took effect, one way or the other
			if logHas("cluster port: too many connections")() == nil {
				return nil
			}
			return logHas("too many open files")()
		})
		if r := dev01.shoalWithin(2*time.Second, "node", "ls"); r.ok() != nil {
			t.Fatalf("node ls during a flood of the cluster port: %v", r.ok())
		}
		if err := logHas("cluster port: too many connections")(); err != nil {
			t.Fatal(err)
		}
		// Descriptors used up by a flood of the API socket: the cluster
		// port's accept fails (EMFILE) and backs off, and so does the API
		// socket's; a CLI command sent meanwhile waits in the backlog.
		api := holdConnections(t, "unix", dev01.sock, limit)
		defer closeAll(api)
		more := holdConnections(t, "tcp", dev01.addr(), 10)
		defer closeAll(more)
		eventually(t, converge, logHas("cluster port accept failed", "too many open files"))
		during := make(chan result, 1)
		go func() { during <- dev01.shoal("node", "ls") }()
		time.Sleep(200 * time.Millisecond) // let it reach the backlog: not a wait for a condition
		closeAll(cluster)
		closeAll(api)
		closeAll(more)
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

// holdConnections opens n connections to addr and sends nothing on them:
// the daemon holds each one open for its TLS handshake's or its request
// header's bound.
func holdConnections(t *testing.T, network, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for range n {
		conn, err := net.DialTimeout(network, addr, 2*time.Second)
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

package node

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/shoal-project/shoal/swarm"
)

// hostInfo is what this machine is; it is read once, when the node starts.
type hostInfo struct {
	machine  string // uname -m, e.g. x86_64
	kernel   string
	os       string // the OS's pretty name
	memTotal int64
}

func readHost() hostInfo {
	return hostInfo{machine: machine(), kernel: kernelVersion(), os: osName(), memTotal: memTotal()}
}

// describe reports what this machine is, for the node's description.
func (n *Node) describe() swarm.NodeDescription {
	return swarm.NodeDescription{
		Runtime:       n.cfg.Runtime,
		Hostname:      n.cfg.Name,
		OS:            runtime.GOOS,
		Architecture:  n.host.machine,
		NanoCPUs:      int64(runtime.NumCPU()) * 1e9,
		MemoryBytes:   n.host.memTotal,
		EngineVersion: n.cfg.Version,
	}
}

// machine is the kernel's name for the CPU architecture (uname -m).
func machine() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	return charsToString(u.Machine[:])
}

func kernelVersion() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	return charsToString(u.Release[:])
}

func charsToString(cs []int8) string {
	b := make([]byte, 0, len(cs))
	for _, c := range cs {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

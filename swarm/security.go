package swarm

import (
	"path"
	"slices"
	"strings"
)

// MountType is what a mount attaches at its target.
type MountType string

// The mount types shoal gives tasks; Docker's volume, npipe, cluster and
// image mounts are refused.
const (
	MountBind  MountType = "bind"  // a host path
	MountTmpfs MountType = "tmpfs" // a fresh in-memory filesystem
)

// Mount is a filesystem a task sees at Target.
type Mount struct {
	Type     MountType `json:",omitzero"`
	Source   string    `json:",omitzero"` // bind: the host path
	Target   string    `json:",omitzero"`
	ReadOnly bool      `json:",omitzero"`
	// TmpfsSize caps a tmpfs mount in bytes (0: the kernel's default, half
	// of the memory); TmpfsMode is its root's permissions (0: 1777).
	TmpfsSize int64  `json:",omitzero"`
	TmpfsMode uint32 `json:",omitzero"`
}

// Ulimit is a resource limit (setrlimit) by Docker's name: "nofile",
// "nproc", "core"...
type Ulimit struct {
	Name string `json:",omitzero"`
	Soft int64  `json:",omitzero"`
	Hard int64  `json:",omitzero"`
}

// Capabilities are the Linux capability names without "CAP_", at their
// number (capabilities(7), as of Linux 6.x).
var Capabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// CapabilityAll stands for every capability in --cap-add and --cap-drop.
const CapabilityAll = "ALL"

// NormalizeCapability turns "net_admin" or "CAP_NET_ADMIN" into
// "CAP_NET_ADMIN" (Docker's form) and "all" into "ALL"; ok is false for a
// name that is no capability.
func NormalizeCapability(name string) (string, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == CapabilityAll {
		return n, true
	}
	n = strings.TrimPrefix(n, "CAP_")
	for _, c := range Capabilities {
		if c == n {
			return "CAP_" + n, true
		}
	}
	return "", false
}

// UlimitNames are the resource limits a Ulimit may name, as Docker names
// them.
var UlimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
	"nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// ValidateIsolation checks the isolation fields of a container spec as
// they come from a user, in Docker's words where Docker has them. A task's
// runtime may still refuse what it cannot honour on its node.
func (c ContainerSpec) ValidateIsolation() error {
	for _, list := range [][]string{c.CapabilityAdd, c.CapabilityDrop} {
		for _, name := range list {
			if _, ok := NormalizeCapability(name); !ok {
				return Errorf(ErrInvalidArgument, "invalid capability: %q", name)
			}
		}
	}
	seen := map[string]bool{}
	for _, u := range c.Ulimits {
		if !slices.Contains(UlimitNames, u.Name) {
			return Errorf(ErrInvalidArgument, "invalid ulimit type: %s", u.Name)
		}
		if seen[u.Name] {
			return Errorf(ErrInvalidArgument, "invalid ulimit: %s given twice", u.Name)
		}
		seen[u.Name] = true
		if u.Soft < -1 || u.Hard < -1 || (u.Hard != -1 && (u.Soft == -1 || u.Soft > u.Hard)) {
			return Errorf(ErrInvalidArgument, "ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
		}
	}
	targets := map[string]bool{}
	for _, m := range c.Mounts {
		if err := m.validate(); err != nil {
			return err
		}
		if targets[path.Clean(m.Target)] {
			return Errorf(ErrInvalidArgument, "invalid mount config: duplicate mount point: %s", m.Target)
		}
		targets[path.Clean(m.Target)] = true
	}
	for k := range c.Sysctls {
		if k == "" || strings.ContainsAny(k, " =\x00") {
			return Errorf(ErrInvalidArgument, "invalid sysctl: %q", k)
		}
	}
	return nil
}

func (m Mount) validate() error {
	switch {
	case m.Type != MountBind && m.Type != MountTmpfs:
		return Errorf(ErrInvalidArgument, "invalid mount config for type %q: shoal supports bind and tmpfs mounts only", m.Type)
	case m.Target == "":
		return Errorf(ErrInvalidArgument, "invalid mount config for type %q: field Target must not be empty", m.Type)
	case !path.IsAbs(m.Target):
		return Errorf(ErrInvalidArgument, "invalid mount config for type %q: invalid mount path: '%s' mount path must be absolute", m.Type, m.Target)
	case m.Type == MountBind && m.Source == "":
		return Errorf(ErrInvalidArgument, "invalid mount config for type \"bind\": field Source must not be empty")
	case m.Type == MountBind && !path.IsAbs(m.Source):
		return Errorf(ErrInvalidArgument, "invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", m.Source)
	case m.Type == MountTmpfs && m.Source != "":
		return Errorf(ErrInvalidArgument, "invalid mount config for type \"tmpfs\": field Source must not be specified")
	case m.TmpfsSize < 0:
		return Errorf(ErrInvalidArgument, "invalid mount config for type \"tmpfs\": invalid tmpfs size %d", m.TmpfsSize)
	case m.TmpfsMode > 0o7777:
		return Errorf(ErrInvalidArgument, "invalid mount config for type \"tmpfs\": invalid tmpfs mode %o", m.TmpfsMode)
	}
	return nil
}

// Isolated reports whether the spec asks for any isolation beyond a user:
// capabilities, limits, mounts, a read-only root, sysctls or
// no-new-privileges.
func (c ContainerSpec) Isolated() bool {
	return c.ReadOnly || c.NoNewPrivileges || len(c.Mounts) > 0 || len(c.CapabilityAdd) > 0 ||
		len(c.CapabilityDrop) > 0 || len(c.Ulimits) > 0 || len(c.Sysctls) > 0
}

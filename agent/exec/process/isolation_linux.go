//go:build linux

package process

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/shoal-project/shoal/swarm"
)

// isolation is what the task init (see init.go) does before it runs the
// task's command: everything a plain fork and exec cannot do, or not in the
// right order. It travels to the init as JSON.
type isolation struct {
	Path string
	Argv []string
	Env  []string
	Dir  string

	// SetUser: become UID, GID with Groups (after the directory is
	// entered, so a user who cannot reach it still works in it).
	SetUser bool     `json:",omitzero"`
	UID     uint32   `json:",omitzero"`
	GID     uint32   `json:",omitzero"`
	Groups  []uint32 `json:",omitzero"`
	// Caps, when set, is the only capabilities the task may have: the
	// others leave the bounding set, and these are the task's permitted,
	// effective, inheritable (and, for a user other than root, ambient)
	// sets. Only for a daemon running as root.
	Caps       *uint64  `json:",omitzero"`
	Rlimits    []rlimit `json:",omitzero"`
	NoNewPrivs bool     `json:",omitzero"`
	// NewNS: the init runs in a mount namespace of its own (CLONE_NEWNS),
	// where it makes the root read-only and adds the mounts.
	NewNS    bool          `json:",omitzero"`
	ReadOnly bool          `json:",omitzero"`
	Mounts   []swarm.Mount `json:",omitzero"`
}

type rlimit struct {
	Name     string
	Resource int
	Cur, Max uint64
}

// rlimitResources are the RLIMIT_* numbers of Docker's ulimit names.
var rlimitResources = map[string]int{
	"as": 9, "core": 4, "cpu": 0, "data": 2, "fsize": 1, "locks": 10, "memlock": 8, "msgqueue": 12,
	"nice": 13, "nofile": 7, "nproc": 6, "rss": 5, "rtprio": 14, "rttime": 15, "sigpending": 11, "stack": 3,
}

// needsInit reports whether the task must start through the task init.
func (iso *isolation) needsInit() bool {
	return iso.SetUser || iso.Caps != nil || len(iso.Rlimits) > 0 || iso.NoNewPrivs || iso.NewNS
}

// planIsolation resolves the spec's user and isolation on this node. root
// says whether the daemon runs as root; without root, what needs it is
// refused, naming the field, rather than left out.
func planIsolation(c swarm.ContainerSpec, root bool) (*isolation, error) {
	iso := &isolation{NoNewPrivs: c.NoNewPrivileges}
	refuse := func(field, why string) error {
		return swarm.Errorf(swarm.ErrFailedPrecondition, "the process runtime cannot honour %s on this node: %s", field, why)
	}
	if len(c.Sysctls) > 0 {
		return nil, refuse("--sysctl", "tasks share the host's network and IPC namespaces, so a sysctl would change the host's")
	}
	if c.User != "" || len(c.Groups) > 0 {
		if err := iso.setUser(c.User, c.Groups, root); err != nil {
			return nil, err
		}
	}
	if len(c.CapabilityAdd) > 0 || len(c.CapabilityDrop) > 0 {
		if !root {
			if len(c.CapabilityAdd) > 0 {
				return nil, refuse("--cap-add", "the daemon does not run as root")
			}
			// Without CAP_SETPCAP the bounding set stays; no_new_privs
			// keeps the task from ever gaining a capability instead.
			iso.NoNewPrivs = true
		} else {
			caps, err := capSet(c.CapabilityAdd, c.CapabilityDrop)
			if err != nil {
				return nil, err
			}
			iso.Caps = &caps
		}
	}
	for _, u := range c.Ulimits {
		r, err := planRlimit(u, root)
		if err != nil {
			return nil, err
		}
		iso.Rlimits = append(iso.Rlimits, r)
	}
	if c.ReadOnly || len(c.Mounts) > 0 {
		if !root {
			field := "--read-only"
			if !c.ReadOnly {
				field = "--mount"
			}
			return nil, refuse(field, "it needs a mount namespace, and the daemon does not run as root")
		}
		for _, m := range c.Mounts {
			if err := checkMount(m); err != nil {
				return nil, err
			}
		}
		iso.NewNS, iso.ReadOnly, iso.Mounts = true, c.ReadOnly, slices.Clone(c.Mounts)
	}
	return iso, nil
}

// setUser resolves "user[:group]" and the extra groups. A user other than
// the daemon's needs a daemon running as root.
func (iso *isolation) setUser(spec string, extra []string, root bool) error {
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	var groups []uint32
	if spec != "" {
		cred, err := credential(spec)
		if err != nil {
			return err
		}
		if cred != nil {
			uid, gid = cred.Uid, cred.Gid
		}
		groups = userGroups(spec, gid)
	}
	for _, g := range extra {
		n, err := lookupGroup(g)
		if err != nil {
			return err
		}
		groups = append(groups, n)
	}
	if !root {
		if uid != uint32(os.Geteuid()) || gid != uint32(os.Getegid()) || len(extra) > 0 {
			return swarm.Errorf(swarm.ErrFailedPrecondition, "the process runtime cannot honour --user %s on this node: the daemon does not run as root, so tasks run as its own user (uid %d)", spec, os.Geteuid())
		}
		return nil
	}
	iso.SetUser, iso.UID, iso.GID = true, uid, gid
	slices.Sort(groups)
	iso.Groups = slices.Compact(groups)
	return nil
}

// userGroups are the supplementary groups /etc/group gives the spec's
// user (by name or uid), besides its primary group gid; none for a uid
// unknown to the node.
func userGroups(spec string, gid uint32) []uint32 {
	name, _, _ := strings.Cut(spec, ":")
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil
		}
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var out []uint32
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(n) != gid {
			out = append(out, uint32(n))
		}
	}
	return out
}

// capSet is the task's capabilities as Docker computes them, from all
// the daemon holds (its permitted set): cap-add ALL gives all but those
// dropped; cap-drop ALL only those added; otherwise all but the dropped
// ones (root on the process runtime starts with all the daemon's
// capabilities, not Docker's default list). Adding one the daemon does not
// hold is refused.
func capSet(add, drop []string) (uint64, error) {
	last := capLast()
	all, err := heldCaps()
	if err != nil {
		return 0, err
	}
	set := func(names []string, adding bool) (uint64, bool, error) {
		var bits uint64
		hasAll := false
		for _, n := range names {
			c, ok := swarm.NormalizeCapability(n)
			switch {
			case !ok:
				return 0, false, swarm.Errorf(swarm.ErrInvalidArgument, "invalid capability: %q", n)
			case c == swarm.CapabilityAll:
				hasAll = true
				continue
			}
			i := slices.Index(swarm.Capabilities, strings.TrimPrefix(c, "CAP_"))
			if i > last {
				return 0, false, swarm.Errorf(swarm.ErrFailedPrecondition, "capability %s is unknown to this node's kernel", c)
			}
			if adding && all&(1<<i) == 0 {
				return 0, false, swarm.Errorf(swarm.ErrFailedPrecondition, "the process runtime cannot honour --cap-add %s on this node: the daemon does not hold it", c)
			}
			bits |= 1 << i
		}
		return bits, hasAll, nil
	}
	a, addAll, err := set(add, true)
	if err != nil {
		return 0, err
	}
	d, dropAll, err := set(drop, false)
	if err != nil {
		return 0, err
	}
	switch {
	case addAll:
		return all &^ d, nil
	case dropAll:
		return a, nil
	}
	return all&^d | a, nil
}

// heldCaps is the daemon's permitted capability set.
func heldCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapPrm:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapPrm in /proc/self/status")
}

// capLast is the highest capability number of the running kernel.
func capLast() int {
	last := len(swarm.Capabilities) - 1
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < last {
			last = n
		}
	}
	return last
}

// planRlimit reads a ulimit; -1 is unlimited. A daemon that is not root
// cannot raise a hard limit above its own.
func planRlimit(u swarm.Ulimit, root bool) (rlimit, error) {
	res, ok := rlimitResources[u.Name]
	if !ok {
		return rlimit{}, swarm.Errorf(swarm.ErrInvalidArgument, "invalid ulimit type: %s", u.Name)
	}
	val := func(v int64) uint64 {
		if v < 0 {
			return ^uint64(0) // RLIM_INFINITY
		}
		return uint64(v)
	}
	r := rlimit{Name: u.Name, Resource: res, Cur: val(u.Soft), Max: val(u.Hard)}
	if r.Cur > r.Max {
		return rlimit{}, swarm.Errorf(swarm.ErrInvalidArgument, "ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
	}
	if !root {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(res, &cur); err == nil && r.Max > cur.Max {
			return rlimit{}, swarm.Errorf(swarm.ErrFailedPrecondition, "the process runtime cannot honour --ulimit %s=%d:%d on this node: the daemon does not run as root and its own hard limit is %d", u.Name, u.Soft, u.Hard, cur.Max)
		}
	}
	return r, nil
}

// checkMount checks that a mount can be made on this node without changing
// the host: a bind's source exists, and the target exists (the process
// runtime creates nothing on the host's filesystem), of the same kind.
func checkMount(m swarm.Mount) error {
	target, err := os.Stat(m.Target)
	if err != nil {
		return swarm.Errorf(swarm.ErrFailedPrecondition, "invalid mount config for type %q: mount target %s must exist on this node (the process runtime creates nothing on the host): %v", m.Type, m.Target, err)
	}
	switch m.Type {
	case swarm.MountBind:
		src, err := os.Stat(m.Source)
		if err != nil {
			return swarm.Errorf(swarm.ErrFailedPrecondition, "invalid mount config for type \"bind\": bind source path does not exist: %s", m.Source)
		}
		if src.IsDir() != target.IsDir() {
			return swarm.Errorf(swarm.ErrFailedPrecondition, "invalid mount config for type \"bind\": source %s and target %s must both be directories or both files", m.Source, m.Target)
		}
	case swarm.MountTmpfs:
		if !target.IsDir() {
			return swarm.Errorf(swarm.ErrFailedPrecondition, "invalid mount config for type \"tmpfs\": target %s is not a directory", m.Target)
		}
	default:
		return swarm.Errorf(swarm.ErrInvalidArgument, "invalid mount config: mount type %q is not supported", m.Type)
	}
	return nil
}

func (r rlimit) String() string { return fmt.Sprintf("%s=%d:%d", r.Name, r.Cur, r.Max) }

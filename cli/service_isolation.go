package cli

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	"github.com/spf13/pflag"
)

// Flag names of what a task may do on its node, as docker names them.
const (
	flagCapAdd    = "cap-add"
	flagCapDrop   = "cap-drop"
	flagGroup     = "group"
	flagGroupAdd  = "group-add"
	flagGroupRm   = "group-rm"
	flagMount     = "mount"
	flagMountAdd  = "mount-add"
	flagMountRm   = "mount-rm"
	flagSysctl    = "sysctl"
	flagSysctlAdd = "sysctl-add"
	flagSysctlRm  = "sysctl-rm"
	flagUlimit    = "ulimit"
	flagUlimitAdd = "ulimit-add"
	flagUlimitRm  = "ulimit-rm"
)

// isolationOptions are the capability, group, mount, sysctl and ulimit
// flags; the *Rm lists are update's.
type isolationOptions struct {
	capAdd, capDrop, groups, mounts, sysctls, ulimits *listValue
	groupRm, mountRm, sysctlRm, ulimitRm              *listValue
}

func newIsolationOptions() isolationOptions {
	return isolationOptions{
		capAdd: newListValue(nil), capDrop: newListValue(nil), groups: newListValue(nil),
		mounts: newListValue(validateMount), sysctls: newListValue(validateSysctl), ulimits: newListValue(validateUlimit),
		groupRm: newListValue(nil), mountRm: newListValue(nil), sysctlRm: newListValue(nil), ulimitRm: newListValue(nil),
	}
}

// addIsolationFlags declares create's flags, or update's -add/-rm pairs.
func addIsolationFlags(flags *pflag.FlagSet, o *isolationOptions, forCreate bool) {
	flags.Var(o.capAdd, flagCapAdd, "Add Linux capabilities")
	flags.Var(o.capDrop, flagCapDrop, "Drop Linux capabilities")
	if forCreate {
		flags.Var(o.groups, flagGroup, "Set one or more supplementary user groups for the container")
		flags.Var(o.mounts, flagMount, "Attach a filesystem mount to the service")
		flags.Var(o.sysctls, flagSysctl, "Sysctl options")
		flags.Var(o.ulimits, flagUlimit, "Ulimit options")
		return
	}
	flags.Var(o.groups, flagGroupAdd, "Add an additional supplementary user group to the container")
	flags.Var(o.groupRm, flagGroupRm, "Remove a previously added supplementary user group from the container")
	flags.Var(o.mounts, flagMountAdd, "Add or update a mount on a service")
	flags.Var(o.mountRm, flagMountRm, "Remove a mount by its target path")
	flags.Var(o.sysctls, flagSysctlAdd, "Add or update a Sysctl option")
	flags.Var(o.sysctlRm, flagSysctlRm, "Remove a Sysctl option")
	flags.Var(o.ulimits, flagUlimitAdd, "Add or update a ulimit option")
	flags.Var(o.ulimitRm, flagUlimitRm, "Remove a ulimit option")
}

// apply fills create's container spec as the docker CLI does.
func (o *isolationOptions) apply(cs *swarm.ContainerSpec) {
	cs.CapabilityAdd, cs.CapabilityDrop = effectiveCaps(o.capAdd.values, o.capDrop.values)
	cs.Groups = o.groups.values
	cs.Mounts = parsedMounts(o.mounts.values)
	if len(o.sysctls.values) > 0 {
		cs.Sysctls = kvMap(o.sysctls.values)
	}
	cs.Ulimits = parsedUlimits(o.ulimits.values)
}

// merge applies update's flags to the container spec read from the daemon.
func (o *isolationOptions) merge(cs *swarm.ContainerSpec) {
	add, drop := effectiveCaps(o.capAdd.values, o.capDrop.values)
	if len(add)+len(drop) > 0 {
		cs.CapabilityAdd = slices.DeleteFunc(cs.CapabilityAdd, func(c string) bool { return slices.Contains(drop, c) })
		cs.CapabilityDrop = slices.DeleteFunc(cs.CapabilityDrop, func(c string) bool { return slices.Contains(add, c) })
		cs.CapabilityAdd = appendNew(cs.CapabilityAdd, add...)
		cs.CapabilityDrop = appendNew(cs.CapabilityDrop, drop...)
	}
	cs.Groups = slices.DeleteFunc(cs.Groups, func(g string) bool { return slices.Contains(o.groupRm.values, g) })
	cs.Groups = appendNew(cs.Groups, o.groups.values...)
	for _, m := range parsedMounts(o.mounts.values) {
		cs.Mounts = slices.DeleteFunc(cs.Mounts, func(old mount.Mount) bool { return old.Target == m.Target })
		cs.Mounts = append(cs.Mounts, m)
	}
	cs.Mounts = slices.DeleteFunc(cs.Mounts, func(m mount.Mount) bool { return slices.Contains(o.mountRm.values, m.Target) })
	if len(o.sysctls.values)+len(o.sysctlRm.values) > 0 {
		if cs.Sysctls == nil {
			cs.Sysctls = map[string]string{}
		}
		for k, v := range kvMap(o.sysctls.values) {
			cs.Sysctls[k] = v
		}
		for _, k := range o.sysctlRm.values {
			delete(cs.Sysctls, k)
		}
	}
	for _, u := range parsedUlimits(o.ulimits.values) {
		cs.Ulimits = slices.DeleteFunc(cs.Ulimits, func(old *container.Ulimit) bool { return old.Name == u.Name })
		cs.Ulimits = append(cs.Ulimits, u)
	}
	cs.Ulimits = slices.DeleteFunc(cs.Ulimits, func(u *container.Ulimit) bool { return slices.Contains(o.ulimitRm.values, u.Name) })
}

func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// effectiveCaps normalises capability names as the docker CLI does
// ("net_admin" is CAP_NET_ADMIN, "all" ALL); one both added and dropped
// is added.
func effectiveCaps(add, drop []string) ([]string, []string) {
	norm := func(names []string) []string {
		var out []string
		for _, n := range names {
			n = strings.ToUpper(strings.TrimSpace(n))
			if n != "ALL" && !strings.HasPrefix(n, "CAP_") {
				n = "CAP_" + n
			}
			out = appendNew(out, n)
		}
		return out
	}
	a, d := norm(add), norm(drop)
	d = slices.DeleteFunc(d, func(c string) bool { return c != "ALL" && slices.Contains(a, c) })
	return a, d
}

// validateSysctl accepts key=value.
func validateSysctl(v string) (string, error) {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return "", fmt.Errorf("sysctl '%s' is not allowed", v)
	}
	return v, nil
}

// validateUlimit accepts name=soft[:hard], as docker does.
func validateUlimit(v string) (string, error) {
	if _, err := units.ParseUlimit(v); err != nil {
		return "", err
	}
	return v, nil
}

func parsedUlimits(values []string) []*container.Ulimit {
	var out []*container.Ulimit
	for _, v := range values {
		u, _ := units.ParseUlimit(v) // checked by validateUlimit
		out = slices.DeleteFunc(out, func(old *container.Ulimit) bool { return old.Name == u.Name })
		out = append(out, u)
	}
	return out
}

// validateMount checks a --mount value (docker's CSV syntax).
func validateMount(v string) (string, error) {
	_, err := parseMount(v)
	return v, err
}

func parsedMounts(values []string) []mount.Mount {
	var out []mount.Mount
	for _, v := range values {
		m, _ := parseMount(v) // checked by validateMount
		out = append(out, m)
	}
	return out
}

// parseMount reads docker's --mount syntax: type (default volume),
// source|src, target|destination|dst, readonly|ro, bind-propagation,
// tmpfs-size, tmpfs-mode. The daemon refuses what it cannot give.
func parseMount(v string) (mount.Mount, error) {
	m := mount.Mount{Type: mount.TypeVolume}
	for _, field := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !hasVal && key != "readonly" && key != "ro" {
			return m, fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Target = val
		case "readonly", "ro":
			ro := true
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return m, fmt.Errorf("invalid value for %s: %s", key, val)
				}
				ro = b
			}
			m.ReadOnly = ro
		case "bind-propagation":
			m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(strings.ToLower(val))}
		case "tmpfs-size":
			size, err := units.RAMInBytes(val)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			m.TmpfsOptions = tmpfsOptions(m.TmpfsOptions)
			m.TmpfsOptions.SizeBytes = size
		case "tmpfs-mode":
			mode, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", key, val)
			}
			m.TmpfsOptions = tmpfsOptions(m.TmpfsOptions)
			m.TmpfsOptions.Mode = os.FileMode(mode)
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("target is required")
	}
	return m, nil
}

func tmpfsOptions(o *mount.TmpfsOptions) *mount.TmpfsOptions {
	if o == nil {
		return &mount.TmpfsOptions{}
	}
	return o
}

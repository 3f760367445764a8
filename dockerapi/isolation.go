package dockerapi

import (
	"os"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// isolationFromWire copies the security-relevant fields of a container
// spec into out, and refuses, naming the field, what shoal's model cannot
// hold: volume, npipe, cluster and image mounts, mount options other than
// a tmpfs's size and mode, and privileges other than no-new-privileges
// (seccomp and AppArmor only in their default mode, meaning the runtime's
// default). The values are then checked (swarm.ContainerSpec.ValidateIsolation).
func isolationFromWire(c wire.ContainerSpec, out *swarm.ContainerSpec) error {
	out.Groups = nilIfEmpty(c.Groups)
	out.ReadOnly = c.ReadOnly
	out.CapabilityAdd = nilIfEmpty(c.CapabilityAdd)
	out.CapabilityDrop = nilIfEmpty(c.CapabilityDrop)
	out.Sysctls = nilIfEmptyMap(c.Sysctls)
	for _, u := range c.Ulimits {
		if u == nil {
			return swarm.Errorf(swarm.ErrInvalidArgument, "ContainerSpec: Ulimits: null entry")
		}
		out.Ulimits = append(out.Ulimits, swarm.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, m := range c.Mounts {
		dm, err := mountFromWire(m)
		if err != nil {
			return err
		}
		out.Mounts = append(out.Mounts, dm)
	}
	if p := c.Privileges; p != nil {
		if err := checkPrivileges(*p); err != nil {
			return err
		}
		out.NoNewPrivileges = p.NoNewPrivileges
	}
	return out.ValidateIsolation()
}

func checkPrivileges(p wire.Privileges) error {
	refuse := func(field string) error {
		return swarm.Errorf(swarm.ErrInvalidArgument, "ContainerSpec: Privileges.%s is not supported by shoal", field)
	}
	switch {
	case p.CredentialSpec != nil && *p.CredentialSpec != (wire.CredentialSpec{}):
		return refuse("CredentialSpec")
	case p.SELinuxContext != nil && *p.SELinuxContext != (wire.SELinuxContext{}):
		return refuse("SELinuxContext")
	case p.Seccomp != nil && (p.Seccomp.Mode != "" && p.Seccomp.Mode != wire.SeccompModeDefault || len(p.Seccomp.Profile) > 0):
		return refuse("Seccomp (only the default mode)")
	case p.AppArmor != nil && p.AppArmor.Mode != "" && p.AppArmor.Mode != wire.AppArmorModeDefault:
		return refuse("AppArmor (only the default mode)")
	}
	return nil
}

// mountFromWire reads a bind or tmpfs mount.
func mountFromWire(m mount.Mount) (swarm.Mount, error) {
	refuse := func(what string) (swarm.Mount, error) {
		return swarm.Mount{}, swarm.Errorf(swarm.ErrInvalidArgument, "invalid mount config for type %q: %s is not supported by shoal", m.Type, what)
	}
	switch {
	case m.Type != mount.TypeBind && m.Type != mount.TypeTmpfs:
		return refuse("the mount type (only bind and tmpfs are)")
	case m.VolumeOptions != nil:
		return refuse("VolumeOptions")
	case m.ImageOptions != nil:
		return refuse("ImageOptions")
	case m.ClusterOptions != nil:
		return refuse("ClusterOptions")
	case m.BindOptions != nil && *m.BindOptions != (mount.BindOptions{}) && *m.BindOptions != (mount.BindOptions{Propagation: mount.PropagationRPrivate}):
		return refuse("BindOptions other than rprivate propagation")
	case m.TmpfsOptions != nil && len(m.TmpfsOptions.Options) > 0:
		return refuse("TmpfsOptions.Options")
	}
	out := swarm.Mount{Type: swarm.MountType(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
	if o := m.TmpfsOptions; o != nil {
		out.TmpfsSize, out.TmpfsMode = o.SizeBytes, uint32(o.Mode) // octal bits, as the CLI sends them
	}
	return out, nil
}

func mountsToWire(ms []swarm.Mount) []mount.Mount {
	if len(ms) == 0 {
		return nil
	}
	out := make([]mount.Mount, 0, len(ms))
	for _, m := range ms {
		w := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		if m.TmpfsSize != 0 || m.TmpfsMode != 0 {
			w.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSize, Mode: os.FileMode(m.TmpfsMode)}
		}
		out = append(out, w)
	}
	return out
}

func ulimitsToWire(us []swarm.Ulimit) []*container.Ulimit {
	if len(us) == 0 {
		return nil
	}
	out := make([]*container.Ulimit, 0, len(us))
	for _, u := range us {
		out = append(out, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	return out
}

func privilegesToWire(noNewPrivileges bool) *wire.Privileges {
	if !noNewPrivileges {
		return nil
	}
	return &wire.Privileges{NoNewPrivileges: true}
}

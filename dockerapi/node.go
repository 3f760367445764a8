package dockerapi

import (
	"maps"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/swarm"
)

// ManagerStatus is a manager's live status as the leader sees it; it mirrors
// the control API's view so that this package need not import it.
type ManagerStatus struct {
	Leader       bool
	Reachability swarm.Reachability
	Addr         string
}

// NodeEnv is what a node's wire form needs beyond the node itself.
type NodeEnv struct {
	// TLSInfo describes the CA that issued the node's certificate: the
	// cluster root CA (see TLSInfoFromPEM).
	TLSInfo wire.TLSInfo
	// EngineVersion is shown for nodes that did not report their own
	// version (Description.EngineVersion): the caller's shoal version.
	EngineVersion string
}

// NodeFromDomain is a node as GET /nodes shows it. ms is the node's manager
// status, nil for a worker: ManagerStatus is then absent from the JSON, which
// is how the docker CLI tells workers from managers.
func NodeFromDomain(n *swarm.Node, ms *ManagerStatus, env NodeEnv) wire.Node {
	out := wire.Node{
		ID:          string(n.ID),
		Meta:        MetaFromDomain(n.Meta),
		Spec:        NodeSpecFromDomain(n.Spec),
		Description: descriptionFromDomain(n.Description, env),
		Status: wire.NodeStatus{
			State:   wire.NodeState(n.Status.State),
			Message: n.Status.Message,
			Addr:    n.Status.Addr,
		},
	}
	if ms != nil {
		out.ManagerStatus = &wire.ManagerStatus{
			Leader:       ms.Leader,
			Reachability: wire.Reachability(ms.Reachability),
			Addr:         ms.Addr,
		}
	}
	return out
}

func descriptionFromDomain(d swarm.NodeDescription, env NodeEnv) wire.NodeDescription {
	version := d.EngineVersion
	if version == "" {
		version = env.EngineVersion
	}
	return wire.NodeDescription{
		Hostname:  d.Hostname,
		Platform:  wire.Platform{Architecture: unameArch(d.Architecture), OS: d.OS},
		Resources: wire.Resources{NanoCPUs: d.NanoCPUs, MemoryBytes: d.MemoryBytes},
		Engine:    wire.EngineDescription{EngineVersion: version},
		TLSInfo:   env.TLSInfo,
	}
}

// NodeSpecFromDomain gives a node spec in wire form, with a non-nil Labels
// map as Docker shows it.
func NodeSpecFromDomain(s swarm.NodeSpec) wire.NodeSpec {
	return wire.NodeSpec{
		Annotations:  wire.Annotations{Name: s.Name, Labels: labelsToWire(s.Labels)},
		Role:         wire.NodeRole(s.Role),
		Availability: wire.NodeAvailability(s.Availability),
	}
}

// NodeSpecFromWire reads the body of POST /nodes/{id}/update. The docker CLI
// always sends the whole spec (read, modify, write), so nothing is merged;
// validation is the control API's.
func NodeSpecFromWire(w wire.NodeSpec) swarm.NodeSpec {
	return swarm.NodeSpec{
		Name:         w.Name,
		Labels:       maps.Clone(w.Labels),
		Role:         swarm.NodeRole(w.Role),
		Availability: swarm.Availability(w.Availability),
	}
}

// unameArch names an architecture the way `uname -m` and Docker do
// (x86_64, aarch64), whether the node reported it that way or by its Go
// name (amd64, arm64). Unknown names pass through.
func unameArch(arch string) string {
	switch arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i386"
	}
	return arch
}

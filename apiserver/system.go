package apiserver

import (
	"net/http"
	"runtime"
	"strconv"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	"github.com/shoal-project/shoal/dockerapi"
)

// ping answers HEAD and GET /_ping. The docker CLI negotiates its API version
// from these headers alone (a missing Api-Version would drop it to 1.24).
func (s *server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Add("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Add("Pragma", "no-cache")
	h.Set("Swarm", swarmStatus(s.backend.Info(r.Context()).Swarm))
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("OK"))
	return err
}

// swarmStatus is the Swarm ping header: "<local node state>/<manager|worker>".
func swarmStatus(in SwarmInfo) string {
	role := "worker"
	if in.ControlAvailable {
		role = "manager"
	}
	return string(localState(in.State)) + "/" + role
}

func localState(st LocalNodeState) LocalNodeState {
	if st == "" {
		return StateInactive
	}
	return st
}

// getVersion answers GET /version in moby's shape.
func (s *server) getVersion(w http.ResponseWriter, r *http.Request) error {
	kernel := s.backend.Info(r.Context()).KernelVersion
	return writeJSON(w, http.StatusOK, system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "shoal"},
		Version:       s.version,
		APIVersion:    APIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		KernelVersion: kernel,
		Components: []system.ComponentVersion{{
			Name:    "Engine",
			Version: s.version,
			Details: map[string]string{
				"ApiVersion":    APIVersion,
				"MinAPIVersion": MinAPIVersion,
				"Os":            runtime.GOOS,
				"Arch":          runtime.GOARCH,
				"GoVersion":     runtime.Version(),
				"KernelVersion": kernel,
				"Experimental":  strconv.FormatBool(false),
			},
		}},
	})
}

// getInfo answers GET /info: the node's description and its Swarm section.
func (s *server) getInfo(w http.ResponseWriter, r *http.Request) error {
	info, err := s.infoToWire(s.backend.Info(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// infoToWire fills the fields of system.Info that shoal knows. It lives here
// rather than in dockerapi because Info is this package's type.
func (s *server) infoToWire(in Info) (system.Info, error) {
	sw, err := swarmInfoToWire(in.Swarm)
	if err != nil {
		return system.Info{}, err
	}
	out := system.Info{
		ID:              string(in.Swarm.NodeID),
		Name:            in.Name,
		NCPU:            in.NCPU,
		MemTotal:        in.MemTotal,
		OSType:          in.OSType,
		Architecture:    in.Architecture,
		KernelVersion:   in.KernelVersion,
		OperatingSystem: in.OS,
		ServerVersion:   in.ServerVersion,
		Swarm:           sw,
	}
	if out.OSType == "" {
		out.OSType = runtime.GOOS
	}
	if out.ServerVersion == "" {
		out.ServerVersion = s.version
	}
	return out, nil
}

// swarmInfoToWire is the Swarm section of /info. The cluster part is shown
// to managers only, as Docker does.
func swarmInfoToWire(in SwarmInfo) (wire.Info, error) {
	out := wire.Info{
		NodeID:           string(in.NodeID),
		NodeAddr:         in.NodeAddr,
		LocalNodeState:   wire.LocalNodeState(localState(in.State)),
		ControlAvailable: in.ControlAvailable,
		Error:            in.Error,
	}
	for _, p := range in.RemoteManagers {
		out.RemoteManagers = append(out.RemoteManagers, wire.Peer{NodeID: string(p.NodeID), Addr: p.Addr})
	}
	if !in.ControlAvailable || in.Cluster == nil {
		return out, nil
	}
	ci, err := dockerapi.ClusterInfoFromDomain(in.Cluster)
	if err != nil {
		return wire.Info{}, err
	}
	out.Cluster = &ci
	out.Nodes = in.Nodes
	out.Managers = in.Managers
	return out, nil
}

package apiserver

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// listNodes answers GET /nodes[?filters=...] with a JSON array (never null).
func (s *server) listNodes(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	views, err := ctl.ListNodes(r.Context(), filters)
	if err != nil {
		return err
	}
	env, err := s.nodeEnv(r.Context(), ctl)
	if err != nil {
		return err
	}
	body, err := s.nodes.list(views, env, filters == nil)
	if err != nil {
		return err
	}
	return writeBody(w, http.StatusOK, body)
}

// inspectNode answers GET /nodes/{id}; the control API resolves the
// reference (ID, name or hostname, unique ID prefix).
func (s *server) inspectNode(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	v, err := ctl.GetNode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	env, err := s.nodeEnv(r.Context(), ctl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nodeToWire(v, env))
}

// removeNode answers DELETE /nodes/{id}[?force=1].
func (s *server) removeNode(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	return ctl.RemoveNode(r.Context(), r.PathValue("id"), flagParam(r, "force"))
}

// updateNode answers POST /nodes/{id}/update?version=N with the whole
// NodeSpec as body.
func (s *server) updateNode(w http.ResponseWriter, r *http.Request) error {
	version, err := versionParam(r, "node")
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	var spec wire.NodeSpec
	if err := readJSON(r, &spec); err != nil {
		return err
	}
	return ctl.UpdateNode(r.Context(), r.PathValue("id"), version, dockerapi.NodeSpecFromWire(spec))
}

// nodeEnv gathers what every node's wire form shares: the root CA as the
// issuer of node certificates, and this server's version.
func (s *server) nodeEnv(ctx context.Context, ctl Control) (dockerapi.NodeEnv, error) {
	caPEM, err := ctl.RootCACert(ctx)
	if err != nil {
		return dockerapi.NodeEnv{}, err
	}
	tls, err := s.nodes.tlsInfo(caPEM)
	if err != nil {
		return dockerapi.NodeEnv{}, err
	}
	return dockerapi.NodeEnv{TLSInfo: tls, EngineVersion: s.version}, nil
}

func nodeToWire(v controlapi.NodeView, env dockerapi.NodeEnv) wire.Node {
	var ms *dockerapi.ManagerStatus
	if v.ManagerStatus != nil {
		ms = &dockerapi.ManagerStatus{
			Leader:       v.ManagerStatus.Leader,
			Reachability: v.ManagerStatus.Reachability,
			Addr:         v.ManagerStatus.Addr,
		}
	}
	return dockerapi.NodeFromDomain(v.Node, ms, env)
}

// parseFilters decodes the filters query: JSON in the map-of-sets form the
// CLI sends ({"role":{"manager":true}}) or the legacy map-of-lists form
// ({"role":["manager"]}). Values come out sorted; an absent or empty
// parameter gives nil.
func parseFilters(raw string) (map[string][]string, error) {
	if raw == "" {
		return nil, nil
	}
	var sets map[string]map[string]bool
	err := json.Unmarshal([]byte(raw), &sets)
	if err != nil {
		var lists map[string][]string
		if json.Unmarshal([]byte(raw), &lists) != nil {
			return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid filter: %w", err)
		}
		return nonEmpty(lists), nil
	}
	out := make(map[string][]string, len(sets))
	for k, set := range sets {
		out[k] = slices.Sorted(maps.Keys(set))
	}
	return nonEmpty(out), nil
}

func nonEmpty(m map[string][]string) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

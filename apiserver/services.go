package apiserver

import (
	"net/http"
	"strings"

	wire "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/dockerapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// statusMinAPIVersion is the first API version whose GET /services honours
// ?status=; moby ignores the parameter below it.
const statusMinAPIVersion = "1.41"

// createServiceResponse is the answer to POST /services/create. moby's
// ServiceCreateResponse always writes "Warnings"; shoal has none to give and
// leaves the key out.
type createServiceResponse struct {
	ID string `json:"ID"`
}

// listServices answers GET /services[?filters=...][&status=true] with a
// JSON array (never null). Task counts come only with status=true.
func (s *server) listServices(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	status, err := statusParam(r)
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	views, err := ctl.ListServices(r.Context(), filters, status)
	if err != nil {
		return err
	}
	out := make([]wire.Service, 0, len(views))
	for _, v := range views {
		var st *dockerapi.ServiceStatus
		if status && v.Status != nil {
			c := dockerapi.ServiceStatus(*v.Status)
			st = &c
		}
		out = append(out, dockerapi.ServiceFromDomain(v.Service, st))
	}
	return writeJSON(w, http.StatusOK, out)
}

// statusParam reads ?status= for the request's API version: strictly
// boolean from 1.41 on, ignored before, as in moby.
func statusParam(r *http.Request) (bool, error) {
	if compareVersions(requestAPIVersion(r), statusMinAPIVersion) < 0 {
		return false, nil
	}
	return boolParam(r, "status")
}

// requestAPIVersion is the API version a request speaks: its path prefix,
// or the newest for an unversioned path.
func requestAPIVersion(r *http.Request) string {
	if v, ok := pathAPIVersion(r.URL.Path); ok {
		return v
	}
	return APIVersion
}

// createService answers POST /services/create with 201 {"ID": ...}. The
// X-Registry-Auth header is ignored: shoal pulls no images itself.
func (s *server) createService(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	spec, err := readServiceSpec(r)
	if err != nil {
		return err
	}
	id, err := ctl.CreateService(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, createServiceResponse{ID: string(id)})
}

func readServiceSpec(r *http.Request) (swarm.ServiceSpec, error) {
	var spec wire.ServiceSpec
	if err := readJSON(r, &spec); err != nil {
		return swarm.ServiceSpec{}, err
	}
	return dockerapi.ServiceSpecFromWire(spec)
}

// inspectService answers GET /services/{id}; the control API resolves the
// reference (ID, name, unique ID prefix) and its 404 is what `docker service
// inspect` and `docker service logs` rely on. insertDefaults is accepted
// and has no effect: shoal stores no spec field that a default would fill.
func (s *server) inspectService(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	v, err := ctl.GetService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dockerapi.ServiceFromDomain(v.Service, nil))
}

// updateService answers POST /services/{id}/update?version=N with the whole
// spec as body (the CLI reads, modifies and echoes it) and {"Warnings":null}:
// the CLI needs a JSON object back. rollback=previous restores the
// previous spec, and the body is then not used.
func (s *server) updateService(w http.ResponseWriter, r *http.Request) error {
	version, opts, err := updateServiceParams(r)
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	var body wire.ServiceSpec
	if err := readJSON(r, &body); err != nil {
		return err
	}
	spec, err := dockerapi.ServiceSpecFromWire(body)
	if err != nil && !opts.Rollback {
		return err
	}
	if err := ctl.UpdateService(r.Context(), r.PathValue("id"), version, spec, opts); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.ServiceUpdateResponse{})
}

// updateServiceParams reads the query of a service update, refusing values
// moby refuses (registryAuthFrom) or would not act on (rollback).
func updateServiceParams(r *http.Request) (uint64, controlapi.UpdateServiceOptions, error) {
	var opts controlapi.UpdateServiceOptions
	version, err := versionParam(r, "service")
	if err != nil {
		return 0, opts, err
	}
	q := r.URL.Query()
	switch v := q.Get("rollback"); v {
	case "":
	case "previous":
		opts.Rollback = true
	default:
		return 0, opts, swarm.Errorf(swarm.ErrInvalidArgument, "unsupported rollback value %q: only \"previous\" is supported", v)
	}
	switch wire.RegistryAuthSource(q.Get("registryAuthFrom")) {
	case "", wire.RegistryAuthFromSpec, wire.RegistryAuthFromPreviousSpec:
	default:
		return 0, opts, swarm.Errorf(swarm.ErrInvalidArgument, "unsupported registryAuthFrom value")
	}
	return version, opts, nil
}

// removeService answers DELETE /services/{id}; the CLI ignores the body.
func (s *server) removeService(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	return ctl.RemoveService(r.Context(), r.PathValue("id"))
}

// listTasks answers GET /tasks[?filters=...] with a JSON array (never
// null). Filters pass through to the control API, including the
// "_up-to-date" key of the CLI's progress display.
func (s *server) listTasks(w http.ResponseWriter, r *http.Request) error {
	filters, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	tasks, err := ctl.ListTasks(r.Context(), filters)
	if err != nil {
		return err
	}
	out := make([]wire.Task, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, dockerapi.TaskFromDomain(t))
	}
	return writeJSON(w, http.StatusOK, out)
}

// inspectTask answers GET /tasks/{id} (full ID or unique prefix).
func (s *server) inspectTask(w http.ResponseWriter, r *http.Request) error {
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	t, err := ctl.GetTask(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dockerapi.TaskFromDomain(t))
}

// inspectDistribution answers GET /distribution/{image ref}/json, which
// `docker service create` calls to pin the image to a digest. The reference
// is not escaped, so it may hold slashes and colons; the route takes
// everything after /distribution/ and requires the /json suffix. shoal has
// no registry client: it answers {} so that the CLI leaves the image
// unpinned without a warning. It needs no cluster state, so no leader.
func (s *server) inspectDistribution(w http.ResponseWriter, r *http.Request) error {
	name, ok := strings.CutSuffix(r.PathValue("name"), "/json")
	if !ok || name == "" {
		return errPageNotFound
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
)

// registryAuthHeader carries base64 JSON registry credentials to the daemon,
// which hands them to the nodes that pull the image.
const registryAuthHeader = "X-Registry-Auth"

// Values of ServiceUpdateOptions.RegistryAuthFrom.
const (
	RegistryAuthFromSpec         = "spec"
	RegistryAuthFromPreviousSpec = "previous-spec"
)

// ServiceCreateOptions are the extras of a service creation besides its spec.
type ServiceCreateOptions struct {
	// EncodedRegistryAuth, when set, is sent as the X-Registry-Auth header.
	EncodedRegistryAuth string
}

// ServiceUpdateOptions are the extras of a service update besides its spec.
type ServiceUpdateOptions struct {
	// EncodedRegistryAuth, when set, is sent as the X-Registry-Auth header.
	EncodedRegistryAuth string
	// RegistryAuthFrom says where the daemon finds registry credentials
	// when none are sent: RegistryAuthFromSpec or RegistryAuthFromPreviousSpec.
	RegistryAuthFrom string
	// Rollback "previous" asks the daemon to roll the service back to its
	// previous spec (the spec sent is then ignored).
	Rollback string
}

// ServiceCreate creates a service from spec and returns its ID and the
// daemon's warnings.
func (c *Client) ServiceCreate(ctx context.Context, spec swarm.ServiceSpec, opts ServiceCreateOptions) (string, []string, error) {
	r, err := newRequest(http.MethodPost, "/services/create").withJSON(spec)
	if err != nil {
		return "", nil, err
	}
	if opts.EncodedRegistryAuth != "" {
		r.header.Set(registryAuthHeader, opts.EncodedRegistryAuth)
	}
	var resp swarm.ServiceCreateResponse
	if err := c.do(ctx, r, &resp); err != nil {
		return "", nil, err
	}
	return resp.ID, resp.Warnings, nil
}

// ServiceList returns the services that pass filters (nil for all). With
// status set, each service carries its running and desired task counts
// (ServiceStatus), as daemons of API 1.41 and later compute them.
func (c *Client) ServiceList(ctx context.Context, filters Filters, status bool) ([]swarm.Service, error) {
	r := newRequest(http.MethodGet, "/services")
	if err := setFilters(r, filters); err != nil {
		return nil, err
	}
	if status {
		r.query.Set("status", "true")
	}
	var services []swarm.Service
	err := c.do(ctx, r, &services)
	return services, err
}

// ServiceInspect returns the service ref names (an ID, a name or a unique ID
// prefix; the server resolves it) and the answer's raw JSON. insertDefaults
// asks the daemon to fill unset fields with their defaults.
func (c *Client) ServiceInspect(ctx context.Context, ref string, insertDefaults bool) (swarm.Service, []byte, error) {
	ref, err := trimRef("service", ref)
	if err != nil {
		return swarm.Service{}, nil, err
	}
	r := newRequest(http.MethodGet, "/services/"+ref)
	r.query.Set("insertDefaults", strconv.FormatBool(insertDefaults))
	raw, err := c.doRaw(ctx, r)
	if err != nil {
		return swarm.Service{}, nil, err
	}
	var s swarm.Service
	if err := json.Unmarshal(raw, &s); err != nil {
		return swarm.Service{}, raw, fmt.Errorf("decode service %s: %w", ref, err)
	}
	return s, raw, nil
}

// ServiceUpdate replaces the spec of service id if version is still current
// and returns the daemon's warnings.
func (c *Client) ServiceUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.ServiceSpec, opts ServiceUpdateOptions) ([]string, error) {
	id, err := trimRef("service", id)
	if err != nil {
		return nil, err
	}
	r, err := newRequest(http.MethodPost, "/services/"+id+"/update").withJSON(spec)
	if err != nil {
		return nil, err
	}
	if opts.RegistryAuthFrom != "" {
		r.query.Set("registryAuthFrom", opts.RegistryAuthFrom)
	}
	if opts.Rollback != "" {
		r.query.Set("rollback", opts.Rollback)
	}
	r.query.Set("version", version.String())
	if opts.EncodedRegistryAuth != "" {
		r.header.Set(registryAuthHeader, opts.EncodedRegistryAuth)
	}
	var resp swarm.ServiceUpdateResponse
	if err := c.do(ctx, r, &resp); err != nil {
		return nil, err
	}
	return resp.Warnings, nil
}

// ServiceRemove removes service ref and its tasks.
func (c *Client) ServiceRemove(ctx context.Context, ref string) error {
	ref, err := trimRef("service", ref)
	if err != nil {
		return err
	}
	return c.do(ctx, newRequest(http.MethodDelete, "/services/"+ref), nil)
}

// trimRef refuses an empty reference, which would name a collection
// instead of an object, with the docker client's words.
func trimRef(kind, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", fmt.Errorf("invalid %s name or ID: value is empty", kind)
	}
	return ref, nil
}

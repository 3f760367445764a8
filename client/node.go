package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/swarm"
)

// NodeList returns the nodes that pass filters (nil for all).
func (c *Client) NodeList(ctx context.Context, filters Filters) ([]swarm.Node, error) {
	r := newRequest(http.MethodGet, "/nodes")
	if err := setFilters(r, filters); err != nil {
		return nil, err
	}
	var nodes []swarm.Node
	err := c.do(ctx, r, &nodes)
	return nodes, err
}

// NodeInspect returns the node ref names (an ID, a name or hostname, or a
// unique ID prefix; the server resolves it), and the answer's raw JSON.
func (c *Client) NodeInspect(ctx context.Context, ref string) (swarm.Node, []byte, error) {
	if ref == "" {
		return swarm.Node{}, nil, errors.New("node reference must not be empty")
	}
	raw, err := c.doRaw(ctx, newRequest(http.MethodGet, "/nodes/"+ref))
	if err != nil {
		return swarm.Node{}, nil, err
	}
	var n swarm.Node
	if err := json.Unmarshal(raw, &n); err != nil {
		return swarm.Node{}, raw, fmt.Errorf("decode node %s: %w", ref, err)
	}
	return n, raw, nil
}

// NodeUpdate replaces the spec of node id if version is still current.
func (c *Client) NodeUpdate(ctx context.Context, id string, version swarm.Version, spec swarm.NodeSpec) error {
	r, err := newRequest(http.MethodPost, "/nodes/"+id+"/update").withJSON(spec)
	if err != nil {
		return err
	}
	r.query.Set("version", version.String())
	return c.do(ctx, r, nil)
}

// NodeRemove removes node ref from the swarm; force removes a node that is
// not down.
func (c *Client) NodeRemove(ctx context.Context, ref string, force bool) error {
	r := newRequest(http.MethodDelete, "/nodes/"+ref)
	if force {
		r.query.Set("force", "1")
	}
	return c.do(ctx, r, nil)
}

func setFilters(r *request, f Filters) error {
	v, err := f.encode()
	if err != nil {
		return fmt.Errorf("encode filters: %w", err)
	}
	if v != "" {
		r.query.Set("filters", v)
	}
	return nil
}

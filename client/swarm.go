package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/swarm"
)

// SwarmInit makes the daemon's node the first manager of a new swarm and
// returns its node ID.
func (c *Client) SwarmInit(ctx context.Context, req swarm.InitRequest) (string, error) {
	r, err := newRequest(http.MethodPost, "/swarm/init").withJSON(req)
	if err != nil {
		return "", err
	}
	var nodeID string
	err = c.do(ctx, r, &nodeID)
	return nodeID, err
}

// SwarmJoin makes the daemon's node join an existing swarm.
func (c *Client) SwarmJoin(ctx context.Context, req swarm.JoinRequest) error {
	r, err := newRequest(http.MethodPost, "/swarm/join").withJSON(req)
	if err != nil {
		return err
	}
	return c.do(ctx, r, nil)
}

// SwarmLeave makes the daemon's node leave its swarm; force allows a manager
// to leave even when that loses the swarm's state or quorum.
func (c *Client) SwarmLeave(ctx context.Context, force bool) error {
	r := newRequest(http.MethodPost, "/swarm/leave")
	if force {
		r.query.Set("force", "1")
	}
	return c.do(ctx, r, nil)
}

// SwarmInspect returns GET /swarm: the cluster with its join tokens.
func (c *Client) SwarmInspect(ctx context.Context) (swarm.Swarm, error) {
	var sw swarm.Swarm
	err := c.do(ctx, newRequest(http.MethodGet, "/swarm"), &sw)
	return sw, err
}

// SwarmUpdateFlags selects the secrets a swarm update rotates.
type SwarmUpdateFlags struct {
	RotateWorkerToken      bool
	RotateManagerToken     bool
	RotateManagerUnlockKey bool
}

// SwarmUpdate replaces the cluster spec if version is still current, and
// rotates what flags ask for.
func (c *Client) SwarmUpdate(ctx context.Context, version swarm.Version, spec swarm.Spec, flags SwarmUpdateFlags) error {
	r, err := newRequest(http.MethodPost, "/swarm/update").withJSON(spec)
	if err != nil {
		return err
	}
	r.query.Set("version", version.String())
	r.query.Set("rotateWorkerToken", strconv.FormatBool(flags.RotateWorkerToken))
	r.query.Set("rotateManagerToken", strconv.FormatBool(flags.RotateManagerToken))
	r.query.Set("rotateManagerUnlockKey", strconv.FormatBool(flags.RotateManagerUnlockKey))
	return c.do(ctx, r, nil)
}

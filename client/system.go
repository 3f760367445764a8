package client

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/system"
)

// Info returns GET /info: the node and, on a manager, the cluster.
func (c *Client) Info(ctx context.Context) (system.Info, error) {
	var info system.Info
	err := c.do(ctx, newRequest(http.MethodGet, "/info"), &info)
	return info, err
}

// Version returns GET /version.
func (c *Client) Version(ctx context.Context) (system.VersionResponse, error) {
	var v system.VersionResponse
	err := c.do(ctx, newRequest(http.MethodGet, "/version"), &v)
	return v, err
}

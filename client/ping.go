package client

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/swarm"
)

// PingResult is what a daemon says about itself in the /_ping headers.
type PingResult struct {
	// APIVersion is the Api-Version header ("" when absent).
	APIVersion string
	// OSType is the Ostype header.
	OSType string
	// Experimental is the Docker-Experimental header.
	Experimental bool
	// SwarmState and SwarmManager come from the Swarm header
	// ("<state>/<manager|worker>"); SwarmState is "" when it is absent.
	SwarmState   swarm.LocalNodeState
	SwarmManager bool
}

// Ping asks the current endpoint (failing over on connection failures) for
// /_ping, and (re)negotiates the API version with it.
func (c *Client) Ping(ctx context.Context) (PingResult, error) {
	var lastErr error
	for range c.endpoints {
		idx, ep := c.currentEndpoint()
		res, resp, err := c.ping(ctx, ep)
		if err == nil {
			ep.setVersion(c.negotiate(res, resp))
			return res, checkResponse(resp)
		}
		if !isConnectionFailure(ctx, err) {
			return res, err
		}
		lastErr = err
		c.failover(idx)
	}
	return PingResult{}, &ConnectError{Hosts: c.Hosts(), Err: lastErr}
}

// ping sends HEAD /_ping, then GET /_ping unless the HEAD was answered with
// 200 or 500 (which the docker client accepts as they are). The returned
// response's body is drained and closed; only its status and headers count.
func (c *Client) ping(ctx context.Context, ep *endpoint) (PingResult, *http.Response, error) {
	resp, err := c.roundTrip(ctx, ep, http.MethodHead, "/_ping", nil, nil, nil)
	if err != nil && isConnectionFailure(ctx, err) {
		return PingResult{}, nil, err
	}
	if err == nil {
		drain(resp)
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusInternalServerError {
			return parsePing(resp.Header), resp, nil
		}
	}
	resp, err = c.roundTrip(ctx, ep, http.MethodGet, "/_ping", nil, nil, nil)
	if err != nil {
		return PingResult{}, nil, err
	}
	drain(resp)
	return parsePing(resp.Header), resp, nil
}

// drain reads what is left of a body (so the connection can be reused) and
// closes it; checkResponse then sees an empty body.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	resp.Body = http.NoBody
}

func parsePing(h http.Header) PingResult {
	res := PingResult{
		APIVersion:   h.Get("Api-Version"),
		OSType:       h.Get("Ostype"),
		Experimental: h.Get("Docker-Experimental") == "true",
	}
	if s := h.Get("Swarm"); s != "" {
		state, role, _ := strings.Cut(s, "/")
		res.SwarmState = swarm.LocalNodeState(state)
		res.SwarmManager = role == "manager"
	}
	return res
}

// negotiate picks the API version for an endpoint from its ping answer: the
// server's version when lower than ours, else ours. A successful ping without
// the header means an old server (fallbackAPIVersion); a failed ping leaves
// the default, as the docker client does.
func (c *Client) negotiate(res PingResult, resp *http.Response) string {
	if c.fixedVersion != "" {
		return c.fixedVersion
	}
	server := res.APIVersion
	if server == "" {
		if resp.StatusCode >= http.StatusBadRequest {
			return DefaultAPIVersion
		}
		server = fallbackAPIVersion
	}
	if versionLess(server, DefaultAPIVersion) {
		return server
	}
	return DefaultAPIVersion
}

// versionFor returns the API version to use with ep, pinging it first if it
// was never negotiated. Only connection failures of the ping are errors.
func (c *Client) versionFor(ctx context.Context, ep *endpoint) (string, error) {
	if c.fixedVersion != "" {
		return c.fixedVersion, nil
	}
	if v := ep.negotiatedVersion(); v != "" {
		return v, nil
	}
	res, resp, err := c.ping(ctx, ep)
	if err != nil {
		if isConnectionFailure(ctx, err) || ctx.Err() != nil {
			return "", err
		}
		// The server is there but /_ping misbehaves: go on with our
		// default, as the docker client does.
		return DefaultAPIVersion, nil
	}
	v := c.negotiate(res, resp)
	ep.setVersion(v)
	return v, nil
}

func (ep *endpoint) negotiatedVersion() string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.version
}

func (ep *endpoint) setVersion(v string) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.version = v
}

// versionLess compares dotted API versions numerically ("1.9" < "1.10").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := versionPart(as, i), versionPart(bs, i)
		if x != y {
			return x < y
		}
	}
	return false
}

func versionPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

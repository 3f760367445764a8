package client

import (
	"context"
	"net/http"

	"github.com/moby/moby/api/types/registry"
)

// DistributionInspect asks the daemon to look image up on its registry: the
// manifest digest and the platforms it offers. image is a familiar reference
// with a tag or digest (alpine:latest); it goes into the path unescaped, as
// the docker client sends it. encodedAuth, when set, is sent as the
// X-Registry-Auth header.
func (c *Client) DistributionInspect(ctx context.Context, image, encodedAuth string) (registry.DistributionInspect, error) {
	var out registry.DistributionInspect
	ref, err := trimRef("image", image)
	if err != nil {
		return out, err
	}
	r := newRequest(http.MethodGet, "/distribution/"+ref+"/json")
	if encodedAuth != "" {
		r.header.Set(registryAuthHeader, encodedAuth)
	}
	err = c.do(ctx, r, &out)
	return out, err
}

package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/moby/moby/api/types/swarm"
)

// TaskList returns the tasks that pass filters (nil for all). Besides the
// public filters (service, node, desired-state, id, name, label), the
// daemon honours "_up-to-date": only tasks made from their service's current
// spec.
func (c *Client) TaskList(ctx context.Context, filters Filters) ([]swarm.Task, error) {
	r := newRequest(http.MethodGet, "/tasks")
	if err := setFilters(r, filters); err != nil {
		return nil, err
	}
	var tasks []swarm.Task
	err := c.do(ctx, r, &tasks)
	return tasks, err
}

// TaskInspect returns task ref (an ID or a unique ID prefix) and the
// answer's raw JSON.
func (c *Client) TaskInspect(ctx context.Context, ref string) (swarm.Task, []byte, error) {
	ref, err := trimRef("task", ref)
	if err != nil {
		return swarm.Task{}, nil, err
	}
	raw, err := c.doRaw(ctx, newRequest(http.MethodGet, "/tasks/"+ref))
	if err != nil {
		return swarm.Task{}, nil, err
	}
	var t swarm.Task
	if err := json.Unmarshal(raw, &t); err != nil {
		return swarm.Task{}, raw, fmt.Errorf("decode task %s: %w", ref, err)
	}
	return t, raw, nil
}

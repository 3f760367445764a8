package controlapi

import (
	"slices"
	"strings"

	"github.com/shoal-project/shoal/swarm"
)

// filters is a parsed Docker filter set: each key's values are
// alternatives (OR); different keys must all match (AND).
type filters map[string][]string

// parseFilters refuses keys other than allowed, in Docker's words.
func parseFilters(in map[string][]string, allowed ...string) (filters, error) {
	for k := range in {
		if !slices.Contains(allowed, k) {
			return nil, swarm.Errorf(swarm.ErrInvalidArgument, "invalid filter '%s'", k)
		}
	}
	return filters(in), nil
}

func parseNodeFilters(in map[string][]string) (filters, error) {
	if _, err := parseFilters(in, "id", "label", "membership", "name", "node.label", "role"); err != nil {
		return nil, err
	}
	for k, vals := range in {
		if k == "role" {
			for _, v := range vals {
				if !swarm.NodeRole(v).Valid() {
					return nil, swarm.Errorf(swarm.ErrInvalidArgument, "Invalid role filter value '%s'", v)
				}
			}
		}
		if k == "membership" {
			for _, v := range vals {
				if v != "accepted" && v != "pending" {
					return nil, swarm.Errorf(swarm.ErrInvalidArgument, "Invalid membership filter value '%s'", v)
				}
			}
		}
	}
	return filters(in), nil
}

func matchNode(f filters, v NodeView) bool {
	return f.any("id", func(x string) bool { return strings.HasPrefix(string(v.ID), x) }) &&
		f.any("name", func(x string) bool { return strings.HasPrefix(v.Name(), x) }) &&
		f.any("role", func(x string) bool { return string(v.Spec.Role) == x }) &&
		f.any("membership", func(x string) bool { return x == "accepted" }) &&
		f.any("node.label", func(x string) bool { return labelMatch(v.Spec.Labels, x) }) &&
		f.any("label", func(x string) bool { return false }) // engine labels: shoal nodes have none
}

// any reports whether key is absent or one of its values matches.
func (f filters) any(key string, match func(string) bool) bool {
	vals, ok := f[key]
	if !ok || len(vals) == 0 {
		return true
	}
	for _, x := range vals {
		if match(x) {
			return true
		}
	}
	return false
}

func labelMatch(labels map[string]string, expr string) bool {
	k, want, hasValue := strings.Cut(expr, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == want)
}

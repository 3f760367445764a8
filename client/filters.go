package client

import "encoding/json"

// Filters are list filters in the Docker encoding: for each key, the set of
// accepted values. They are sent as filters={"key":{"value":true}}.
type Filters map[string]map[string]bool

// NewFilters returns an empty filter set.
func NewFilters() Filters { return Filters{} }

// Add accepts value for key, besides the values already accepted.
func (f Filters) Add(key, value string) Filters {
	if f[key] == nil {
		f[key] = map[string]bool{}
	}
	f[key][value] = true
	return f
}

// encode returns the query value, or "" when there is no filter.
func (f Filters) encode() (string, error) {
	if len(f) == 0 {
		return "", nil
	}
	b, err := json.Marshal(map[string]map[string]bool(f))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

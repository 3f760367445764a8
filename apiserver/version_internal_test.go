package apiserver

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.50", "1.50", 0},
		{"1.5", "1.24", -1},
		{"1.100", "1.50", 1},
		{"2", "1.50", 1},
		{"1.50.0", "1.50", 0},
		{"1.50.1", "1.50", 1},
		{".", "1.24", -1},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPathAPIVersion(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/v1.50/nodes", "1.50", true},
		{"/v1.50", "1.50", true},
		{"/v2/x", "2", true},
		{"/nodes", "", false},
		{"/v/nodes", "", false},
		{"/vx/nodes", "", false},
		{"/version", "", false},
		{"/v1.50a/nodes", "", false},
	}
	for _, tt := range tests {
		got, ok := pathAPIVersion(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("pathAPIVersion(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

package swarm

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNodeDescriptionLimits: what a joining node says about itself is
// bounded (a 5 MB hostname made node ls take 6-7 s).
func TestNodeDescriptionLimits(t *testing.T) {
	ok := NodeDescription{Hostname: strings.Repeat("h", MaxDescriptionBytes), OS: "linux", Runtime: "process"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []NodeDescription{
		{Hostname: strings.Repeat("h", 5<<20)},
		{OS: strings.Repeat("o", MaxDescriptionBytes+1)},
		{EngineVersion: strings.Repeat("v", 1000)},
		{NanoCPUs: -1},
	} {
		if err := d.Validate(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%.40v: %v", d, err)
		}
	}
	if err := CheckAddr(strings.Repeat("a", MaxAddrBytes+1)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("a long address: %v", err)
	}
}

// TestCutStatusText: a node's long status text is cut to the limit on a
// character boundary, marked; a short one is kept.
func TestCutStatusText(t *testing.T) {
	if s := CutStatusText("exit 1"); s != "exit 1" {
		t.Fatal(s)
	}
	s := CutStatusText(strings.Repeat("é", MaxStatusTextBytes))
	if len(s) > MaxStatusTextBytes || !utf8.ValidString(s) || !strings.HasSuffix(s, "... (cut)") {
		t.Fatalf("cut to %d bytes, valid %v: ...%q", len(s), utf8.ValidString(s), s[len(s)-20:])
	}
}

package cli

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestImageReferences(t *testing.T) {
	tests := []struct {
		in, tagged, display string
	}{
		{"alpine", "alpine:latest", "alpine"},
		{"alpine:3.20", "alpine:3.20", "alpine:3.20"},
		{"docker.io/library/alpine", "alpine:latest", "docker.io/library/alpine"},
		{"index.docker.io/library/alpine:1", "alpine:1", "alpine:1"},
		{"library/alpine:1@" + digestAlpine, "alpine:1@" + digestAlpine, "alpine:1"},
		{"alpine@" + digestAlpine, "alpine@" + digestAlpine, "alpine@" + digestAlpine},
		{"team/app", "team/app:latest", "team/app"},
		{"localhost/app", "localhost/app:latest", "localhost/app"},
		{"localhost:5000/team/app:v1", "localhost:5000/team/app:v1", "localhost:5000/team/app:v1"},
		{"registry.example/a/b/c:v1", "registry.example/a/b/c:v1", "registry.example/a/b/c:v1"},
		{"[::1]:5000/app:v1", "[::1]:5000/app:v1", "[::1]:5000/app:v1"},
		{"Alpine", "Alpine", "Alpine"},                         // upper case: not a reference
		{"alpine:bad tag", "alpine:bad tag", "alpine:bad tag"}, // unparsable: as typed
		{"alpine@sha256:abc", "alpine@sha256:abc", "alpine@sha256:abc"},
		{strings.Repeat("ab", 32), strings.Repeat("ab", 32), strings.Repeat("ab", 32)},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := withDefaultTag(tt.in); got != tt.tagged {
			t.Errorf("withDefaultTag(%q) = %q, want %q", tt.in, got, tt.tagged)
		}
		if got := displayImage(tt.in); got != tt.display {
			t.Errorf("displayImage(%q) = %q, want %q", tt.in, got, tt.display)
		}
	}
	pins := []struct{ image, digest, want string }{
		{"alpine:latest", digestAlpine, "alpine:latest@" + digestAlpine},
		{"alpine:latest", "sha256:abc", "alpine:latest"},
		{"alpine:latest", "", "alpine:latest"},
		{"alpine@" + digestAlpine, "sha256:" + strings.Repeat("0", 64), "alpine@" + digestAlpine},
		{"Alpine", digestAlpine, "Alpine"},
	}
	for _, p := range pins {
		if got := withDigest(p.image, p.digest); got != p.want {
			t.Errorf("withDigest(%q, %q) = %q, want %q", p.image, p.digest, got, p.want)
		}
	}
}

func TestSplitShellWords(t *testing.T) {
	good := map[string][]string{
		`ping -c 3 example.com`:   {"ping", "-c", "3", "example.com"},
		`  sh  -c 'echo "a b"'  `: {"sh", "-c", `echo "a b"`},
		`a\ b "c\"d" "e\f" ''`:    {"a b", `c"d`, `e\f`, ""},
		"":                        nil,
		`x"y z"w`:                 {"xy zw"},
	}
	for in, want := range good {
		got, err := splitShellWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitShellWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{`'open`: "EOF found when expecting closing quote", `trail\`: "EOF found after escape character"} {
		if _, err := splitShellWords(in); err == nil || err.Error() != want {
			t.Errorf("splitShellWords(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestEnvMerging(t *testing.T) {
	if got := mergeEnv([]string{"A=1", "B=2", "A=3", "C", "C=4", "D=1", "D=1"}); !slices.Equal(got, []string{"B=2", "A=3", "C", "C=4", "D=1", "D=1"}) {
		t.Errorf("mergeEnv = %q", got)
	}
	if got := updateEnv([]string{"A=1", "B=2", "C=3"}, []string{"B=9", "Z=0"}, []string{"A"}); !slices.Equal(got, []string{"B=9", "C=3", "Z=0"}) {
		t.Errorf("updateEnv = %q", got)
	}
	if got := updateEnv([]string{"A=1"}, nil, []string{"A"}); got == nil || len(got) != 0 {
		t.Errorf("updateEnv removing all = %#v", got)
	}
}

func TestFlagValues(t *testing.T) {
	var cpus nanoCPUs
	if err := cpus.Set("1.5"); err != nil || cpus != 1500000000 || cpus.String() != "1.500" {
		t.Errorf("cpus = %d %q %v", cpus, cpus.String(), err)
	}
	for in, want := range map[string]string{"x": "failed to parse x as a rational number", "0.0000000001": "value is too precise"} {
		if err := cpus.Set(in); err == nil || err.Error() != want {
			t.Errorf("cpus.Set(%q) = %v", in, err)
		}
	}
	var mem memBytes
	if err := mem.Set("64m"); err != nil || mem != 64<<20 || mem.String() != "64MiB" {
		t.Errorf("mem = %d %q %v", mem, mem.String(), err)
	}
	var d optionalDuration
	if d.String() != "" || d.Set("90s") != nil || *d.value != 90*time.Second {
		t.Errorf("duration = %v", d.value)
	}
	positive := optionalDuration{positive: true}
	if err := positive.Set("-1s"); err == nil {
		t.Error("negative duration accepted")
	}
	var u optionalUint
	if u.Set("0x10") != nil || *u.value != 16 || u.String() != "16" {
		t.Errorf("uint = %v", u.value)
	}
	l := newListValue(validateLabel)
	for _, v := range []string{"a=1", "b"} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if l.String() != "[a=1 b]" || l.Set("bad key=1") == nil || l.Set(" =x") == nil {
		t.Errorf("labels = %s", l)
	}
	t.Setenv("SHOAL_TEST_VAR", "v")
	env := newListValue(validateEnv)
	for _, v := range []string{"SHOAL_TEST_VAR", "SHOAL_UNSET_VAR", "K=v=w"} {
		if err := env.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(env.values, []string{"SHOAL_TEST_VAR=v", "SHOAL_UNSET_VAR", "K=v=w"}) {
		t.Errorf("env = %q", env.values)
	}
}

func TestLogTimestamp(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	good := map[string]string{
		"10m":                         "1748778600",
		"2025-06-01T10:30:02Z":        "1748773802.000000000",
		"2025-06-01T10:30:02.5+02:00": "1748766602.500000000",
		"2025-06-01":                  "1748736000.000000000",
		"2025-06-01T10":               "1748772000.000000000",
		"1748773802":                  "1748773802",
		"1748773802.123456789":        "1748773802.123456789",
	}
	for in, want := range good {
		if got, err := logTimestamp(in, now); err != nil || got != want {
			t.Errorf("logTimestamp(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"bogus", "2025-13-01", "12.x", "1.1234567890"} {
		if got, err := logTimestamp(bad, now); err == nil {
			t.Errorf("logTimestamp(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseLogDetails(t *testing.T) {
	got, err := parseLogDetails("a+b=x%2Cy,env=prod")
	if err != nil || len(got) != 2 || got["a b"] != "x,y" || got["env"] != "prod" {
		t.Errorf("details = %v, %v", got, err)
	}
	if got, err := parseLogDetails(""); err != nil || len(got) != 0 {
		t.Errorf("empty details = %v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "=x", "a=%zz"} {
		if _, err := parseLogDetails(bad); err == nil {
			t.Errorf("parseLogDetails(%q) accepted", bad)
		}
	}
	if _, err := takeLogContext(map[string]string{"com.docker.swarm.node.id": "n"}); err == nil ||
		err.Error() != "missing service id in details: map[]" {
		t.Errorf("missing service id: %v", err)
	}
}

// TestServiceRequests checks what each read command asks the daemon, in
// order (the body cases check the writes, against docker too).
func TestServiceRequests(t *testing.T) {
	svc := func(ref string) string { return "GET /v1.50/services/" + ref + "?insertDefaults=false" }
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"service", "ls"}, []string{"HEAD /_ping", "GET /v1.50/services?status=true"}},
		{[]string{"service", "ls", "-q"}, []string{"HEAD /_ping", "GET /v1.50/services"}},
		{[]string{"service", "ps", "ping"}, []string{"HEAD /_ping",
			"GET /v1.50/services?filters=%7B%22id%22%3A%7B%22ping%22%3Atrue%7D%7D",
			"GET /v1.50/services?filters=%7B%22name%22%3A%7B%22ping%22%3Atrue%7D%7D",
			"GET /v1.50/tasks?filters=%7B%22service%22%3A%7B%22" + idPing + "%22%3Atrue%7D%7D",
			svc(idPing), "GET /v1.50/nodes/" + idManager, "GET /v1.50/nodes/" + idWorker1}},
		{[]string{"service", "ps", "nosuch"}, []string{"HEAD /_ping",
			"GET /v1.50/services?filters=%7B%22id%22%3A%7B%22nosuch%22%3Atrue%7D%7D",
			"GET /v1.50/services?filters=%7B%22name%22%3A%7B%22nosuch%22%3Atrue%7D%7D"}},
		{[]string{"service", "inspect", "ping"}, []string{"HEAD /_ping", "GET /v1.50/services/ping?insertDefaults=true"}},
		{[]string{"service", "logs", "ping"}, []string{"HEAD /_ping", svc("ping"),
			"GET /v1.50/services/ping/logs?details=1&stderr=1&stdout=1&tail=all",
			"GET /v1.50/nodes/" + idManager, svc(idPing), "GET /v1.50/tasks/54cz70chspxv0m7wdv8v8hfaq",
			"GET /v1.50/nodes/" + idWorker1, "GET /v1.50/tasks/kx2b4d6f8h0j2l4n6p8r0t2v4"}},
		{[]string{"service", "logs", "--raw", "-f", "-t", "--tail", "5", "54cz"}, []string{"HEAD /_ping", svc("54cz"), "GET /v1.50/tasks/54cz",
			"GET /v1.50/tasks/54cz/logs?follow=1&stderr=1&stdout=1&tail=5&timestamps=1"}},
		{[]string{"service", "rm", "ping", "web"}, []string{"HEAD /_ping", "DELETE /v1.50/services/ping", "DELETE /v1.50/services/web"}},
		{[]string{"node", "ps"}, []string{"HEAD /_ping", "GET /v1.50/info", "GET /v1.50/nodes/" + idManager,
			"GET /v1.50/tasks?filters=%7B%22node%22%3A%7B%22" + idManager + "%22%3Atrue%7D%7D",
			svc(idPing), svc(idWeb), "GET /v1.50/nodes/" + idManager}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fd := newFixtureDaemon(t)
			fd.mu.Lock()
			withServices(fd)
			fd.mu.Unlock()
			runCLI(t, fd.host, tt.args...)
			if got := fd.requests(); !slices.Equal(got, tt.want) {
				t.Fatalf("requests = %s\nwant       %s", fmtRequests(got), fmtRequests(tt.want))
			}
		})
	}
}

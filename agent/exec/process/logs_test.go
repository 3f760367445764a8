//go:build linux

package process

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
)

func TestLogsStreamsAndFilters(t *testing.T) {
	e := newExecutor(t, Config{})
	before := time.Now()
	c, err := run(t, e, newTask("t1", "sh", "-c", "echo out1; echo err1 >&2; echo out2; printf 'no newline'"))
	if err != nil {
		t.Fatal(err)
	}
	all := logs(t, c, exec.LogOptions{})
	if got := strings.Join(all.Lines(exec.Stdout), "|"); got != "out1|out2|no newline" {
		t.Fatalf("stdout %q", got)
	}
	if got := strings.Join(all.Lines(exec.Stderr), "|"); got != "err1" {
		t.Fatalf("stderr %q", got)
	}
	for _, m := range all.Messages() {
		if m.Time.Before(before) || m.Time.After(time.Now()) {
			t.Fatalf("timestamp %v out of the run", m.Time)
		}
	}
	if got := logs(t, c, exec.LogOptions{Stderr: true}).Lines(0); strings.Join(got, "|") != "err1" {
		t.Fatalf("stderr only: %q", got)
	}
	if got := logs(t, c, exec.LogOptions{Stdout: true, Tail: 2}).Lines(0); strings.Join(got, "|") != "out2|no newline" {
		t.Fatalf("tail 2: %q", got)
	}
	if got := logs(t, c, exec.LogOptions{Tail: exec.NoTail}).Lines(0); len(got) != 0 {
		t.Fatalf("no tail: %q", got)
	}
	if got := logs(t, c, exec.LogOptions{Since: time.Now()}).Lines(0); len(got) != 0 {
		t.Fatalf("since now: %q", got)
	}
	if got := logs(t, c, exec.LogOptions{Since: before}).Lines(0); len(got) != 4 {
		t.Fatalf("since before: %q", got)
	}
}

// TestLogsCapped: the newest output is kept, within the cap, in two files.
func TestLogsCapped(t *testing.T) {
	e := newExecutor(t, Config{LogMaxBytes: MinLogMaxBytes})
	c, err := run(t, e, newTask("t1", "sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done`))
	if err != nil {
		t.Fatal(err)
	}
	got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	if len(got) == 0 || got[len(got)-1] != "line 1999" || got[0] == "line 0" {
		t.Fatalf("kept %d lines: first %q", len(got), got[:min(len(got), 1)])
	}
	first := 2000 - len(got)
	for i, l := range got {
		if l != fmt.Sprintf("line %d", first+i) {
			t.Fatalf("line %d is %q: a gap", i, l)
		}
	}
	var total int64
	for _, name := range []string{logFile, logOldFile} {
		fi, err := os.Stat(filepath.Join(e.cfg.StateDir, "t1", name))
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if total > MinLogMaxBytes {
		t.Fatalf("%d bytes kept, cap %d", total, MinLogMaxBytes)
	}
}

func TestLogsLongLineSplit(t *testing.T) {
	e := newExecutor(t, Config{})
	c, err := run(t, e, newTask("t1", "sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo; echo after"))
	if err != nil {
		t.Fatal(err)
	}
	got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout)
	if len(got) != 4 || len(got[0]) != maxLine || len(got[1]) != maxLine || len(got[2]) != 40000-2*maxLine || got[3] != "after" {
		lens := []int{}
		for _, l := range got {
			lens = append(lens, len(l))
		}
		t.Fatalf("line lengths %v", lens)
	}
}

// TestLogsFollow: a follower gets lines as they come and returns when the
// task exits.
func TestLogsFollow(t *testing.T) {
	e := newExecutor(t, Config{})
	gate := filepath.Join(t.TempDir(), "go")
	c := start(t, e, newTask("t1", "sh", "-c", fmt.Sprintf(`echo a; while [ ! -e %s ]; do sleep 0.02; done; echo b`, gate)))
	col := &exectest.LogCollector{Ch: make(chan exec.LogMessage)}
	done := make(chan error, 1)
	go func() { done <- c.Logs(testCtx(t), exec.LogOptions{Follow: true}, col) }()
	next := func() string {
		select {
		case m := <-col.Ch:
			return string(m.Line)
		case <-testCtx(t).Done():
			t.Fatal("no log line")
			return ""
		}
	}
	if l := next(); l != "a" {
		t.Fatalf("first line %q", l)
	}
	os.WriteFile(gate, nil, 0o644)
	if l := next(); l != "b" {
		t.Fatalf("second line %q", l)
	}
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
}

func TestLogsFollowCancelled(t *testing.T) {
	e := newExecutor(t, Config{})
	c := start(t, e, newTask("t1", "sleep", "100"))
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.Logs(ctx, exec.LogOptions{Follow: true}, &exectest.LogCollector{}) }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("follow after cancel: %v", err)
	}
	c.Terminate(testCtx(t))
}

// TestLogStoreFollowAcrossRotation writes records one at a time through a
// tiny store and checks a follower sees each once, in order, while the
// files rotate under it.
func TestLogStoreFollowAcrossRotation(t *testing.T) {
	s := newLogStore(t.TempDir(), 600) // rotates every few records
	if err := s.open(); err != nil {
		t.Fatal(err)
	}
	col := &exectest.LogCollector{Ch: make(chan exec.LogMessage)}
	done := make(chan error, 1)
	go func() { done <- s.logs(testCtx(t), exec.LogOptions{Follow: true}, col) }()
	for i := range 50 {
		want := fmt.Sprintf("record %02d", i)
		if err := s.write(exec.Stdout, time.Now(), []byte(want)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-col.Ch:
			if string(m.Line) != want {
				t.Fatalf("got %q, want %q", m.Line, want)
			}
		case <-testCtx(t).Done():
			t.Fatal("follower stalled")
		}
	}
	if s.gen < 5 {
		t.Fatalf("only %d rotations", s.gen)
	}
	s.finish()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestParseRecord(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	m, ok := parseRecord([]byte(ts.Format(time.RFC3339Nano) + " stderr two  spaces "))
	if !ok || m.Stream != exec.Stderr || !m.Time.Equal(ts) || string(m.Line) != "two  spaces " {
		t.Fatalf("parsed %+v %v", m, ok)
	}
	for _, bad := range []string{"", "nonsense", "2024-01-01T00:00:00Z stdin x", "yesterday stdout x"} {
		if _, ok := parseRecord([]byte(bad)); ok {
			t.Fatalf("parsed %q", bad)
		}
	}
}

package docker

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
)

// frame is one frame of the engine's multiplexed stream.
func frame(stream byte, payload string) []byte {
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func readAll(t *testing.T, stream []byte, tty bool) ([]exec.LogMessage, error) {
	t.Helper()
	var msgs []exec.LogMessage
	err := readLogs(bytes.NewReader(stream), tty, func(m exec.LogMessage) error {
		msgs = append(msgs, m)
		return nil
	})
	return msgs, err
}

func TestReadFrames(t *testing.T) {
	t1 := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	t2 := t1.Add(time.Second)
	ts := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	var stream []byte
	stream = append(stream, frame(frameStdout, ts(t1)+" hello world\n")...)
	stream = append(stream, frame(frameStderr, ts(t2)+" oops\n")...)
	stream = append(stream, frame(frameStdout, ts(t2)+" \n")...)                   // an empty line
	stream = append(stream, frame(frameStdout, ts(t2)+" part one")...)             // a long line, cut
	stream = append(stream, frame(frameStdout, ts(t2)+" two\nno stamp here\n")...) // two lines in a frame
	msgs, err := readAll(t, stream, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		stream exec.LogStream
		time   time.Time
		line   string
	}{
		{exec.Stdout, t1, "hello world"}, {exec.Stderr, t2, "oops"}, {exec.Stdout, t2, ""},
		{exec.Stdout, t2, "part one"}, {exec.Stdout, t2, "two"}, {exec.Stdout, t2, "no stamp here"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	for i, w := range want {
		m := msgs[i]
		if m.Stream != w.stream || !m.Time.Equal(w.time) || string(m.Line) != w.line {
			t.Errorf("message %d: %v %v %q, want %v %v %q", i, m.Stream, m.Time, m.Line, w.stream, w.time, w.line)
		}
	}
}

func TestReadFramesErrors(t *testing.T) {
	if _, err := readAll(t, frame(frameSystem, "something broke\n"), false); err == nil || !strings.Contains(err.Error(), "something broke") {
		t.Fatalf("system frame: %v", err)
	}
	if _, err := readAll(t, frame(frameStdout, "2024-01-01T00:00:00Z abc")[:10], false); err == nil {
		t.Fatal("a cut frame is no error")
	}
	if _, err := readAll(t, frame(7, "x"), false); err == nil {
		t.Fatal("an unknown stream is no error")
	}
}

func TestReadRaw(t *testing.T) {
	raw := "2024-01-01T00:00:00Z one\r\n2024-01-01T00:00:01Z two\r\n" + "2024-01-01T00:00:02Z " + strings.Repeat("x", maxLine)
	msgs, err := readAll(t, []byte(raw), true)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range msgs {
		if m.Stream != exec.Stdout {
			t.Fatalf("stream %v", m.Stream)
		}
		lines = append(lines, string(m.Line))
	}
	if len(lines) < 3 || lines[0] != "one" || lines[1] != "two" || !strings.HasPrefix(lines[2], "xxx") {
		t.Fatalf("lines %q", lines)
	}
	if got := len(strings.Join(lines[2:], "")); got != maxLine {
		t.Fatalf("long line: %d bytes kept, want %d", got, maxLine)
	}
	if !msgs[1].Time.Equal(time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Fatalf("time %v", msgs[1].Time)
	}
}

func TestLogsOptions(t *testing.T) {
	since := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	lo := logsOptions(exec.LogOptions{})
	if !lo.ShowStdout || !lo.ShowStderr || !lo.Timestamps || lo.Follow || lo.Tail != "" || lo.Since != "" {
		t.Fatalf("defaults %+v", lo)
	}
	lo = logsOptions(exec.LogOptions{Stderr: true, Follow: true, Tail: 5, Since: since})
	if lo.ShowStdout || !lo.ShowStderr || !lo.Follow || lo.Tail != "5" || lo.Since != "1704164645.000000006" {
		t.Fatalf("stderr, follow, tail 5, since: %+v", lo)
	}
	if lo = logsOptions(exec.LogOptions{Stdout: true, Tail: exec.NoTail}); !lo.ShowStdout || lo.ShowStderr || lo.Tail != "0" {
		t.Fatalf("stdout, no tail: %+v", lo)
	}
}

func TestReadLogsWriterError(t *testing.T) {
	stream := slices.Concat(frame(frameStdout, "2024-01-01T00:00:00Z a\n"), frame(frameStdout, "2024-01-01T00:00:00Z b\n"))
	n := 0
	err := readLogs(bytes.NewReader(stream), false, func(exec.LogMessage) error {
		n++
		return exec.ErrControllerClosed
	})
	if err != exec.ErrControllerClosed || n != 1 {
		t.Fatalf("err %v after %d messages", err, n)
	}
}

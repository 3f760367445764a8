package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/moby/moby/client"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/swarm"
)

const (
	// maxFrame bounds one frame of the engine's multiplexed log stream (the
	// engine's log drivers cut lines at 16 KiB).
	maxFrame = 1 << 20
	// maxLine is where a line of a TTY container's raw stream is split.
	maxLine = 16 << 10
)

// Frame stream types of the engine's multiplexed stream.
const (
	frameStdin  = 0
	frameStdout = 1
	frameStderr = 2
	frameSystem = 3 // an error of the engine, sent in the stream
)

// Logs writes the container's log lines, read from the engine with their
// timestamps (see exec.ControllerLogs). It works until the container is
// removed. With a stream filter, Tail counts the lines of both streams, as
// the engine does.
func (c *Controller) Logs(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error {
	ctr, ok, err := c.find(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return swarm.Errorf(swarm.ErrNotFound, "No such container: %s", c.name)
	}
	rc, err := c.e.cli.ContainerLogs(ctx, ctr.ID, logsOptions(opts))
	if err != nil {
		return engineError(ctx, "reading container logs", err)
	}
	defer rc.Close()
	tty := ctr.Config != nil && ctr.Config.Tty
	err = readLogs(rc, tty, func(m exec.LogMessage) error {
		if !opts.Wants(m.Stream, m.Time) {
			return nil
		}
		return w.WriteLog(ctx, m)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// logsOptions translates a Logs request to the engine's query.
func logsOptions(o exec.LogOptions) client.ContainerLogsOptions {
	lo := client.ContainerLogsOptions{
		ShowStdout: o.Stdout || !o.Stderr,
		ShowStderr: o.Stderr || !o.Stdout,
		Timestamps: true,
		Follow:     o.Follow,
	}
	switch {
	case o.Tail == exec.NoTail:
		lo.Tail = "0"
	case o.Tail > 0:
		lo.Tail = strconv.Itoa(o.Tail)
	}
	if !o.Since.IsZero() {
		lo.Since = fmt.Sprintf("%d.%09d", o.Since.Unix(), o.Since.Nanosecond())
	}
	return lo
}

// readLogs reads the engine's log stream (multiplexed, or raw for a TTY
// container) and calls fn for each line.
func readLogs(r io.Reader, tty bool, fn func(exec.LogMessage) error) error {
	if tty {
		return readRaw(r, fn)
	}
	return readFrames(r, fn)
}

// readFrames reads the multiplexed stream: frames of an 8-byte header (the
// stream, three zero bytes, the payload's length in big-endian) and a
// payload holding one log message, or a part of a long one.
func readFrames(r io.Reader, fn func(exec.LogMessage) error) error {
	br := bufio.NewReader(r)
	var hdr [8]byte
	var buf []byte
	var last time.Time
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading container logs: %w", err)
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		if size > maxFrame {
			return fmt.Errorf("reading container logs: a frame of %d bytes", size)
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("reading container logs: %w", err)
		}
		var stream exec.LogStream
		switch hdr[0] {
		case frameStdin, frameStdout:
			stream = exec.Stdout
		case frameStderr:
			stream = exec.Stderr
		case frameSystem:
			return fmt.Errorf("reading container logs: %s", bytes.TrimSpace(buf))
		default:
			return fmt.Errorf("reading container logs: unknown stream %d", hdr[0])
		}
		var err error
		if last, err = emitLines(buf, stream, last, fn); err != nil {
			return err
		}
	}
}

// readRaw reads a TTY container's stream: lines, all on stdout.
func readRaw(r io.Reader, fn func(exec.LogMessage) error) error {
	br := bufio.NewReaderSize(r, maxLine)
	var last time.Time
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			var werr error
			if last, werr = emitLines(line, exec.Stdout, last, fn); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("reading container logs: %w", err)
		}
	}
}

// emitLines calls fn for each line of b, each "<RFC 3339 time> <text>"
// (the time of a line without one is the previous line's). It returns the
// last time seen.
func emitLines(b []byte, stream exec.LogStream, last time.Time, fn func(exec.LogMessage) error) (time.Time, error) {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		t, text := splitTimestamp(line, last)
		last = t
		text = bytes.TrimSuffix(text, []byte{'\r'}) // a TTY ends lines with CRLF
		if err := fn(exec.LogMessage{Stream: stream, Time: t, Line: bytes.Clone(text)}); err != nil {
			return last, err
		}
	}
	return last, nil
}

// splitTimestamp splits the engine's timestamp off a line; a line without
// one gets def (or now).
func splitTimestamp(line []byte, def time.Time) (time.Time, []byte) {
	ts, text, ok := bytes.Cut(line, []byte{' '})
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil {
			return t, text
		}
	}
	if def.IsZero() {
		def = time.Now()
	}
	return def, line
}

package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// LogsOptions select the lines a logs request returns. Standard output and
// standard error are always both asked for.
type LogsOptions struct {
	// Follow keeps the stream open for new lines until the context ends or
	// the daemon closes it.
	Follow bool
	// Timestamps prefixes each line with its RFC 3339 time.
	Timestamps bool
	// Details prefixes each line with its attributes (k=v,k=v); the
	// service, task and node IDs among them.
	Details bool
	// Tail is "all" or how many lines from the end to start with.
	Tail string
	// Since, when set, is a Unix time in seconds (with optional .nanos):
	// only lines from then on are returned.
	Since string
}

// StreamType says which output of a task a log frame comes from.
type StreamType byte

// Stream types of the multiplexed log format.
const (
	StreamStdin     StreamType = 0
	StreamStdout    StreamType = 1
	StreamStderr    StreamType = 2
	StreamSystemErr StreamType = 3
)

// frameHeaderLen is the size of a multiplexed frame header:
// [stream, 0, 0, 0, size as uint32 big-endian].
const frameHeaderLen = 8

// maxFrameLen bounds one frame, so that a corrupt header cannot make the
// client allocate gigabytes.
const maxFrameLen = 64 << 20

// LogFrame is one write of a task's output: one log line for the daemon's
// log endpoints.
type LogFrame struct {
	Stream StreamType
	// Data is the payload. It is only valid until the next call to Next.
	Data []byte
}

// LogStream is the answer of a logs request: a body of multiplexed frames
// (or, for a TTY service, raw bytes, see Raw). It is not safe for
// concurrent use; Close releases the connection.
type LogStream struct {
	body io.ReadCloser
	hdr  [frameHeaderLen]byte
	buf  []byte
}

// ServiceLogs streams the logs of every task of service ref.
func (c *Client) ServiceLogs(ctx context.Context, ref string, opts LogsOptions) (*LogStream, error) {
	return c.logs(ctx, "service", "/services/", ref, opts)
}

// TaskLogs streams the logs of task ref.
func (c *Client) TaskLogs(ctx context.Context, ref string, opts LogsOptions) (*LogStream, error) {
	return c.logs(ctx, "task", "/tasks/", ref, opts)
}

func (c *Client) logs(ctx context.Context, kind, prefix, ref string, opts LogsOptions) (*LogStream, error) {
	ref, err := trimRef(kind, ref)
	if err != nil {
		return nil, err
	}
	r := newRequest(http.MethodGet, prefix+ref+"/logs")
	q := r.query
	q.Set("stdout", "1")
	q.Set("stderr", "1")
	if opts.Since != "" {
		q.Set("since", opts.Since)
	}
	if opts.Timestamps {
		q.Set("timestamps", "1")
	}
	if opts.Details {
		q.Set("details", "1")
	}
	if opts.Follow {
		q.Set("follow", "1")
	}
	q.Set("tail", opts.Tail)
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return &LogStream{body: resp.Body}, nil
}

// Next returns the next frame, or io.EOF when the stream ended cleanly at a
// frame boundary.
func (s *LogStream) Next() (LogFrame, error) {
	if _, err := io.ReadFull(s.body, s.hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return LogFrame{}, io.EOF
		}
		return LogFrame{}, fmt.Errorf("read log frame header: %w", err)
	}
	stream := StreamType(s.hdr[0])
	if stream > StreamSystemErr {
		return LogFrame{}, fmt.Errorf("unrecognized input header: %d", s.hdr[0])
	}
	size := binary.BigEndian.Uint32(s.hdr[4:])
	if size > maxFrameLen {
		return LogFrame{}, fmt.Errorf("log frame of %d bytes is too large", size)
	}
	if cap(s.buf) < int(size) {
		s.buf = make([]byte, size)
	}
	s.buf = s.buf[:size]
	if _, err := io.ReadFull(s.body, s.buf); err != nil {
		return LogFrame{}, fmt.Errorf("read log frame: %w", err)
	}
	return LogFrame{Stream: stream, Data: s.buf}, nil
}

// Demux copies the stream's frames until it ends: standard output (and
// input) frames to stdout, standard error frames to stderr, one Write per
// frame. A system error frame ends the copy with the daemon's message.
func (s *LogStream) Demux(stdout, stderr io.Writer) error {
	for {
		f, err := s.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		w := stdout
		switch f.Stream {
		case StreamStderr:
			w = stderr
		case StreamSystemErr:
			return fmt.Errorf("error from daemon in stream: %s", f.Data)
		}
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
	}
}

// Raw returns the undecoded body, for services whose tasks run with a TTY:
// their logs are not multiplexed.
func (s *LogStream) Raw() io.Reader { return s.body }

// Close releases the stream's connection.
func (s *LogStream) Close() error { return s.body.Close() }

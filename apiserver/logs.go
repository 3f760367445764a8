package apiserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// Log stream constants. The timestamp layout is moby's fixed-width
// RFC 3339 with nine fractional digits; multiplexed streams are announced
// from API 1.42 on (older clients get the raw-stream type, same framing).
const (
	logTimeLayout        = "2006-01-02T15:04:05.000000000Z07:00"
	multiplexMinVersion  = "1.42"
	stdFrameHeaderLength = 8
)

// errNoLogStream refuses a logs request that asks for neither stream, in
// moby's words.
var errNoLogStream = swarm.Errorf(swarm.ErrInvalidArgument, "Bad parameters: you must choose at least one stream")

// serviceLogs answers GET /services/{id}/logs.
func (s *server) serviceLogs(w http.ResponseWriter, r *http.Request) error {
	return s.logs(w, r, logSource{
		tty: func(ctx context.Context, ctl Control, ref string) (bool, error) {
			v, err := ctl.GetService(ctx, ref)
			if err != nil {
				return false, err
			}
			return v.Spec.Task.Container.TTY, nil
		},
		stream: Control.ServiceLogs,
	})
}

// taskLogs answers GET /tasks/{id}/logs.
func (s *server) taskLogs(w http.ResponseWriter, r *http.Request) error {
	return s.logs(w, r, logSource{
		tty: func(ctx context.Context, ctl Control, ref string) (bool, error) {
			t, err := ctl.GetTask(ctx, ref)
			if err != nil {
				return false, err
			}
			return t.Spec.Container.TTY, nil
		},
		stream: Control.TaskLogs,
	})
}

// logSource is what differs between service and task logs: how to learn
// whether the object runs with a TTY, and how to stream its lines.
type logSource struct {
	tty    func(ctx context.Context, ctl Control, ref string) (bool, error)
	stream func(ctl Control, ctx context.Context, ref string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error
}

// logs serves a logs request the way moby does: options and the object are
// checked first, so that a bad request or an unknown reference gets its
// status code (the CLI falls back from service to task on a 404); then the
// 200 and headers go out at once, and every line is one flushed frame. An
// error after that point can only be reported inside the stream.
func (s *server) logs(w http.ResponseWriter, r *http.Request, src logSource) error {
	opts, err := logOptions(r)
	if err != nil {
		return err
	}
	ctl, done, err := s.control(w, r)
	if done || err != nil {
		return err
	}
	ref := r.PathValue("id")
	tty, err := src.tty(r.Context(), ctl, ref)
	if err != nil {
		return err
	}
	lw := newLogWriter(w, opts, !tty)
	lw.start(logContentType(tty, requestAPIVersion(r)))
	err = src.stream(ctl, r.Context(), ref, opts, lw.write)
	switch {
	case err == nil, lw.err != nil, r.Context().Err() != nil:
		// Done, or the client is gone: nothing more to tell it.
	default:
		lw.systemError(err)
	}
	if err != nil {
		s.log.Debug("log stream ended", slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	return nil
}

func logContentType(tty bool, apiVersion string) string {
	if !tty && compareVersions(apiVersion, multiplexMinVersion) >= 0 {
		return types.MediaTypeMultiplexedStream
	}
	return types.MediaTypeRawStream
}

// logOptions reads the query of a logs request. Booleans are lenient, as in
// moby; since is Unix seconds with optional nanoseconds (the CLI converts
// durations and dates itself); tail is "all" or a count.
func logOptions(r *http.Request) (controlapi.LogOptions, error) {
	opts := controlapi.LogOptions{
		Follow:     flagParam(r, "follow"),
		Timestamps: flagParam(r, "timestamps"),
		Stdout:     flagParam(r, "stdout"),
		Stderr:     flagParam(r, "stderr"),
		Details:    flagParam(r, "details"),
	}
	if !opts.Stdout && !opts.Stderr {
		return opts, errNoLogStream
	}
	var err error
	q := r.URL.Query()
	if opts.Tail, err = parseTail(q.Get("tail")); err != nil {
		return opts, err
	}
	if opts.Since, err = parseSince(q.Get("since")); err != nil {
		return opts, err
	}
	return opts, nil
}

// parseTail reads tail=: all (or absent) is -1, else a non-negative count.
func parseTail(raw string) (int, error) {
	if raw == "" || raw == "all" {
		return -1, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, swarm.Errorf(swarm.ErrInvalidArgument, `tail value must be a positive integer or "all"`)
	}
	if n < 0 {
		return 0, swarm.Errorf(swarm.ErrInvalidArgument, "negative tail values not supported")
	}
	return n, nil
}

// parseSince reads since=<seconds>[.<fraction>]; absent is the zero time.
func parseSince(raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	secs, frac, _ := strings.Cut(raw, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err == nil && frac != "" {
		if len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
			err = errors.New("invalid fractional seconds")
		}
	}
	var nsec int64
	if err == nil && frac != "" {
		nsec, err = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	}
	if err != nil {
		return time.Time{}, swarm.Errorf(swarm.ErrInvalidArgument, "could not parse since timestamp %q: %w", raw, err)
	}
	return time.Unix(sec, nsec), nil
}

// logWriter turns log messages into the response body: in multiplexed mode
// one stdcopy frame per line (8-byte header: stream, three zero bytes, the
// big-endian payload size), in raw mode (TTY) the bare payload. Each line is
// flushed. The first write or flush error sticks and is returned from
// every later write, so that the log source stops when the client is gone.
type logWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	opt controlapi.LogOptions
	mux bool
	err error
}

func newLogWriter(w http.ResponseWriter, opt controlapi.LogOptions, mux bool) *logWriter {
	return &logWriter{w: w, rc: http.NewResponseController(w), opt: opt, mux: mux}
}

// start sends the 200 and the headers right away, as moby does, so that a
// following client sees the stream open before the first line.
func (lw *logWriter) start(contentType string) {
	lw.w.Header().Set("Content-Type", contentType)
	lw.w.WriteHeader(http.StatusOK)
	lw.flush()
}

// write is the log source's callback for one line.
func (lw *logWriter) write(m controlapi.LogMessage) error {
	stream := stdcopy.Stdout
	if m.Stream == int(stdcopy.Stderr) {
		stream = stdcopy.Stderr
	}
	if stream == stdcopy.Stdout && !lw.opt.Stdout || stream == stdcopy.Stderr && !lw.opt.Stderr {
		return lw.err
	}
	lw.send(stream, logPayload(m, lw.opt))
	return lw.err
}

// systemError reports an error found after the stream started, in moby's
// words, on the system-error stream.
func (lw *logWriter) systemError(err error) {
	lw.send(stdcopy.Systemerr, fmt.Appendf(nil, "Error grabbing logs: %v\n", err))
}

func (lw *logWriter) send(stream stdcopy.StdType, payload []byte) {
	if lw.err != nil {
		return
	}
	if lw.mux {
		payload = appendStdFrame(nil, stream, payload)
	}
	if _, err := lw.w.Write(payload); err != nil {
		lw.err = err
		return
	}
	lw.flush()
}

func (lw *logWriter) flush() {
	if err := lw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		lw.err = err
	}
}

// appendStdFrame appends payload to dst as one stdcopy frame.
func appendStdFrame(dst []byte, stream stdcopy.StdType, payload []byte) []byte {
	var hdr [stdFrameHeaderLength]byte
	hdr[0] = byte(stream)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(append(dst, hdr[:]...), payload...)
}

// logPayload is one line as moby writes it:
// "[<timestamp> ][<details> ]<message>". The details name the line's node,
// service and task, which `docker service logs` needs to label it.
func logPayload(m controlapi.LogMessage, opt controlapi.LogOptions) []byte {
	var b []byte
	if opt.Timestamps {
		b = append(m.Timestamp.UTC().AppendFormat(b, logTimeLayout), ' ')
	}
	if opt.Details {
		b = append(appendLogDetails(b, m), ' ')
	}
	return append(b, m.Line...)
}

// Log detail keys, as swarmkit names them.
const (
	detailNodeID    = "com.docker.swarm.node.id"
	detailServiceID = "com.docker.swarm.service.id"
	detailTaskID    = "com.docker.swarm.task.id"
)

// appendLogDetails appends k=v pairs, query-escaped, sorted by key and
// separated by commas (moby's attrsByteSlice).
func appendLogDetails(b []byte, m controlapi.LogMessage) []byte {
	attrs := [][2]string{
		{detailNodeID, string(m.NodeID)},
		{detailServiceID, string(m.ServiceID)},
		{detailTaskID, string(m.TaskID)},
	}
	slices.SortFunc(attrs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	for i, kv := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, url.QueryEscape(kv[0])...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(kv[1])...)
	}
	return b
}

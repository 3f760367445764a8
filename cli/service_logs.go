package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/spf13/cobra"
)

type serviceLogsOptions struct {
	noResolve, noTrunc, noTaskIDs bool
	follow, timestamps            bool
	details, raw                  bool
	since, tail                   string
}

func newServiceLogsCommand(s *session) *cobra.Command {
	var o serviceLogsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] SERVICE|TASK",
		Short: "Fetch the logs of a service or task",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.run(cmd, func(c *call) error { return runServiceLogs(c, args[0], &o) })
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&o.noResolve, "no-resolve", false, "Do not map IDs to Names in output")
	flags.BoolVar(&o.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.BoolVar(&o.raw, "raw", false, "Do not neatly format logs")
	flags.BoolVar(&o.noTaskIDs, "no-task-ids", false, "Do not include task IDs in output")
	flags.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	flags.StringVar(&o.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	flags.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	flags.BoolVar(&o.details, "details", false, "Show extra details provided to logs")
	flags.StringVarP(&o.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

// logSource is what logs needs to know about its target before reading.
type logSource struct {
	tty   bool
	width int // digits of the highest slot, to align the prefixes
	open  func(client.LogsOptions) (*client.LogStream, error)
}

// runServiceLogs prints the logs of a service, or of a task when no
// service has that name. Each line gets a "<service>.<slot>.<task>@<node>"
// prefix unless --raw; TTY services have raw logs only.
func runServiceLogs(c *call, ref string, o *serviceLogsOptions) error {
	src, err := findLogSource(c, ref)
	if err != nil {
		return err
	}
	if src.tty && !o.raw {
		return errors.New("tty service logs only supported with --raw")
	}
	opts := client.LogsOptions{Follow: o.follow, Timestamps: o.timestamps, Tail: o.tail,
		// The prefixes are built from the details.
		Details: o.details || !o.raw}
	if o.since != "" {
		if opts.Since, err = logTimestamp(o.since, time.Now()); err != nil {
			return fmt.Errorf(`invalid value for "since": %w`, err)
		}
	}
	stream, err := src.open(opts)
	if err != nil {
		return err
	}
	defer stream.Close()
	if src.tty {
		_, err = io.Copy(c.out, stream.Raw())
	} else {
		err = copyLogLines(c, stream, src.width, o)
	}
	if c.ctx.Err() != nil {
		// Interrupted while following: stop quietly.
		return nil
	}
	return err
}

// copyLogLines splits the stream into stdout and stderr, prefixing each
// line with its origin unless --raw.
func copyLogLines(c *call, stream *client.LogStream, width int, o *serviceLogsOptions) error {
	stdout, stderr := c.out, c.err
	if !o.raw {
		f := &logPrefixer{c: c, o: o, width: width, names: newNameResolver(c.api, o.noResolve), cache: map[logContext]string{}}
		stdout, stderr = &logLineWriter{f: f, w: stdout}, &logLineWriter{f: f, w: stderr}
	}
	return stream.Demux(stdout, stderr)
}

// findLogSource reads service ref, or task ref when there is no such
// service.
func findLogSource(c *call, ref string) (logSource, error) {
	svc, _, err := c.api.ServiceInspect(c.ctx, ref, false)
	if err == nil {
		src := logSource{width: 1, open: func(o client.LogsOptions) (*client.LogStream, error) { return c.api.ServiceLogs(c.ctx, ref, o) }}
		if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
			src.tty = cs.TTY
		}
		if r := svc.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			src.width = digits(int(*r.Replicas))
		}
		return src, nil
	}
	if !client.IsNotFound(err) {
		return logSource{}, err
	}
	task, _, err := c.api.TaskInspect(c.ctx, ref)
	if client.IsNotFound(err) {
		return logSource{}, fmt.Errorf("no such task or service: %s", ref)
	}
	if err != nil {
		return logSource{}, err
	}
	src := logSource{width: digits(task.Slot), open: func(o client.LogsOptions) (*client.LogStream, error) { return c.api.TaskLogs(c.ctx, ref, o) }}
	if cs := task.Spec.ContainerSpec; cs != nil {
		src.tty = cs.TTY
	}
	return src, nil
}

func digits(n int) int { return len(strconv.Itoa(n)) }

// logContext identifies where a line comes from.
type logContext struct{ node, service, task string }

// logPrefixer builds the "<service>.<slot>.<task>@<node>" prefix of a
// line's origin, once per origin.
type logPrefixer struct {
	c     *call
	o     *serviceLogsOptions
	width int
	names *nameResolver
	cache map[logContext]string
}

func (f *logPrefixer) prefix(lc logContext) (string, error) {
	if p, ok := f.cache[lc]; ok {
		return p, nil
	}
	node := f.names.node(f.c.ctx, lc.node)
	service := f.names.service(f.c.ctx, lc.service)
	task, _, err := f.c.api.TaskInspect(f.c.ctx, lc.task)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s.%d", service, task.Slot)
	switch {
	case f.o.noTaskIDs:
	case f.o.noTrunc:
		name += "." + task.ID
	default:
		name += "." + shortID(task.ID)
	}
	p := name + "@" + node + strings.Repeat(" ", max(f.width-digits(task.Slot), 0))
	f.cache[lc] = p
	return p, nil
}

// logLineWriter rewrites each log line the daemon sends,
// "[timestamp ]details message", as "[timestamp ]prefix    | [details ]message".
// It relies on one Write per line, which LogStream.Demux guarantees.
type logLineWriter struct {
	f *logPrefixer
	w io.Writer
}

func (lw *logLineWriter) Write(line []byte) (int, error) {
	o := lw.f.o
	n := 2
	if o.timestamps {
		n = 3
	}
	parts := bytes.SplitN(line, []byte(" "), n)
	if len(parts) != n {
		return 0, fmt.Errorf("invalid context in log message: %v", string(line))
	}
	details, err := parseLogDetails(string(parts[n-2]))
	if err != nil {
		return 0, err
	}
	lc, err := takeLogContext(details)
	if err != nil {
		return 0, err
	}
	prefix, err := lw.f.prefix(lc)
	if err != nil {
		return 0, err
	}
	var out bytes.Buffer
	if o.timestamps {
		out.Write(parts[0])
		out.WriteByte(' ')
	}
	out.WriteString(prefix + "    | ")
	if o.details {
		pairs := make([]string, 0, len(details))
		for k, v := range details {
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		out.WriteString(strings.Join(pairs, ",") + " ")
	}
	out.Write(parts[n-1])
	if _, err := lw.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(line), nil
}

// parseLogDetails reads "k=v,k=v" with query-escaped keys and values.
func parseLogDetails(s string) (map[string]string, error) {
	details := map[string]string{}
	if s == "" {
		return details, nil
	}
	for pair := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, errors.New("invalid details format")
		}
		var err error
		if k, err = url.QueryUnescape(k); err != nil {
			return nil, err
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return nil, err
		}
		details[k] = v
	}
	return details, nil
}

// takeLogContext removes the swarm IDs from details and returns them.
func takeLogContext(details map[string]string) (logContext, error) {
	var lc logContext
	for _, f := range []struct {
		key, what string
		dst       *string
	}{
		{"com.docker.swarm.node.id", "node", &lc.node},
		{"com.docker.swarm.service.id", "service", &lc.service},
		{"com.docker.swarm.task.id", "task", &lc.task},
	} {
		v, ok := details[f.key]
		if !ok {
			return logContext{}, fmt.Errorf("missing %s id in details: %v", f.what, details)
		}
		*f.dst = v
		delete(details, f.key)
	}
	return lc, nil
}

// logTimestamp turns a --since value into the Unix time the daemon wants:
// a duration counts back from now; a date, date-time or RFC 3339 time
// without a zone is local time; a Unix time passes through.
func logTimestamp(value string, now time.Time) (string, error) {
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return strconv.FormatInt(now.Add(-d).Unix(), 10), nil
	}
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
		"2006-01-02T15Z07:00", "2006-01-02T15", "2006-01-02Z07:00", "2006-01-02",
	} {
		if t, err := time.ParseInLocation(layout, value, now.Location()); err == nil {
			return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond()), nil
		}
	}
	if strings.Contains(value, "-") {
		return "", fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	secs, nanos, _ := strings.Cut(value, ".")
	if _, err := strconv.ParseInt(secs, 10, 64); err != nil {
		return "", fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	if _, err := strconv.ParseInt("0"+nanos, 10, 64); err != nil || len(nanos) > 9 {
		return "", fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	return value, nil
}

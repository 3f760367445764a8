package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
)

// Log files of a task, in its directory. Each line of a file is one record:
//
//	<RFC 3339 time, nanoseconds, UTC> <stdout|stderr> <line>
//
// The line is the task's line without its newline; a line longer than
// maxLine is split into several records.
const (
	logFile    = "output.log"
	logOldFile = "output.log.1"
	maxLine    = 16 << 10
)

// logStore keeps one task's output: the current file, rotated to a single
// older file when it reaches half the cap, so about the newest cap bytes
// are kept. Writers are the task's two output copiers; readers are Logs
// calls on any goroutine.
type logStore struct {
	dir  string
	half int64

	mu      sync.Mutex
	f       *os.File // the current file while the task runs
	size    int64    // of the current file
	gen     int      // rotations so far
	done    bool     // no more records will come
	changed chan struct{}
	failed  bool // a write failed (reported once)
}

func newLogStore(dir string, maxBytes int64) *logStore {
	return &logStore{dir: dir, half: maxBytes / 2, changed: make(chan struct{})}
}

// openStatic describes the files a previous daemon left: readable, final.
func openStatic(dir string, maxBytes int64) *logStore {
	s := newLogStore(dir, maxBytes)
	if fi, err := os.Stat(filepath.Join(dir, logFile)); err == nil {
		s.size = fi.Size()
	}
	s.done = true
	return s
}

// open starts the current file for a task being started.
func (s *logStore) open() error {
	f, err := os.OpenFile(filepath.Join(s.dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.mu.Lock()
	s.f, s.size, s.done = f, fi.Size(), false
	s.mu.Unlock()
	return nil
}

// write appends one record; an error is returned once, then writes are
// dropped quietly (the copier must keep draining the task's pipe).
func (s *logStore) write(stream exec.LogStream, t time.Time, line []byte) error {
	rec := make([]byte, 0, len(line)+48)
	rec = t.UTC().AppendFormat(rec, time.RFC3339Nano)
	rec = append(rec, ' ')
	rec = append(rec, stream.String()...)
	rec = append(rec, ' ')
	rec = append(rec, line...)
	rec = append(rec, '\n')

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || s.failed {
		return nil
	}
	err := s.rotateFor(int64(len(rec)))
	if err == nil {
		_, err = s.f.Write(rec)
	}
	if err != nil {
		s.failed = true
		return err
	}
	s.size += int64(len(rec))
	s.notify()
	return nil
}

// rotateFor makes room for n more bytes; s.mu is held.
func (s *logStore) rotateFor(n int64) error {
	if s.size == 0 || s.size+n <= s.half {
		return nil
	}
	if err := s.f.Close(); err != nil {
		return err
	}
	cur := filepath.Join(s.dir, logFile)
	if err := os.Rename(cur, filepath.Join(s.dir, logOldFile)); err != nil {
		return err
	}
	f, err := os.OpenFile(cur, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	s.f, s.size = f, 0
	s.gen++
	return nil
}

// finish closes the current file: the task has exited and its output is
// all written. Followers then return.
func (s *logStore) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.done = true
	s.notify()
}

// notify wakes the followers; s.mu is held.
func (s *logStore) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// copyLines reads a task's stream until EOF and stores it line by line.
func (s *logStore) copyLines(r io.Reader, stream exec.LogStream, onErr func(error)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if werr := s.write(stream, time.Now(), bytes.TrimSuffix(line, []byte{'\n'})); werr != nil {
				onErr(werr)
			}
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		default:
			return // EOF, or the read end was closed
		}
	}
}

// cursor is how far a follower has read: a position in the file that was
// current at rotation number gen.
type cursor struct {
	gen int
	off int64
}

// files opens what a reader at c should read next, under s.mu so no
// rotation happens in between: the rest of the older file when the
// current one was rotated since (or all of it when c is lost), then the
// current file up to its present size. It returns the new cursor.
func (s *logStore) files(c *cursor) (parts []filePart, next cursor, done bool, changed <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next = cursor{gen: s.gen, off: s.size}
	switch {
	case c != nil && c.gen == s.gen:
		parts = append(parts, openPart(s.dir, logFile, c.off, s.size))
	case c != nil && c.gen == s.gen-1:
		parts = append(parts, openPart(s.dir, logOldFile, c.off, -1))
		parts = append(parts, openPart(s.dir, logFile, 0, s.size))
	default: // from the start, or rotated twice since: what was between is gone
		parts = append(parts, openPart(s.dir, logOldFile, 0, -1))
		parts = append(parts, openPart(s.dir, logFile, 0, s.size))
	}
	return parts, next, s.done, s.changed
}

// filePart is a byte range of an open log file (end -1: to its end).
type filePart struct {
	f        *os.File
	off, end int64
}

func openPart(dir, name string, off, end int64) filePart {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return filePart{} // not there (yet, or any more): nothing to read
	}
	return filePart{f: f, off: off, end: end}
}

// records reads the records of the parts and closes them.
func records(parts []filePart, opts exec.LogOptions, fn func(exec.LogMessage) error) error {
	defer func() {
		for _, p := range parts {
			if p.f != nil {
				p.f.Close()
			}
		}
	}()
	for _, p := range parts {
		if p.f == nil {
			continue
		}
		var r io.Reader = io.NewSectionReader(p.f, p.off, 1<<62)
		if p.end >= 0 {
			r = io.NewSectionReader(p.f, p.off, max(p.end-p.off, 0))
		}
		if err := scanRecords(r, opts, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanRecords(r io.Reader, opts exec.LogOptions, fn func(exec.LogMessage) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine+256)
	for sc.Scan() {
		m, ok := parseRecord(sc.Bytes())
		if !ok || !opts.Wants(m.Stream, m.Time) {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return sc.Err()
}

// parseRecord reads one record; the line is copied.
func parseRecord(b []byte) (exec.LogMessage, bool) {
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return exec.LogMessage{}, false
	}
	name, line, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return exec.LogMessage{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return exec.LogMessage{}, false
	}
	stream, err := exec.ParseLogStream(string(name))
	if err != nil {
		return exec.LogMessage{}, false
	}
	return exec.LogMessage{Stream: stream, Time: t, Line: bytes.Clone(line)}, true
}

// logs serves a Logs call: the past lines (filtered, then tailed), then,
// when following, new lines until the task is done or ctx ends.
func (s *logStore) logs(ctx context.Context, opts exec.LogOptions, w exec.LogWriter) error {
	parts, cur, done, changed := s.files(nil)
	var past []exec.LogMessage
	err := records(parts, opts, func(m exec.LogMessage) error {
		past = append(past, m)
		// len(past)-Tail > Tail, not len(past) > 2*Tail: a Tail past
		// MaxInt/2 (from the request, e.g. docker service logs --tail
		// 5000000000000000000) would overflow and cut past at a negative index.
		if opts.Tail > 0 && len(past)-opts.Tail > opts.Tail {
			past = append(past[:0], past[len(past)-opts.Tail:]...) // keep memory bounded
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrClosed) {
		return err
	}
	switch {
	case opts.Tail == exec.NoTail:
		past = nil
	case opts.Tail > 0 && len(past) > opts.Tail:
		past = past[len(past)-opts.Tail:]
	}
	for _, m := range past {
		if err := w.WriteLog(ctx, m); err != nil {
			return err
		}
	}
	for opts.Follow && !done {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
		parts, cur, done, changed = s.files(&cur)
		err := records(parts, opts, func(m exec.LogMessage) error { return w.WriteLog(ctx, m) })
		if err != nil {
			return err
		}
	}
	return nil
}

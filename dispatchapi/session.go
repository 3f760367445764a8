package dispatchapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/shoal-project/shoal/swarm"
)

// PathSession is a node's session with the managers: one long-lived call
// whose request body is a stream of HeartbeatRequest values and whose
// response body answers each with a SessionMessage. A heartbeat on an open
// session costs a frame each way; as one request each, a thousand nodes'
// heartbeats (and the followers forwarding them) had taken most of a core.
const PathSession = "/rpc/session"

// PathPing is answered by the manager itself (never forwarded), at once:
// a node whose session went quiet tells with it a slow manager, which it
// keeps, from a frozen or unreachable one, which it leaves.
const PathPing = "/rpc/ping"

// SessionMessage answers one heartbeat: how to go on, or the error that
// ends the session.
type SessionMessage struct {
	Heartbeat *HeartbeatResponse `json:",omitempty"`
	Error     *Error             `json:",omitempty"`
}

// ErrSessionClosed is why a session ended that was closed, or whose
// stream ended without an error from the manager.
var ErrSessionClosed = errors.New("dispatchapi: session closed")

// sendQueue bounds the heartbeats waiting to be written: a stream that
// takes none is stuck.
const sendQueue = 4

// Session is the node's side of an open session with one manager.
// Heartbeats are pipelined: Send does not wait for the previous answer, so
// a manager that answers late still hears from the node every period.
type Session struct {
	addr    string
	cancel  context.CancelFunc
	sendq   chan []byte
	answers chan HeartbeatResponse // closed when the stream ended
	wg      sync.WaitGroup

	mu  sync.Mutex
	err error // why the stream ended
}

// OpenSession starts a session with the manager at addr. It does not wait
// for the manager: answers come on Answers.
func OpenSession(ctx context.Context, c *http.Client, addr string) *Session {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	s := &Session{addr: addr, cancel: cancel, sendq: make(chan []byte, sendQueue),
		answers: make(chan HeartbeatResponse, sendQueue)}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		defer close(s.answers)
		err := s.read(ctx, c, pr)
		s.setErr(err)
		pr.CloseWithError(err)
	}()
	go func() {
		defer s.wg.Done()
		s.write(ctx, pw)
	}()
	return s
}

// Addr is the manager the session is with.
func (s *Session) Addr() string { return s.addr }

// Send queues a heartbeat; false if the session cannot take it (ended, or
// so many are waiting to be written that the stream is stuck).
func (s *Session) Send(req HeartbeatRequest) bool {
	b, err := json.Marshal(req)
	if err != nil {
		return false
	}
	select {
	case s.sendq <- append(b, '\n'):
		return true
	default:
		return false
	}
}

// Answers delivers the manager's answers in order; it is closed when the
// session ends (Err says why).
func (s *Session) Answers() <-chan HeartbeatResponse { return s.answers }

// Err is why the session ended, once Answers is closed.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return ErrSessionClosed
	}
	return s.err
}

func (s *Session) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// write copies queued heartbeats into the request body until the session
// ends.
func (s *Session) write(ctx context.Context, pw *io.PipeWriter) {
	defer pw.CloseWithError(ErrSessionClosed)
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-s.sendq:
			if _, err := pw.Write(b); err != nil {
				return
			}
		}
	}
}

// read makes the call and hands over each answer until the stream ends.
func (s *Session) read(ctx context.Context, c *http.Client, body io.Reader) error {
	resp, err := post(ctx, c, s.addr, PathSession, body) // an error: refused before the stream started
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var m SessionMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return ErrSessionClosed
			}
			return err
		}
		switch {
		case m.Error != nil:
			return m.Error.Err()
		case m.Heartbeat == nil:
			return fmt.Errorf("dispatchapi: session with %s: an answer without a heartbeat", s.addr)
		}
		select {
		case s.answers <- *m.Heartbeat:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close ends the session and waits for its goroutines.
func (s *Session) Close() {
	s.setErr(ErrSessionClosed)
	s.cancel()
	s.wg.Wait()
}

// ServeSession serves a node's session on the manager: each heartbeat read
// from the request body is answered by beat, in order, until the node
// closes its side, the request ends, or beat fails (the error is sent,
// then the session ends). The caller has checked who the node is.
func ServeSession(w http.ResponseWriter, r *http.Request, beat func(context.Context, HeartbeatRequest) (HeartbeatResponse, error)) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}
	bs := &boundedStream{r: r.Body}
	dec := json.NewDecoder(bs)
	bs.dec = dec
	enc := json.NewEncoder(w)
	for {
		var req HeartbeatRequest
		var m SessionMessage
		err := dec.Decode(&req)
		switch {
		case errors.Is(err, io.EOF) || r.Context().Err() != nil:
			return
		case errors.Is(err, swarm.ErrTooLarge):
		case err != nil:
			err = swarm.Errorf(swarm.ErrInvalidArgument, "malformed heartbeat: %v", err)
		default:
			var resp HeartbeatResponse
			if resp, err = beat(r.Context(), req); err == nil {
				m.Heartbeat = &resp
			}
		}
		if err != nil {
			e := ErrorOf(err)
			m.Error = &e
		}
		if enc.Encode(m) != nil || rc.Flush() != nil || err != nil {
			return
		}
	}
}

// MaxHeartbeatBytes bounds one heartbeat on a session (an address and a
// time: about a hundred bytes).
const MaxHeartbeatBytes = 64 << 10

// boundedStream feeds a session's decoder and refuses to read on while the
// decoder holds more than MaxHeartbeatBytes of a value it has not finished:
// a stream of messages has no length to bound, each message has.
type boundedStream struct {
	r    io.Reader
	dec  *json.Decoder
	read int64
}

func (b *boundedStream) Read(p []byte) (int, error) {
	if b.read-b.dec.InputOffset() > MaxHeartbeatBytes {
		return 0, swarm.Errorf(swarm.ErrTooLarge, "heartbeat too large: more than %d bytes", MaxHeartbeatBytes)
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

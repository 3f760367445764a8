package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shoal-project/shoal/client"
)

// OpKind is what a recorded operation did.
type OpKind int

// Operations on services.
const (
	OpCreate OpKind = iota // create a service (name, replicas, value)
	OpUpdate               // update a service read before (compare value, set replicas and value)
	OpRead                 // inspect one service, or one service seen in a list
)

func (k OpKind) String() string {
	return [...]string{"create", "update", "read"}[k]
}

// IsWrite reports whether the operation may change the cluster state.
func (k OpKind) IsWrite() bool { return k != OpRead }

// Outcome is what the client learnt of an operation.
type Outcome int

// Outcomes.
const (
	// OK: the daemon acknowledged the operation.
	OK Outcome = iota
	// Failed: the operation certainly had no effect.
	Failed
	// Unknown: the operation may or may not have taken effect (timeout,
	// connection lost mid-request, a 503 after forwarding or proposing).
	Unknown
)

func (o Outcome) String() string {
	return [...]string{"ok", "failed", "unknown"}[o]
}

// Reasons of a definite failure the model understands.
const (
	RejectExists    = "exists"    // create: 409, the name is taken
	RejectNotFound  = "notfound"  // 404, no such service
	RejectOutOfSeq  = "outofseq"  // update: the version read is no longer current
	RejectInvalid   = "invalid"   // 400
	RejectNoConnect = "noconnect" // the socket could not be dialled: nothing was sent
	RejectNoLeader  = "noleader"  // a read refused for want of a leader
)

// Op is one recorded operation on one service (the key).
type Op struct {
	Client int
	Kind   OpKind
	Target string // host whose socket served the request
	Key    string // service name

	// Inputs of writes.
	Replicas uint64
	Value    string
	Expect   string // update: the value read before, whose version is sent

	Start, End time.Time
	Outcome    Outcome
	Reject     string // reason of a Failed outcome, or ""
	Status     int    // HTTP status of an error answer
	Err        string

	// Result of reads.
	Found        bool
	ReadReplicas uint64
	ReadValue    string
}

// Duration is how long the client waited.
func (o *Op) Duration() time.Duration { return o.End.Sub(o.Start) }

func (o *Op) String() string {
	s := fmt.Sprintf("client %d %s %s via %s [%s +%v]", o.Client, o.Kind, o.Key, o.Target,
		o.Start.Format("15:04:05.000"), o.Duration().Round(time.Millisecond))
	switch o.Kind {
	case OpCreate:
		s += fmt.Sprintf(" replicas=%d value=%s", o.Replicas, o.Value)
	case OpUpdate:
		s += fmt.Sprintf(" if value=%s: replicas=%d value=%s", o.Expect, o.Replicas, o.Value)
	}
	s += " → " + o.Outcome.String()
	if o.Reject != "" {
		s += " (" + o.Reject + ")"
	}
	if o.Kind == OpRead && o.Outcome == OK {
		if o.Found {
			s += fmt.Sprintf(" replicas=%d value=%s", o.ReadReplicas, o.ReadValue)
		} else {
			s += " not found"
		}
	}
	if o.Err != "" {
		s += ": " + o.Err
	}
	return s
}

// History is the operations of a run, in the order they were recorded.
type History struct {
	mu  sync.Mutex
	ops []*Op
}

// Add records an operation.
func (h *History) Add(op *Op) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns a copy of the recorded operations.
func (h *History) Ops() []*Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Op(nil), h.ops...)
}

// classify sets op's outcome from the error of its request. Writes are
// Failed only when they certainly had no effect; a 503 may come from a
// proposal whose leadership was lost after appending, or from a forwarding
// proxy whose leader did commit, so it leaves a write Unknown.
func classify(ctx context.Context, op *Op, err error) {
	if err == nil {
		op.Outcome = OK
		return
	}
	op.Err = err.Error()
	var apiErr *client.Error
	switch {
	case errors.As(err, &apiErr):
		op.Status = apiErr.StatusCode
		switch {
		case apiErr.StatusCode == http.StatusConflict && op.Kind == OpCreate:
			op.Outcome, op.Reject = Failed, RejectExists
		case apiErr.StatusCode == http.StatusNotFound:
			op.Outcome, op.Reject = Failed, RejectNotFound
		case apiErr.StatusCode == http.StatusInternalServerError && strings.Contains(apiErr.Message, "out of sequence"):
			op.Outcome, op.Reject = Failed, RejectOutOfSeq
		case apiErr.StatusCode == http.StatusBadRequest:
			op.Outcome, op.Reject = Failed, RejectInvalid
		case apiErr.StatusCode == http.StatusServiceUnavailable && !op.Kind.IsWrite():
			op.Outcome, op.Reject = Failed, RejectNoLeader
		default:
			op.Outcome = Unknown
		}
	case neverSent(err):
		op.Outcome, op.Reject = Failed, RejectNoConnect
	case ctx.Err() != nil:
		op.Outcome, op.Err = Unknown, "timeout: "+op.Err
	default:
		op.Outcome = Unknown
	}
}

// neverSent reports a request that failed while dialling the socket, so
// that no byte of it reached the daemon.
func neverSent(err error) bool {
	var connErr *client.ConnectError
	if !errors.As(err, &connErr) {
		return false
	}
	var opErr *net.OpError
	return errors.As(connErr.Err, &opErr) && opErr.Op == "dial"
}

// clearNoLeader reports an answer that tells the user the swarm has no
// leader (Docker's message, status 503).
func clearNoLeader(op *Op) bool {
	return op.Status == http.StatusServiceUnavailable && strings.Contains(op.Err, "does not have a leader")
}

package swarm

import (
	"errors"
	"fmt"
)

// Error classes. Every error a user can see wraps exactly one of them, so the
// API server and the cluster port map it to an HTTP status in one table
// (status.go: HTTPStatus), and callers can tell a retryable failure from a
// refusal without reading text.
var (
	// ErrInvalidArgument: the request is malformed or a spec is invalid (400).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNotFound: the object the request names does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a name or identity is taken (409).
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedPrecondition: the request is valid but the cluster's current
	// state forbids it, e.g. demoting the last manager (400, as Docker).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrOutOfSequence: an update named a version that is no longer current
	// (500, as Docker: swarmkit sends it with no gRPC code).
	ErrOutOfSequence = errors.New("update out of sequence")
	// ErrUnavailable: the node cannot serve this now: no leader, not a
	// manager, not in a swarm (503).
	ErrUnavailable = errors.New("unavailable")
	// ErrPermissionDenied: bad credentials, token or certificate (403).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrNotImplemented: a Docker API feature shoal does not offer (501).
	ErrNotImplemented = errors.New("not implemented")
	// ErrTooLarge: a request body or a Raft command exceeds its limit
	// (413); see limits.go.
	ErrTooLarge = errors.New("too large")
)

// classError is an error whose message is exactly what a user reads and whose
// class is one of the sentinels above.
type classError struct {
	class error
	msg   string
}

func (e *classError) Error() string { return e.msg }
func (e *classError) Unwrap() error { return e.class }

// Errorf returns an error of the given class whose text is the formatted
// message alone (no class prefix), so Docker's wording reaches users intact.
// %w verbs in format are honoured: the result also wraps those errors.
func Errorf(class error, format string, args ...any) error {
	inner := fmt.Errorf(format, args...)
	return &wrapped{classError: classError{class: class, msg: inner.Error()}, inner: inner}
}

type wrapped struct {
	classError
	inner error
}

func (e *wrapped) Unwrap() []error { return []error{e.class, e.inner} }

// Messages users rely on, in Docker's words.
const (
	MsgNoLeader         = "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online."
	MsgNotManagerWorker = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager."
	MsgNotInSwarm       = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again."
	MsgAlreadyInSwarm   = "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one."
	MsgNotPartOfSwarm   = "This node is not part of a swarm"
	MsgLeaveLastManager = "You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message."
)

// Common errors, ready made.
var (
	ErrNoLeader   = Errorf(ErrUnavailable, MsgNoLeader)
	ErrNotManager = Errorf(ErrUnavailable, MsgNotManagerWorker)
	ErrNotInSwarm = Errorf(ErrUnavailable, MsgNotInSwarm)
)

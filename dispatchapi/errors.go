package dispatchapi

import (
	"errors"
	"net/http"

	"github.com/shoal-project/shoal/swarm"
)

// classInternal is the wire name of an error of no class.
const classInternal = "internal"

// classNames are the error classes' names on the wire. They are the
// protocol between nodes of different versions: never rename one. Which class
// an error has, and its HTTP status, come from swarm's one table
// (swarm.ClassOf, swarm.HTTPStatus).
var classNames = map[error]string{
	swarm.ErrInvalidArgument:    "invalid-argument",
	swarm.ErrNotFound:           "not-found",
	swarm.ErrAlreadyExists:      "already-exists",
	swarm.ErrFailedPrecondition: "failed-precondition",
	swarm.ErrOutOfSequence:      "out-of-sequence",
	swarm.ErrUnavailable:        "unavailable",
	swarm.ErrPermissionDenied:   "permission-denied",
	swarm.ErrNotImplemented:     "not-implemented",
	swarm.ErrTooLarge:           "too-large",
}

// classes is classNames the other way: a wire name to its class.
var classes = func() map[string]error {
	m := make(map[string]error, len(classNames))
	for class, name := range classNames {
		m[name] = class
	}
	return m
}()

// ErrorOf encodes err for the wire, with its class (the first of swarm's
// table that it wraps, so an error of two classes always travels as the
// same one).
func ErrorOf(err error) Error {
	if name, ok := classNames[swarm.ClassOf(err)]; ok {
		return Error{Class: name, Message: err.Error()}
	}
	return Error{Class: classInternal, Message: err.Error()}
}

// Err rebuilds the error a peer sent, with its class.
func (e Error) Err() error {
	class, ok := classes[e.Class]
	if !ok {
		return errors.New(e.Message)
	}
	return swarm.Errorf(class, "%s", e.Message)
}

// StatusCode is the HTTP status an RPC error travels with: its class's, as
// the Docker API answers it (a forwarded Docker API request is answered
// with it too); 500 for a class this node does not know.
func (e Error) StatusCode() int {
	class, ok := classes[e.Class]
	if !ok {
		return http.StatusInternalServerError
	}
	return swarm.HTTPStatus(class)
}

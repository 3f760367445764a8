package dispatchapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

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

// Err rebuilds the error a peer sent, with its class. A blank message
// (a peer's bug, or garbage) is replaced by one naming the class, so an
// error never reads as nothing.
func (e Error) Err() error {
	msg := e.Message
	if strings.TrimSpace(msg) == "" {
		msg = fmt.Sprintf("the peer answered an error of class %q without a message", e.Class)
	}
	class, ok := classes[e.Class]
	if !ok {
		return errors.New(msg)
	}
	return swarm.Errorf(class, "%s", msg)
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

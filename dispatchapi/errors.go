package dispatchapi

import (
	"errors"

	"github.com/shoal-project/shoal/swarm"
)

var classes = map[string]error{
	"invalid-argument":    swarm.ErrInvalidArgument,
	"not-found":           swarm.ErrNotFound,
	"already-exists":      swarm.ErrAlreadyExists,
	"failed-precondition": swarm.ErrFailedPrecondition,
	"out-of-sequence":     swarm.ErrOutOfSequence,
	"unavailable":         swarm.ErrUnavailable,
	"permission-denied":   swarm.ErrPermissionDenied,
	"not-implemented":     swarm.ErrNotImplemented,
	"too-large":           swarm.ErrTooLarge,
}

// ErrorOf encodes err for the wire.
func ErrorOf(err error) Error {
	for name, class := range classes {
		if errors.Is(err, class) {
			return Error{Class: name, Message: err.Error()}
		}
	}
	return Error{Class: "internal", Message: err.Error()}
}

// Err rebuilds the error a peer sent, with its class.
func (e Error) Err() error {
	class, ok := classes[e.Class]
	if !ok {
		return errors.New(e.Message)
	}
	return swarm.Errorf(class, "%s", e.Message)
}

// StatusCode is the HTTP status an RPC error travels with.
func (e Error) StatusCode() int {
	switch e.Class {
	case "invalid-argument", "failed-precondition", "out-of-sequence":
		return 400
	case "not-found":
		return 404
	case "already-exists":
		return 409
	case "unavailable":
		return 503
	case "permission-denied":
		return 403
	case "not-implemented":
		return 501
	case "too-large":
		return 413
	}
	return 500
}

package ca

import "github.com/shoal-project/shoal/swarm"

// Errors this package returns, each of a swarm error class so that callers
// and the API server can classify them with errors.Is. Errors that carry
// details (a bad certificate, a fingerprint mismatch) are built with
// swarm.Errorf at the point of failure and are classed as well.
var (
	// ErrNoSigningKey: Sign was called on a root that holds no key, such as
	// a worker's copy of the root.
	ErrNoSigningKey = swarm.Errorf(swarm.ErrFailedPrecondition, "ca: root CA has no signing key")

	// ErrNoPeerCertificate: the connection has no verified peer certificate,
	// e.g. a joining node that connected with only a join token.
	ErrNoPeerCertificate = swarm.Errorf(swarm.ErrPermissionDenied, "ca: no verified peer certificate")

	// ErrInvalidJoinToken: a join token is malformed (Swarm's wording).
	ErrInvalidJoinToken = swarm.Errorf(swarm.ErrInvalidArgument, "invalid join token")

	// ErrJoinTokenRejected: a well-formed token is not one of the cluster's
	// current tokens (Swarm's wording, returned by its CA as InvalidArgument).
	ErrJoinTokenRejected = swarm.Errorf(swarm.ErrInvalidArgument, MsgJoinTokenRejected)
)

// MsgJoinTokenRejected is Swarm's message for a join token that is not one of
// the cluster's current tokens.
const MsgJoinTokenRejected = "A valid join token is necessary to join this cluster"

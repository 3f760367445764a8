package swarm

import (
	"errors"
	"net/http"
)

// classStatus is one error class and the HTTP status Docker answers for it.
type classStatus struct {
	class  error
	status int
}

// classStatuses is the one table from an error class to an HTTP status,
// read by the Docker API (apiserver), by forwarded Docker API requests and by
// the cluster-port RPCs (dispatchapi).
//
// The statuses are Docker's. moby's api/server/httpstatus maps its errdefs
// classes (NotFound 404, InvalidParameter 400, Conflict 409, Unavailable
// 503, Forbidden 403, NotImplemented 501) and, for errors coming from
// swarmkit, their gRPC codes (InvalidArgument and FailedPrecondition 400,
// NotFound 404, AlreadyExists 409, PermissionDenied 403, Unimplemented 501,
// Unavailable 503, anything else 500). swarmkit's controlapi returns
// "update out of sequence" (store.ErrSequenceConflict) as a plain error,
// gRPC code Unknown, which moby answers with 500: so does shoal.
// ErrTooLarge has no Docker counterpart (moby bounds no request body); 413
// is shoal's own choice.
//
// The order is moby's: httpstatus.FromError tests NotFound, then
// InvalidParameter, Conflict, Unavailable, Forbidden, NotImplemented. An
// error that wraps two classes gets the status of the first one listed, so
// it always gets the same status, the one Docker would give it.
var classStatuses = [...]classStatus{
	{ErrNotFound, http.StatusNotFound},
	{ErrInvalidArgument, http.StatusBadRequest},
	{ErrFailedPrecondition, http.StatusBadRequest},
	{ErrAlreadyExists, http.StatusConflict},
	{ErrUnavailable, http.StatusServiceUnavailable},
	{ErrPermissionDenied, http.StatusForbidden},
	{ErrNotImplemented, http.StatusNotImplemented},
	{ErrTooLarge, http.StatusRequestEntityTooLarge},
	{ErrOutOfSequence, http.StatusInternalServerError},
}

// Classes returns the error classes, in the order ClassOf tries them.
func Classes() []error {
	out := make([]error, len(classStatuses))
	for i, cs := range classStatuses {
		out[i] = cs.class
	}
	return out
}

// ClassOf returns the class of err: the first class of the table that err
// wraps (errors.Is), or nil if it wraps none.
func ClassOf(err error) error {
	for _, cs := range classStatuses {
		if errors.Is(err, cs.class) {
			return cs.class
		}
	}
	return nil
}

// HTTPStatus is the HTTP status Docker answers for err: its class's, or 500
// for an error of no class.
func HTTPStatus(err error) int {
	for _, cs := range classStatuses {
		if errors.Is(err, cs.class) {
			return cs.status
		}
	}
	return http.StatusInternalServerError
}

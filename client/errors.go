package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an HTTP error answer of the daemon (status >= 400). Its text is
// the daemon's message alone; the CLI adds "Error response from daemon: ".
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the daemon's message: the "message" member of a JSON error
	// body, else the trimmed body itself.
	Message string
	// NoBody is set when the answer carried no body at all. Message then is
	// the client's own description of the failure, not the daemon's words.
	NoBody bool
}

func (e *Error) Error() string { return e.Message }

// IsNotFound reports whether err is a daemon answer with status 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnavailable reports whether err is a daemon answer with status 503
// (no leader, not a manager, not in a swarm).
func IsUnavailable(err error) bool { return hasStatus(err, http.StatusServiceUnavailable) }

func hasStatus(err error, code int) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == code
}

// ConnectError reports that no endpoint could be reached: every one failed at
// the connection level. Err is the last failure.
type ConnectError struct {
	Hosts []string
	Err   error
}

// Error reads like the docker CLI's "Cannot connect" message, naming every
// endpoint tried. Its capital letter is Docker's wording, kept on purpose.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("Cannot connect to the shoal daemon at %s. Is the daemon running?", strings.Join(e.Hosts, ", "))
}

func (e *ConnectError) Unwrap() error { return e.Err }

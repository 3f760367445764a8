package swarm

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// dockerStatus is what Docker answers for each class, written out here
// rather than read from the table it checks (see classStatuses for the
// sources in moby and swarmkit).
var dockerStatus = map[error]int{
	ErrInvalidArgument:    http.StatusBadRequest,          // errdefs InvalidParameter; gRPC InvalidArgument
	ErrNotFound:           http.StatusNotFound,            // errdefs NotFound; gRPC NotFound
	ErrAlreadyExists:      http.StatusConflict,            // errdefs Conflict; gRPC AlreadyExists
	ErrFailedPrecondition: http.StatusBadRequest,          // gRPC FailedPrecondition (last manager, quorum)
	ErrOutOfSequence:      http.StatusInternalServerError, // swarmkit's plain error: gRPC Unknown
	ErrUnavailable:        http.StatusServiceUnavailable,  // errdefs Unavailable; gRPC Unavailable
	ErrPermissionDenied:   http.StatusForbidden,           // errdefs Forbidden; gRPC PermissionDenied
	ErrNotImplemented:     http.StatusNotImplemented,      // errdefs NotImplemented; gRPC Unimplemented
	ErrTooLarge:           http.StatusRequestEntityTooLarge,
}

// TestEveryClassHasOneStatus: each class of errors.go is in the table once,
// and maps to Docker's status, whether bare, made by Errorf, or wrapped again.
func TestEveryClassHasOneStatus(t *testing.T) {
	seen := map[error]int{}
	for _, class := range Classes() {
		seen[class]++
	}
	for class, want := range dockerStatus {
		if seen[class] != 1 {
			t.Errorf("class %q is in the table %d times, want once", class, seen[class])
		}
		for _, err := range []error{
			class,
			Errorf(class, "some message"),
			fmt.Errorf("context: %w", Errorf(class, "some message")),
		} {
			if got := HTTPStatus(err); got != want {
				t.Errorf("HTTPStatus(%q of class %q) = %d, want %d", err, class, got, want)
			}
			if got := ClassOf(err); got != class {
				t.Errorf("ClassOf(%q) = %v, want %q", err, got, class)
			}
		}
	}
	if len(seen) != len(dockerStatus) {
		t.Errorf("the table has %d classes, the test knows %d: add the new class to dockerStatus", len(seen), len(dockerStatus))
	}
	if got := HTTPStatus(errors.New("disk on fire")); got != http.StatusInternalServerError {
		t.Errorf("an error of no class: status %d, want 500", got)
	}
	if got := ClassOf(errors.New("disk on fire")); got != nil {
		t.Errorf("an error of no class: class %v, want nil", got)
	}
}

// TestTwoClassesOneAnswer: an error that wraps two classes, in any way and
// in either order, always gets the class that comes first in the table and
// its status, the same on every call (the wire encoder used to pick one
// by ranging over a map).
func TestTwoClassesOneAnswer(t *testing.T) {
	classes := Classes()
	for i, first := range classes {
		for _, second := range classes[i+1:] {
			for _, err := range []error{
				Errorf(first, "outer: %w", Errorf(second, "inner")),
				Errorf(second, "outer: %w", Errorf(first, "inner")),
				errors.Join(first, second),
				errors.Join(second, first),
			} {
				for range 100 {
					if got := ClassOf(err); got != first {
						t.Fatalf("ClassOf(%q, classes %q and %q) = %q, want %q", err, first, second, got, first)
					}
					if got, want := HTTPStatus(err), dockerStatus[first]; got != want {
						t.Fatalf("HTTPStatus(%q, classes %q and %q) = %d, want %d", err, first, second, got, want)
					}
				}
			}
		}
	}
}

package dispatchapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// wireNames are the classes' names on the wire, written out: nodes of
// different versions read them, so a rename is a protocol change and must
// fail here.
var wireNames = map[error]string{
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

// TestEveryClassOnTheWire: every class of swarm's table travels under its
// name, comes back as the same class with the same message, and with the
// status the Docker API answers for it (one table: out of sequence was 400
// here and 500 there).
func TestEveryClassOnTheWire(t *testing.T) {
	classes := swarm.Classes()
	if len(classes) != len(wireNames) {
		t.Errorf("swarm has %d classes, the wire %d: give the new class a wire name", len(classes), len(wireNames))
	}
	for _, class := range classes {
		sent := swarm.Errorf(class, "node x: something %d", 42)
		e := dispatchapi.ErrorOf(sent)
		if e.Class != wireNames[class] || e.Message != sent.Error() {
			t.Errorf("ErrorOf(%q) = %+v, want class %q", class, e, wireNames[class])
		}
		if got, want := e.StatusCode(), swarm.HTTPStatus(sent); got != want {
			t.Errorf("class %q: status %d on the wire, %d from the Docker API", class, got, want)
		}
		got := e.Err()
		if !errors.Is(got, class) || got.Error() != sent.Error() || swarm.ClassOf(got) != class {
			t.Errorf("class %q: rebuilt as %q of class %v", class, got, swarm.ClassOf(got))
		}
	}
}

// TestUnclassifiedOnTheWire: an error of no class, or of a class this node
// does not know (a newer peer's), is a 500 and keeps its message.
func TestUnclassifiedOnTheWire(t *testing.T) {
	e := dispatchapi.ErrorOf(errors.New("disk on fire"))
	if e.Class != "internal" || e.StatusCode() != http.StatusInternalServerError {
		t.Errorf("ErrorOf(no class) = %+v, status %d", e, e.StatusCode())
	}
	newer := dispatchapi.Error{Class: "from-the-future", Message: "what"}
	if newer.StatusCode() != http.StatusInternalServerError || newer.Err().Error() != "what" || swarm.ClassOf(newer.Err()) != nil {
		t.Errorf("unknown class: status %d, error %q", newer.StatusCode(), newer.Err())
	}
}

// TestTwoClassesOneWireClass: an error that wraps two classes travels as
// the first of swarm's table, every time (ErrorOf used to range over a map
// and send either).
func TestTwoClassesOneWireClass(t *testing.T) {
	classes := swarm.Classes()
	for i, first := range classes {
		for _, second := range classes[i+1:] {
			err := swarm.Errorf(second, "outer: %w", swarm.Errorf(first, "inner"))
			for range 100 {
				if e := dispatchapi.ErrorOf(err); e.Class != wireNames[first] || e.StatusCode() != swarm.HTTPStatus(first) {
					t.Fatalf("ErrorOf(classes %q and %q) = %+v (status %d), want class %q", second, first, e, e.StatusCode(), wireNames[first])
				}
			}
		}
	}
}

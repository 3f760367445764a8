package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/common"
	"github.com/shoal-project/shoal/swarm"
)

// errPageNotFound answers unknown routes, in moby's words.
var errPageNotFound = swarm.Errorf(swarm.ErrNotFound, "page not found")

// writeError answers {"message": err.Error()} with the status of err's class
// (swarm.HTTPStatus: the one table, Docker's statuses). The docker CLI shows the message only if Content-Type is exactly
// application/json, which writeJSON sets.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := swarm.HTTPStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("api request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	if werr := writeJSON(w, code, common.ErrorResponse{Message: err.Error()}); werr != nil {
		s.log.Debug("write error response", slog.Any("err", werr))
	}
}

// writeJSON writes v as JSON followed by a newline, with
// Content-Type: application/json and HTML characters unescaped, as moby does.
// The body is encoded before anything is written, so that it goes out with
// its Content-Length (a client can then read it into one buffer).
func writeJSON(w http.ResponseWriter, code int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return writeBody(w, code, buf.Bytes())
}

// writeBody writes a JSON body already encoded, with its Content-Type and
// Content-Length.
func writeBody(w http.ResponseWriter, code int, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, err := w.Write(body)
	return err
}

// maxBody bounds a request body. moby has no limit; swarmkit bounds what a
// spec may become (one Raft entry). Here a service spec is at most
// swarm.MaxSpecBytes (512 KiB) in shoal's encoding; Docker's encoding of the
// same spec is longer (field names, empty fields), so 2 MiB holds any spec
// that can be accepted, and a larger body is refused after reading that
// much at most (before reading anything if its length is announced).
const maxBody = 2 << 20

var errBodyTooLarge = swarm.Errorf(swarm.ErrTooLarge, "request body too large: more than %d bytes", maxBody)

// readJSON decodes a JSON request body into out with moby's rules and
// wording: an empty body leaves out as it is; a body needs
// Content-Type: application/json; malformed JSON is an invalid argument.
func readJSON(r *http.Request, out any) error {
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if r.ContentLength > maxBody {
		return errBodyTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(out); err != nil {
		if mb := (*http.MaxBytesError)(nil); errors.As(err, &mb) {
			return errBodyTooLarge
		}
		if errors.Is(err, io.EOF) {
			return swarm.Errorf(swarm.ErrInvalidArgument, "invalid JSON: got EOF while reading request body")
		}
		return swarm.Errorf(swarm.ErrInvalidArgument, "invalid JSON: %w", err)
	}
	if dec.More() {
		return swarm.Errorf(swarm.ErrInvalidArgument, "unexpected content after JSON")
	}
	return nil
}

func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" && (r.Body == nil || r.ContentLength == 0) {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return swarm.Errorf(swarm.ErrInvalidArgument, "malformed Content-Type header (%s): %w", ct, err)
	}
	if mt != "application/json" {
		return swarm.Errorf(swarm.ErrInvalidArgument, "unsupported Content-Type header (%s): must be 'application/json'", ct)
	}
	return nil
}

// versionParam reads the required ?version= of an update, in moby's words:
// "invalid node version 'x': ...".
func versionParam(r *http.Request, object string) (uint64, error) {
	raw := r.URL.Query().Get("version")
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, swarm.Errorf(swarm.ErrInvalidArgument, "invalid %s version '%s': %w", object, raw, err)
	}
	return v, nil
}

// boolParam reads an optional strict boolean (true/false/1/0...); absent is
// false.
func boolParam(r *http.Request, name string) (bool, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return false, swarm.Errorf(swarm.ErrInvalidArgument, "invalid value for %s: %s", name, raw)
	}
	return v, nil
}

// flagParam reads a lenient boolean the way moby does for force=: anything
// but "", 0, no, false and none is true.
func flagParam(r *http.Request, name string) bool {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get(name))) {
	case "", "0", "no", "false", "none":
		return false
	}
	return true
}

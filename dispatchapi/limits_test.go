package dispatchapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shoal-project/shoal/dispatchapi"
)

// countReader counts what is read from r.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type repeat byte

func (b repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestSessionBoundsEachHeartbeat: a heartbeat larger than
// MaxHeartbeatBytes ends the session with a too-large error after at most
// about that much was read (a session is a stream: it has no length, each
// heartbeat has); the heartbeats before it are answered.
func TestSessionBoundsEachHeartbeat(t *testing.T) {
	body := &countReader{r: io.MultiReader(strings.NewReader(`{"Addr":"10.0.0.1:2377"}`+"\n"+`{"Addr":"`), io.LimitReader(repeat('a'), 100<<20))}
	r := httptest.NewRequest(http.MethodPost, dispatchapi.PathSession, body)
	w := httptest.NewRecorder()
	beats := 0
	dispatchapi.ServeSession(w, r, func(context.Context, dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
		beats++
		return dispatchapi.HeartbeatResponse{Period: 1}, nil
	})
	if beats != 1 {
		t.Fatalf("%d heartbeats served, want the first one only", beats)
	}
	if body.n > 2*dispatchapi.MaxHeartbeatBytes {
		t.Errorf("read %d bytes of a 100 MB heartbeat", body.n)
	}
	dec := json.NewDecoder(w.Body)
	var first, last dispatchapi.SessionMessage
	if err := dec.Decode(&first); err != nil || first.Heartbeat == nil {
		t.Fatalf("first answer %+v, %v", first, err)
	}
	if err := dec.Decode(&last); err != nil || last.Error == nil || last.Error.Class != "too-large" ||
		!strings.Contains(last.Error.Message, "heartbeat too large: more than 65536 bytes") {
		t.Fatalf("answer to the large heartbeat: %+v (%v)", last.Error, err)
	}
}

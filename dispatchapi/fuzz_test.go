package dispatchapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// sessionSeeds are streams as they travel: a node's heartbeats, and a
// manager's answers (the last one ending the session).
var sessionSeeds = []struct{ beats, answers string }{
	{
		`{"Addr":"10.0.0.2:2377","Sent":"2026-01-02T03:04:05.123456789Z"}` + "\n" + `{"Addr":"10.0.0.2:2377","Sent":"2026-01-02T03:04:06.123456789Z"}` + "\n",
		`{"Heartbeat":{"Period":1000000000,"Managers":[{"NodeID":"m1","Addr":"10.0.0.1:2377"}],"Role":"worker"}}` + "\n" +
			`{"Error":{"Class":"unavailable","Message":"rpc error: code = Unknown desc = The swarm does not have a leader."}}` + "\n",
	},
	{`{"Addr":"fail"}` + "\n", `{"Heartbeat":{"Period":5000000000,"Role":"manager"}}{}`},
	{`{"Addr":""}{"Addr":`, `{"Error":{"Class":"permission-denied","Message":"node n9 was removed from the swarm"}}`},
	{"", ""},
}

// FuzzServeSession serves a fuzzed request stream as a manager's session.
// The answer is a stream of well-formed messages: one per heartbeat read,
// in order, carrying what the manager said; an error only as the last one.
func FuzzServeSession(f *testing.F) {
	for _, s := range sessionSeeds {
		f.Add([]byte(s.beats))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		var seen []dispatchapi.HeartbeatRequest
		beat := func(_ context.Context, req dispatchapi.HeartbeatRequest) (dispatchapi.HeartbeatResponse, error) {
			seen = append(seen, req)
			if req.Addr == "fail" {
				return dispatchapi.HeartbeatResponse{}, swarm.ErrNoLeader
			}
			return answerTo(req), nil
		}
		r := httptest.NewRequest(http.MethodPost, dispatchapi.PathSession, bytes.NewReader(stream))
		rec := httptest.NewRecorder()
		dispatchapi.ServeSession(rec, r, beat)

		dec := json.NewDecoder(rec.Body)
		var got []dispatchapi.SessionMessage
		for {
			var m dispatchapi.SessionMessage
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("answer stream is not JSON: %v\n%q", err, rec.Body)
			}
			got = append(got, m)
		}
		for i, m := range got {
			last := i == len(got)-1
			switch {
			case (m.Heartbeat == nil) == (m.Error == nil):
				t.Fatalf("answer %d has neither or both of heartbeat and error: %+v", i, m)
			case m.Error != nil && !last:
				t.Fatalf("the session went on after error %d: %+v", i, m.Error)
			case m.Error != nil && m.Error.Err() == nil:
				t.Fatalf("error %d does not rebuild: %+v", i, m.Error)
			case m.Heartbeat != nil && (i >= len(seen) || !reflect.DeepEqual(*m.Heartbeat, answerTo(seen[i]))):
				t.Fatalf("answer %d is not the manager's answer to heartbeat %d", i, i)
			}
		}
		// Each heartbeat read is answered; a malformed one gets the error.
		if n := len(got); n != len(seen) && n != len(seen)+1 {
			t.Fatalf("%d heartbeats read, %d answers", len(seen), n)
		}
	})
}

// answerTo is the manager's answer in FuzzServeSession: it depends on the
// heartbeat, so that answers out of order would show.
func answerTo(req dispatchapi.HeartbeatRequest) dispatchapi.HeartbeatResponse {
	return dispatchapi.HeartbeatResponse{Period: time.Duration(len(req.Addr)) * time.Second,
		Managers: []dispatchapi.Peer{{NodeID: "m1", Addr: req.Addr}}, Role: swarm.RoleWorker}
}

// streamTransport answers every request with status and body, as a
// manager (or something posing as one) might.
type streamTransport struct {
	status int
	body   []byte
}

func (s streamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		go func() { _, _ = io.Copy(io.Discard, r.Body) }() // the pipe of heartbeats; ends with the session
	}
	return &http.Response{StatusCode: s.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(s.body)), Request: r}, nil
}

// FuzzSessionAnswers feeds a fuzzed answer stream to a node's session, and
// a fuzzed error body to Call. The node takes in order exactly the
// heartbeat answers that come before the first error or malformed message,
// ends with an error, and Close returns.
func FuzzSessionAnswers(f *testing.F) {
	for _, s := range sessionSeeds {
		f.Add(uint16(200), []byte(s.answers))
	}
	f.Add(uint16(503), []byte(`{"Class":"unavailable","Message":"The swarm does not have a leader."}`))
	f.Add(uint16(413), []byte(`{"Class":"too-large","Message":"request body too large"}`))
	f.Add(uint16(500), []byte(`{"Class":"no-such-class","Message":"boom"}`))
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		c := &http.Client{Transport: streamTransport{status: int(status), body: body}}
		want := wantAnswers(status, body)

		s := dispatchapi.OpenSession(context.Background(), c, "m1:2377")
		var got []dispatchapi.HeartbeatResponse
		for a := range s.Answers() {
			got = append(got, a)
		}
		err := s.Err()
		s.Close()
		if err == nil {
			t.Fatal("a session ended without an error")
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("got answers %+v, want %+v", got, want)
		}

		var out dispatchapi.AssignmentsResponse
		err = dispatchapi.Call(context.Background(), c, "m1:2377", dispatchapi.PathAssignments, dispatchapi.AssignmentsRequest{}, &out)
		if status >= 300 && err == nil {
			t.Fatalf("status %d was taken for an answer", status)
		}
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatal("an error without a message")
		}
	})
}

// wantAnswers is the model of a session's reader: the heartbeat answers
// before the first message that is malformed, an error, or empty.
func wantAnswers(status uint16, body []byte) []dispatchapi.HeartbeatResponse {
	if status >= 300 {
		return nil
	}
	var out []dispatchapi.HeartbeatResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		var m dispatchapi.SessionMessage
		if dec.Decode(&m) != nil || m.Error != nil || m.Heartbeat == nil {
			return out
		}
		out = append(out, *m.Heartbeat)
	}
}

package manager

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// bodyTransport answers every request with 200 and body: a worker's
// answer to the manager's logs request.
type bodyTransport struct{ body []byte }

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// FuzzTaskLogStream feeds a worker's answer to a logs request (a stream
// of JSON log lines, one a line) to the manager's reader. It never panics;
// it passes on, in order, exactly the records before the first malformed
// or oversized one (a worker's records are small: a line of a task's
// output is at most 16 KiB, and a manager must not buffer whatever a
// worker sends as one record); each is labelled with the task the manager
// asked about, whatever the stream says.
func FuzzTaskLogStream(f *testing.F) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var seed bytes.Buffer
	enc := json.NewEncoder(&seed)
	for i, line := range []string{"hello", "", "a line with \"quotes\" and \x00", strings.Repeat("x", 16<<10)} {
		_ = enc.Encode(dispatchapi.LogLine{Stream: 1 + i%2, Timestamp: t0.Add(time.Duration(i) * time.Second), Line: []byte(line)})
	}
	f.Add(seed.Bytes())
	f.Add([]byte(`{"Stream":1,"Timestamp":"2026-01-02T03:04:05Z","Line":"aGk="}` + "\n" + `{"Stream":7,"Line":null}` + "\n" + `{"Stream":`))
	f.Add([]byte(`{"Line":"` + strings.Repeat("QUFB", maxLogRecord/4) + `"}` + "\n"))

	p := storetest.NewProposer()
	n := &swarm.Node{ID: "n2", Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
		Status: swarm.NodeStatus{State: swarm.NodeStateReady, ClusterAddr: "10.0.0.2:2377"}}
	if err := p.Propose(context.Background(), store.NewCreateNode(n)); err != nil {
		f.Fatal(err)
	}
	task := &swarm.Task{ID: "t1", ServiceID: "s1", NodeID: "n2"}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := &Manager{store: p.Store, log: slog.New(slog.DiscardHandler)}
		m.client.Store(&http.Client{Transport: bodyTransport{body: body}})
		var got []controlapi.LogMessage
		err := logSource{m}.TaskLogs(context.Background(), task, controlapi.LogOptions{Stdout: true, Stderr: true, Tail: -1},
			func(msg controlapi.LogMessage) error { got = append(got, msg); return nil })

		want, clean, ok := wantLogRecords(body)
		if !ok {
			return
		}
		if clean != (err == nil) {
			t.Fatalf("stream ended with %v; a clean stream: %v", err, clean)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records passed on, want %d", len(got), len(want))
		}
		for i, msg := range got {
			w := want[i]
			if msg.TaskID != task.ID || msg.NodeID != task.NodeID || msg.ServiceID != task.ServiceID ||
				msg.Stream != w.Stream || !msg.Timestamp.Equal(w.Timestamp) || !bytes.Equal(msg.Line, append(w.Line, '\n')) {
				t.Fatalf("record %d: got %+v, want %+v", i, msg, w)
			}
		}
	})
}

// wantLogRecords is the model of the reader: the records of body, one a
// line, up to the first that is too long or not a record; clean is false
// if there was such a one. ok is false for a line too close to the limit
// to say (the newline may or may not count).
func wantLogRecords(body []byte) (out []dispatchapi.LogLine, clean, ok bool) {
	lines := bytes.Split(body, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the newline that ends the last record
	}
	for _, line := range lines {
		switch n := len(line); {
		case n > maxLogRecord-4 && n < maxLogRecord+4:
			return nil, false, false
		case n > maxLogRecord:
			return out, false, true
		}
		var l dispatchapi.LogLine
		if json.Unmarshal(bytes.TrimSuffix(line, []byte("\r")), &l) != nil {
			return out, false, true
		}
		out = append(out, l)
	}
	return out, true, true
}

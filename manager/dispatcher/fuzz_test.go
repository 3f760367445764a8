package dispatcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// FuzzNodeReports feeds what a worker sends on the cluster port to the
// leader's dispatcher: a task status report (the body of
// dispatchapi.PathTaskStatus, decoded as the manager decodes it) and a
// stream of heartbeats (its session). A report about another node's task
// is refused whole and changes nothing; the worker's own task only moves
// forward; another node's task never changes. Whatever the heartbeats'
// clocks say, the silence the dispatcher forgives stays within 0 and the
// grace period.
func FuzzNodeReports(f *testing.F) {
	running, _ := json.Marshal(dispatchapi.TaskStatusRequest{Updates: []dispatchapi.TaskStatusUpdate{
		{TaskID: "t1", Status: swarm.TaskStatus{State: swarm.TaskRunning, Message: "started", Timestamp: time.Unix(1700000000, 0).UTC()}},
	}})
	failed, _ := json.Marshal(dispatchapi.TaskStatusRequest{Updates: []dispatchapi.TaskStatusUpdate{
		{TaskID: "t1", Status: swarm.TaskStatus{State: swarm.TaskFailed, Err: "task: non-zero exit (1)", ExitCode: 1}},
		{TaskID: "gone", Status: swarm.TaskStatus{State: swarm.TaskComplete}},
	}})
	other, _ := json.Marshal(dispatchapi.TaskStatusRequest{Updates: []dispatchapi.TaskStatusUpdate{
		{TaskID: "t2", Status: swarm.TaskStatus{State: swarm.TaskComplete}},
	}})
	beats := `{"Addr":"10.0.0.2:2377","Sent":"2026-01-02T03:04:05Z"}{"Addr":"10.0.0.2:2377","Sent":"2026-01-02T03:04:06.5Z"}{"Addr":"10.0.0.2:2377"}`
	f.Add(running, []byte(beats))
	f.Add(failed, []byte(`{"Addr":"10.0.0.2:2377","Sent":"2026-01-02T03:04:05Z"}`))
	f.Add(other, []byte(`{"Sent":"2400-01-01T00:00:00Z"}{"Sent":"2026-01-02T03:04:05Z"}{"Sent":"2026-01-02T03:04:05Z"}`))
	f.Add([]byte(`{"Updates":[{"TaskID":"t1","Status":{"State":"remove"}}]}`), []byte(`{"Sent":"1900-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, report, session []byte) {
		checkReport(t, report)
		checkLateness(t, session)
	})
}

func checkReport(t *testing.T, body []byte) {
	var req dispatchapi.TaskStatusRequest
	if json.Unmarshal(body, &req) != nil {
		return // the manager answers "malformed request"
	}
	p, d := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	placeTask(t, p, "t1", "w1")
	placeTask(t, p, "t2", "m1")
	var before bytes.Buffer
	must(t, p.Store.Save(&before))
	t1, _ := store.GetTask(p.Store.ReadTxn(), "t1")
	t2, _ := store.GetTask(p.Store.ReadTxn(), "t2")

	err := d.UpdateTaskStatus(ctx, "w1", req)
	switch {
	case errors.Is(err, swarm.ErrPermissionDenied):
		var after bytes.Buffer
		must(t, p.Store.Save(&after))
		if !bytes.Equal(before.Bytes(), after.Bytes()) {
			t.Fatalf("a refused report (%v) changed the store", err)
		}
		return
	case err != nil:
		t.Fatalf("report: %v", err)
	}
	for _, u := range req.Updates {
		if u.TaskID == "t2" {
			t.Fatal("a report about another node's task was accepted")
		}
	}
	now1, _ := store.GetTask(p.Store.ReadTxn(), "t1")
	if now1.Status.State != t1.Status.State && !swarm.CanTransition(t1.Status.State, now1.Status.State) {
		t.Fatalf("t1 moved from %s to %s", t1.Status.State, now1.Status.State)
	}
	if now2, _ := store.GetTask(p.Store.ReadTxn(), "t2"); !reflect.DeepEqual(now2, t2) {
		t.Fatalf("another node's task changed: %+v", now2)
	}
}

// checkLateness feeds the heartbeats of a session to the lateness
// estimate, one a second, as the liveness loop does.
func checkLateness(t *testing.T, session []byte) {
	const grace = 3 * time.Second
	l := newLateness()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dec := json.NewDecoder(bytes.NewReader(session))
	for i := 0; ; i++ {
		var req dispatchapi.HeartbeatRequest
		if dec.Decode(&req) != nil {
			break
		}
		l.observe(swarm.NodeID([]string{"w1", "w2"}[i%2]), req.Sent, now.Add(time.Duration(i)*time.Second))
		if i%3 == 2 {
			l.tick()
		}
		if s := l.slack(grace); s < 0 || s > grace {
			t.Fatalf("heartbeat %d (sent %v): slack %v outside [0, %v]", i, req.Sent, s, grace)
		}
	}
}

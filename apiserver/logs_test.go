package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/shoal-project/shoal/manager/controlapi"
	"github.com/shoal-project/shoal/swarm"
)

// frame is one stdcopy frame as the docker CLI reads it.
func frame(stream byte, payload string) []byte {
	hdr := []byte{stream, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func details(node swarm.NodeID, svc swarm.ServiceID, task swarm.TaskID) string {
	return "com.docker.swarm.node.id=" + string(node) + ",com.docker.swarm.service.id=" + string(svc) + ",com.docker.swarm.task.id=" + string(task)
}

// What `docker service logs ping` asks for.
const cliLogsQuery = "?details=1&stderr=1&stdout=1&tail=all"

func TestServiceLogsFraming(t *testing.T) {
	f, fx := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/services/ping/logs"+cliLogsQuery, "")
	body := readBody(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.docker.multiplexed-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	var want bytes.Buffer
	want.Write(frame(1, details(leaderID, pingID, ping1ID)+" hello 1\n"))
	want.Write(frame(2, details(workerID, pingID, ping2ID)+" oops 2\n"))
	want.Write(frame(1, details(leaderID, pingID, ping1ID)+" hello 3\n"))
	if body != want.String() {
		t.Errorf("body\n got %q\nwant %q", body, want.String())
	}
	wantOpts := controlapi.LogOptions{Tail: -1, Stdout: true, Stderr: true, Details: true}
	if !reflect.DeepEqual(fx.logOpts, []controlapi.LogOptions{wantOpts}) {
		t.Errorf("LogOptions %+v, want %+v", fx.logOpts, wantOpts)
	}

	// And moby's own demultiplexer agrees.
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(stdout.String(), " hello 3\n") || !strings.HasSuffix(stderr.String(), " oops 2\n") {
		t.Errorf("demultiplexed stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

func TestLogsTimestampsAndPlainLines(t *testing.T) {
	f, _ := newServiceLeader(t)
	body := readBody(t, serve(t, f.handler, http.MethodGet, "/services/ping/logs?stdout=1&timestamps=1", ""))
	// Nine fractional digits always, in UTC; no details without details=1;
	// stderr left out when only stdout is asked for.
	want := string(frame(1, "2025-06-01T12:00:00.000000123Z hello 1\n")) +
		string(frame(1, "2025-06-01T12:00:02.000000123Z hello 3\n"))
	if body != want {
		t.Errorf("body\n got %q\nwant %q", body, want)
	}
	body = readBody(t, serve(t, f.handler, http.MethodGet, "/services/ping/logs?stderr=true", ""))
	if want := string(frame(2, "oops 2\n")); body != want {
		t.Errorf("stderr only: got %q, want %q", body, want)
	}
}

func TestLogsDetailsAreEscaped(t *testing.T) {
	f := newFakeLeader(t)
	f.ctl.GetServiceFn = func(context.Context, string) (controlapi.ServiceView, error) {
		return controlapi.ServiceView{Service: &swarm.Service{}}, nil
	}
	f.ctl.ServiceLogsFn = func(_ context.Context, _ string, _ controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
		return out(controlapi.LogMessage{Stream: 1, Timestamp: time.Unix(0, 0), NodeID: "n 1", ServiceID: "s=1", TaskID: "t,1/é", Line: []byte("x\n")})
	}
	body := readBody(t, serve(t, f.handler, http.MethodGet, "/services/s/logs?stdout=1&details=1&timestamps=1", ""))
	want := "1970-01-01T00:00:00.000000000Z com.docker.swarm.node.id=n+1,com.docker.swarm.service.id=s%3D1,com.docker.swarm.task.id=t%2C1%2F%C3%A9 x\n"
	if body != string(frame(1, want)) {
		t.Errorf("body %q, want %q", body, frame(1, want))
	}
}

func TestLogsOptions(t *testing.T) {
	since := time.Unix(1700000000, 500000000)
	tests := []struct {
		query string
		want  controlapi.LogOptions
	}{
		{"?stdout=1&tail=10&follow=1", controlapi.LogOptions{Stdout: true, Tail: 10, Follow: true}},
		{"?stderr=1&tail=0", controlapi.LogOptions{Stderr: true, Tail: 0}},
		{"?stdout=1&since=1700000000.5", controlapi.LogOptions{Stdout: true, Tail: -1, Since: since}},
		{"?stdout=1&since=1700000000.500000000", controlapi.LogOptions{Stdout: true, Tail: -1, Since: since}},
		{"?stdout=1&since=1700000000", controlapi.LogOptions{Stdout: true, Tail: -1, Since: time.Unix(1700000000, 0)}},
		{"?stdout=yes&details=0&timestamps=false&follow=no", controlapi.LogOptions{Stdout: true, Tail: -1}},
	}
	for _, tt := range tests {
		f, fx := newServiceLeader(t)
		if res := serve(t, f.handler, http.MethodGet, "/v1.50/services/ping/logs"+tt.query, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tt.query, res.StatusCode, readBody(t, res))
		}
		got := fx.logOpts[0]
		if !got.Since.Equal(tt.want.Since) {
			t.Errorf("%s: Since %v, want %v", tt.query, got.Since, tt.want.Since)
		}
		got.Since, tt.want.Since = time.Time{}, time.Time{}
		if got != tt.want {
			t.Errorf("%s: options %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

func TestLogsRefusals(t *testing.T) {
	tests := []struct{ path, msg string }{
		{"/v1.50/services/ping/logs", "Bad parameters: you must choose at least one stream"},
		{"/v1.50/services/ping/logs?stdout=0&stderr=false&details=1", "Bad parameters: you must choose at least one stream"},
		{"/v1.50/tasks/t1/logs?follow=1", "Bad parameters: you must choose at least one stream"},
		{"/v1.50/services/ping/logs?stdout=1&tail=-1", "negative tail values not supported"},
		{"/v1.50/services/ping/logs?stdout=1&tail=ten", `tail value must be a positive integer or "all"`},
		{"/v1.50/services/ping/logs?stdout=1&since=yesterday", `could not parse since timestamp "yesterday": strconv.ParseInt: parsing "yesterday": invalid syntax`},
		{"/v1.50/services/ping/logs?stdout=1&since=1.x", `could not parse since timestamp "1.x": invalid fractional seconds`},
	}
	for _, tt := range tests {
		f := newFakeLeader(t)
		strictServices(t, f.ctl)
		wantError(t, serve(t, f.handler, http.MethodGet, tt.path, ""), http.StatusBadRequest, tt.msg)
	}
}

// The CLI falls back from service to task, and gives up, on 404s: they
// must come as statuses, before any stream starts.
func TestLogsNotFound(t *testing.T) {
	f, fx := newServiceLeader(t)
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/services/nosuch/logs"+cliLogsQuery, ""), http.StatusNotFound, "service nosuch not found")
	wantError(t, serve(t, f.handler, http.MethodGet, "/v1.50/tasks/nosuch/logs"+cliLogsQuery, ""), http.StatusNotFound, "task nosuch not found")
	if len(fx.logOpts) != 0 {
		t.Errorf("logs streamed for unknown objects: %v", fx.logOpts)
	}
}

func TestTaskLogs(t *testing.T) {
	f, _ := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.50/tasks/"+string(ping2ID)+"/logs"+cliLogsQuery, "")
	body := readBody(t, res)
	if want := string(frame(2, details(workerID, pingID, ping2ID)+" oops 2\n")); res.StatusCode != http.StatusOK || body != want {
		t.Errorf("answer %d %q, want %q", res.StatusCode, body, want)
	}
}

// A TTY service's lines go out raw, without frames, as moby does.
func TestLogsTTYIsRaw(t *testing.T) {
	f, fx := newServiceLeader(t)
	fx.services[0].Spec.Task.Container.TTY = true
	res := serve(t, f.handler, http.MethodGet, "/v1.50/services/ping/logs?stdout=1&stderr=1", "")
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.docker.raw-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if body := readBody(t, res); body != "hello 1\noops 2\nhello 3\n" {
		t.Errorf("body %q", body)
	}
}

// Before API 1.42 moby announces the raw-stream type but still frames.
func TestLogsOldAPIVersionContentType(t *testing.T) {
	f, _ := newServiceLeader(t)
	res := serve(t, f.handler, http.MethodGet, "/v1.41/services/ping/logs?stdout=1", "")
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.docker.raw-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if body := readBody(t, res); !strings.HasPrefix(body, string(frame(1, "hello 1\n"))) {
		t.Errorf("body %q is not framed", body)
	}
}

// An error once the stream has started can only be told inside it, on the
// system-error stream.
func TestLogsErrorMidStream(t *testing.T) {
	f, _ := newServiceLeader(t)
	f.ctl.ServiceLogsFn = func(_ context.Context, _ string, _ controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
		if err := out(controlapi.LogMessage{Stream: 1, Line: []byte("a\n")}); err != nil {
			return err
		}
		return swarm.Errorf(swarm.ErrUnavailable, "node lost")
	}
	res := serve(t, f.handler, http.MethodGet, "/v1.50/services/ping/logs?stdout=1", "")
	want := string(frame(1, "a\n")) + string(frame(3, "Error grabbing logs: node lost\n"))
	if body := readBody(t, res); res.StatusCode != http.StatusOK || body != want {
		t.Errorf("answer %d %q, want 200 %q", res.StatusCode, body, want)
	}
}

// Over a real connection: every line arrives as soon as it is written (the
// source is blocked until the client has read it), and once the client
// hangs up the source's next write fails so that it stops.
var errNotFlushed = errors.New("the client never saw the first line: not flushed")

func TestLogsFollowFlushesAndStopsWhenClientLeaves(t *testing.T) {
	f, _ := newServiceLeader(t)
	read := make(chan struct{})
	stopped := make(chan error, 1)
	f.ctl.ServiceLogsFn = func(ctx context.Context, _ string, opts controlapi.LogOptions, out func(controlapi.LogMessage) error) error {
		err := func() error {
			for i := 0; ; i++ {
				if err := out(controlapi.LogMessage{Stream: 1, Line: []byte("tick\n")}); err != nil {
					return err
				}
				if i == 0 {
					select {
					case <-read:
					case <-time.After(10 * time.Second):
						return errNotFlushed
					}
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Millisecond):
				}
			}
		}()
		stopped <- err
		return err
	}
	srv := httptest.NewServer(f.handler)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1.50/services/ping/logs?stdout=1&follow=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len(frame(1, "tick\n")))
	if _, err := io.ReadFull(bufio.NewReader(res.Body), first); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, frame(1, "tick\n")) {
		t.Errorf("first frame %q", first)
	}
	close(read)
	cancel()
	res.Body.Close()
	select {
	case err := <-stopped:
		if err == nil || errors.Is(err, errNotFlushed) {
			t.Errorf("the log source ended with %v, want the error of a write to a client that left", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the log source kept going after the client left")
	}
}

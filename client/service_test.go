package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
)

func TestServiceRequests(t *testing.T) {
	f := newFake(t, "1.50")
	f.handle("POST /v1.50/services/create", http.StatusCreated, swarm.ServiceCreateResponse{ID: "s1", Warnings: []string{"w1"}})
	f.handle("GET /v1.50/services", http.StatusOK, []swarm.Service{{ID: "s1"}})
	f.mux.HandleFunc("GET /v1.50/services/{ref}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ID":"s1","Version":{"Index":9},"Spec":{"Name":"ping"},"Extra":true}`)
	})
	f.handle("POST /v1.50/services/{id}/update", http.StatusOK, swarm.ServiceUpdateResponse{})
	f.mux.HandleFunc("DELETE /v1.50/services/{ref}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	f.handle("GET /v1.50/tasks", http.StatusOK, []swarm.Task{{ID: "t1"}})
	f.handle("GET /v1.50/tasks/{ref}", http.StatusOK, swarm.Task{ID: "t1", Slot: 2})
	f.handle("GET /v1.50/distribution/", http.StatusOK, map[string]any{})
	c := newClient(t, f.host())
	ctx := context.Background()

	id, warnings, err := c.ServiceCreate(ctx, swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "ping"}},
		ServiceCreateOptions{EncodedRegistryAuth: "e30="})
	if err != nil || id != "s1" || !slices.Equal(warnings, []string{"w1"}) {
		t.Fatalf("create = %q %q %v", id, warnings, err)
	}
	if _, err := c.ServiceList(ctx, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceList(ctx, NewFilters().Add("name", "ping"), false); err != nil {
		t.Fatal(err)
	}
	s, raw, err := c.ServiceInspect(ctx, "ping", false)
	if err != nil || s.Version.Index != 9 || !strings.Contains(string(raw), `"Extra":true`) {
		t.Fatalf("inspect = %+v %s %v", s, raw, err)
	}
	if _, _, err := c.ServiceInspect(ctx, "ping", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceUpdate(ctx, s.ID, s.Version, s.Spec, ServiceUpdateOptions{RegistryAuthFrom: RegistryAuthFromSpec}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceUpdate(ctx, s.ID, s.Version, s.Spec, ServiceUpdateOptions{Rollback: "previous"}); err != nil {
		t.Fatal(err)
	}
	if err := c.ServiceRemove(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TaskList(ctx, NewFilters().Add("_up-to-date", "true").Add("service", "s1")); err != nil {
		t.Fatal(err)
	}
	if task, _, err := c.TaskInspect(ctx, "t1"); err != nil || task.Slot != 2 {
		t.Fatalf("task = %+v %v", task, err)
	}
	if _, err := c.DistributionInspect(ctx, "myreg.example:5000/team/app:v1", ""); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"HEAD /_ping",
		"POST /v1.50/services/create",
		"GET /v1.50/services?status=true",
		"GET /v1.50/services?filters=%7B%22name%22%3A%7B%22ping%22%3Atrue%7D%7D",
		"GET /v1.50/services/ping?insertDefaults=false",
		"GET /v1.50/services/ping?insertDefaults=true",
		"POST /v1.50/services/s1/update?registryAuthFrom=spec&version=9",
		"POST /v1.50/services/s1/update?rollback=previous&version=9",
		"DELETE /v1.50/services/ping",
		"GET /v1.50/tasks?filters=%7B%22_up-to-date%22%3A%7B%22true%22%3Atrue%7D%2C%22service%22%3A%7B%22s1%22%3Atrue%7D%7D",
		"GET /v1.50/tasks/t1",
		"GET /v1.50/distribution/myreg.example:5000/team/app:v1/json",
	}
	if got := f.paths(); !slices.Equal(got, want) {
		t.Fatalf("requests =\n%q\nwant\n%q", got, want)
	}
	if body := f.requests()[1].Body; body != `{"Name":"ping","Labels":null,"TaskTemplate":{"ForceUpdate":0},"Mode":{}}` {
		t.Fatalf("create body = %s", body)
	}
}

func TestRegistryAuthHeader(t *testing.T) {
	var got []string
	f := newFake(t, "1.50")
	f.mux.HandleFunc("POST /v1.50/services/create", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(registryAuthHeader))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ID":"s1"}`)
	})
	c := newClient(t, f.host())
	for _, auth := range []string{"e30=", ""} {
		if _, _, err := c.ServiceCreate(context.Background(), swarm.ServiceSpec{}, ServiceCreateOptions{EncodedRegistryAuth: auth}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, []string{"e30=", ""}) {
		t.Fatalf("X-Registry-Auth headers = %q", got)
	}
}

func TestEmptyReferences(t *testing.T) {
	c := newClient(t, "tcp://127.0.0.1:1")
	ctx := context.Background()
	for _, err := range []error{
		func() error { _, _, err := c.ServiceInspect(ctx, " ", false); return err }(),
		func() error { _, _, err := c.TaskInspect(ctx, ""); return err }(),
		c.ServiceRemove(ctx, ""),
	} {
		if err == nil || !strings.Contains(err.Error(), "value is empty") {
			t.Errorf("err = %v", err)
		}
	}
}

// frame encodes one multiplexed log frame.
func frame(stream StreamType, payload string) []byte {
	b := make([]byte, frameHeaderLen, frameHeaderLen+len(payload))
	b[0] = byte(stream)
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	return append(b, payload...)
}

func TestLogsRequestAndDemux(t *testing.T) {
	var body bytes.Buffer
	body.Write(frame(StreamStdout, "out 1\n"))
	body.Write(frame(StreamStderr, "err 1\n"))
	body.Write(frame(StreamStdout, ""))
	body.Write(frame(StreamStdout, "out 2\n"))
	f := newFake(t, "1.50")
	f.mux.HandleFunc("GET /v1.50/services/{ref}/logs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		_, _ = w.Write(body.Bytes())
	})
	f.mux.HandleFunc("GET /v1.50/tasks/{ref}/logs", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(frame(StreamSystemErr, "boom"))
	})
	c := newClient(t, f.host())
	ctx := context.Background()

	s, err := c.ServiceLogs(ctx, "ping", LogsOptions{Follow: true, Timestamps: true, Details: true, Tail: "all", Since: "1700000000"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut writes
	if err := s.Demux(&out, &errOut); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if !slices.Equal(out, []string{"out 1\n", "", "out 2\n"}) || !slices.Equal(errOut, []string{"err 1\n"}) {
		t.Fatalf("stdout writes %q, stderr writes %q", out, errOut)
	}

	s, err = c.TaskLogs(ctx, "t1", LogsOptions{Tail: "10"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Demux(io.Discard, io.Discard); err == nil || err.Error() != "error from daemon in stream: boom" {
		t.Fatalf("system error frame: %v", err)
	}
	want := []string{
		"HEAD /_ping",
		"GET /v1.50/services/ping/logs?details=1&follow=1&since=1700000000&stderr=1&stdout=1&tail=all&timestamps=1",
		"GET /v1.50/tasks/t1/logs?stderr=1&stdout=1&tail=10",
	}
	if got := f.paths(); !slices.Equal(got, want) {
		t.Fatalf("requests =\n%q\nwant\n%q", got, want)
	}
}

func TestLogStreamBadFrames(t *testing.T) {
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"unknown stream", frame(7, "x"), "unrecognized input header: 7"},
		{"short header", []byte{1, 0, 0}, "read log frame header: unexpected EOF"},
		{"short payload", frame(StreamStdout, "hello")[:10], "read log frame: unexpected EOF"},
	}
	for _, tt := range tests {
		s := &LogStream{body: io.NopCloser(bytes.NewReader(tt.body))}
		_, err := s.Next()
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	s := &LogStream{body: io.NopCloser(bytes.NewReader(nil))}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("empty stream: err = %v, want io.EOF", err)
	}
}

// writes records every Write call separately.
type writes []string

func (w *writes) Write(p []byte) (int, error) {
	*w = append(*w, string(p))
	return len(p), nil
}

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec/process"
	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/swarm"
)

// FuzzTemplate renders a task's env, hostname and directory templates as
// the worker does before it starts the task. Rendering ends (the fuzzer
// reports a hang), never panics, leaves a value without a template as it
// is, and stays within swarm.MaxTemplateOutput a value.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"SLOT={{.Task.Slot}}",
		"{{.Service.Name}}-{{.Node.Hostname}}",
		"/srv/{{.Service.ID}}/{{.Task.ID}}",
		`{{index .Service.Labels "team"}}{{.Task.Name | printf "%q"}}`,
		"{{if eq .Task.Slot \"1\"}}first{{else}}other{{end}}",
		"{{range $i, $c := .Node.ID}}{{$c}}{{end}}",
		"{{range 3}}x{{end}}",
		"{{template \"spec\" .}}",
		"{{.Missing.Field}}",
		"{{",
		"no template",
		"A={{range 400000000}}x{{end}}",
		`A={{printf "%999999999d" 1}}`,
		`A={{define "x"}}{{template "x"}}{{end}}{{template "x"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		task := &swarm.Task{ID: "taskidaaaaaaaaaaaaaaaaaaa", ServiceID: "svcidbbbbbbbbbbbbbbbbbbbb", ServiceName: "web",
			NodeID: "nodeidccccccccccccccccccc", Slot: 3,
			Spec: swarm.TaskSpec{Container: swarm.ContainerSpec{Env: []string{s, "PLAIN=1"}, Hostname: s, Dir: s}}}
		out, err := expand(task, "worker-1")
		if task.Spec.Container.Env[0] != s {
			t.Fatal("expand changed the task it was given")
		}
		if err != nil { // the task is rejected: fine, unless nothing was templated
			if !strings.Contains(s, "{{") {
				t.Fatalf("%q without a template failed: %v", s, err)
			}
			return
		}
		c := out.Spec.Container
		if c.Env[1] != "PLAIN=1" {
			t.Fatalf("a value without a template changed: %q", c.Env[1])
		}
		if !strings.Contains(s, "{{") && (c.Env[0] != s || c.Hostname != s || c.Dir != s) {
			t.Fatalf("%q without a template rendered to %q", s, c.Env[0])
		}
		for _, v := range []string{c.Env[0], c.Hostname, c.Dir} {
			if n := len(v); n > len(s)+swarm.MaxTemplateOutput {
				t.Fatalf("%q rendered to %d bytes", s, n)
			}
		}
	})
}

// FuzzServeLogs sends a fuzzed body as a manager's request for a task's
// logs to a worker whose process runtime kept that task's output. The
// answer is an error in the RPC error form, or a stream of log lines that
// are the task's own, in order, at most Tail of them.
func FuzzServeLogs(f *testing.F) {
	stateDir := f.TempDir()
	e, err := process.New(process.Config{StateDir: stateDir, DisableCgroups: true})
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	const id = swarm.TaskID("logtaskaaaaaaaaaaaaaaaaaa")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var file bytes.Buffer
	for i := range 20 {
		stream := []string{"stdout", "stderr"}[i%3/2]
		file.WriteString(t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano) + " " + stream + " line " + string(rune('a'+i)) + "\n")
	}
	if err := os.MkdirAll(filepath.Join(stateDir, string(id)), 0o700); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, string(id), "output.log"), file.Bytes(), 0o600); err != nil {
		f.Fatal(err)
	}
	// The task ran under a previous daemon and exited: its output is final.
	if err := os.WriteFile(filepath.Join(stateDir, string(id), "state.json"), []byte(`{"instance":"before","exited":true}`), 0o600); err != nil {
		f.Fatal(err)
	}
	a := New(Config{Executor: e})
	a.tasks[id] = &swarm.Task{ID: id, Status: swarm.TaskStatus{State: swarm.TaskComplete}}

	for _, req := range []dispatchapi.LogsRequest{
		{TaskID: id, Tail: -1, Stdout: true, Stderr: true},
		{TaskID: id, Tail: 5, Stdout: true, Since: t0.Add(3 * time.Second)},
		{TaskID: id, Tail: 0, Stderr: true, Follow: true},
		{TaskID: "othertask", Tail: -1, Stdout: true},
	} {
		b, _ := json.Marshal(req)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req dispatchapi.LogsRequest
		decoded := json.Unmarshal(body, &req) == nil
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a follow request ends once the past lines are out
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, dispatchapi.PathLogs, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		a.ServeLogs(rec, r)
		if rec.Code != http.StatusOK {
			var e dispatchapi.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Fatalf("error answer %d is not an RPC error: %q", rec.Code, rec.Body)
			}
			return
		}
		if !decoded {
			t.Fatalf("a body that is not a request was served: %q", body)
		}
		dec := json.NewDecoder(rec.Body)
		var n int
		var last time.Time
		for dec.More() {
			var l dispatchapi.LogLine
			if err := dec.Decode(&l); err != nil {
				t.Fatalf("log stream: %v", err)
			}
			if !bytes.HasPrefix(l.Line, []byte("line ")) || l.Timestamp.Before(last) || l.Timestamp.Before(req.Since) {
				t.Fatalf("line %d out of place: %+v", n, l)
			}
			last = l.Timestamp
			n++
		}
		if req.Tail > 0 && n > req.Tail {
			t.Fatalf("tail %d gave %d lines", req.Tail, n)
		}
	})
}

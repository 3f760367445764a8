package exec_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// result is what the stub controller's called method returns.
type result struct{ err error }

func (r result) fn(context.Context) error { return r.err }

var (
	errBoom   = errors.New("boom")
	errExit3  = &exec.ExitError{Code: 3}
	errStop   = &exec.ExitError{Code: 143, Stopped: true}
	errTemp   = exec.MakeTemporary(errors.New("try later"))
	errCancel = context.Canceled
)

func TestDoTable(t *testing.T) {
	const (
		assigned  = swarm.TaskAssigned
		accepted  = swarm.TaskAccepted
		preparing = swarm.TaskPreparing
		ready     = swarm.TaskReady
		starting  = swarm.TaskStarting
		running   = swarm.TaskRunning
		complete  = swarm.TaskComplete
		shutdown  = swarm.TaskShutdown
		failed    = swarm.TaskFailed
		rejected  = swarm.TaskRejected
		remove    = swarm.TaskRemove
	)
	cases := []struct {
		name            string
		state, desired  swarm.TaskState
		ctl             result // returned by the one method called
		want            swarm.TaskState
		wantErr         error // from Do
		wantStatusErr   string
		wantExit        int
		wantCalls       exectest.Calls
		wantMsgNonEmpty bool
	}{
		{name: "assigned is accepted", state: assigned, desired: running, want: accepted},
		{name: "new is accepted", state: swarm.TaskNew, desired: running, want: accepted},
		{name: "accepted prepares", state: accepted, desired: running, want: preparing},
		{name: "prepare ok", state: preparing, desired: running, want: ready, wantCalls: exectest.Calls{Prepare: 1}},
		{name: "prepare already done", state: preparing, desired: running, ctl: result{exec.ErrTaskPrepared}, want: ready, wantCalls: exectest.Calls{Prepare: 1}},
		{name: "prepare fails: rejected", state: preparing, desired: running, ctl: result{errBoom}, want: rejected, wantStatusErr: "boom", wantCalls: exectest.Calls{Prepare: 1}},
		{name: "prepare temporary: retry", state: preparing, desired: running, ctl: result{errTemp}, want: preparing, wantErr: exec.ErrTaskRetry, wantStatusErr: "try later", wantCalls: exectest.Calls{Prepare: 1}},
		{name: "prepare cancelled: retry", state: preparing, desired: running, ctl: result{errCancel}, want: preparing, wantErr: exec.ErrTaskRetry, wantCalls: exectest.Calls{Prepare: 1}},
		{name: "desired ready: prepare", state: preparing, desired: ready, want: ready, wantCalls: exectest.Calls{Prepare: 1}},
		{name: "desired ready: hold at ready", state: ready, desired: ready, want: ready, wantErr: exec.ErrTaskNoop},
		{name: "ready starts", state: ready, desired: running, want: starting},
		{name: "start ok", state: starting, desired: running, want: running, wantCalls: exectest.Calls{Start: 1, Status: 1}},
		{name: "start already done", state: starting, desired: running, ctl: result{exec.ErrTaskStarted}, want: running, wantCalls: exectest.Calls{Start: 1, Status: 1}},
		{name: "start fails: failed", state: starting, desired: running, ctl: result{errBoom}, want: failed, wantStatusErr: "boom", wantCalls: exectest.Calls{Start: 1, Status: 1}},
		{name: "exit 0: complete", state: running, desired: running, want: complete, wantCalls: exectest.Calls{Wait: 1, Status: 1}},
		{name: "exit 3: failed", state: running, desired: running, ctl: result{errExit3}, want: failed, wantStatusErr: "task: non-zero exit (3)", wantExit: 3, wantCalls: exectest.Calls{Wait: 1, Status: 1}},
		{name: "stopped on request: shutdown", state: running, desired: running, ctl: result{errStop}, want: shutdown, wantExit: 143, wantCalls: exectest.Calls{Wait: 1, Status: 1}},
		{name: "wait cancelled: retry", state: running, desired: running, ctl: result{errCancel}, want: running, wantErr: exec.ErrTaskRetry, wantCalls: exectest.Calls{Wait: 1, Status: 1}},
		{name: "running, desired shutdown", state: running, desired: shutdown, want: shutdown, wantCalls: exectest.Calls{Shutdown: 1, Status: 1}},
		{name: "running, desired remove", state: running, desired: remove, want: shutdown, wantCalls: exectest.Calls{Shutdown: 1, Status: 1}},
		{name: "starting, desired shutdown", state: starting, desired: shutdown, want: shutdown, wantCalls: exectest.Calls{Shutdown: 1, Status: 1}},
		{name: "shutdown fails: failed", state: running, desired: shutdown, ctl: result{errBoom}, want: failed, wantStatusErr: "boom", wantCalls: exectest.Calls{Shutdown: 1, Status: 1}},
		{name: "shutdown cancelled: retry", state: running, desired: shutdown, ctl: result{errCancel}, want: running, wantErr: exec.ErrTaskRetry, wantCalls: exectest.Calls{Shutdown: 1, Status: 1}},
		{name: "not started, desired shutdown", state: ready, desired: shutdown, want: shutdown},
		{name: "assigned, desired remove", state: assigned, desired: remove, want: shutdown},
		{name: "complete is terminal", state: complete, desired: running, want: complete, wantErr: exec.ErrTaskNoop},
		{name: "failed stays, desired shutdown", state: failed, desired: shutdown, want: failed, wantErr: exec.ErrTaskNoop},
		{name: "shutdown stays, desired remove", state: shutdown, desired: remove, want: shutdown, wantErr: exec.ErrTaskNoop},
		{name: "ahead of desired", state: starting, desired: ready, want: starting, wantErr: exec.ErrTaskNoop},
		{name: "accepted, desired accepted", state: accepted, desired: accepted, want: accepted, wantErr: exec.ErrTaskNoop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctl := &exectest.Controller{
				PrepareFn: c.ctl.fn, StartFn: c.ctl.fn, WaitFn: c.ctl.fn, ShutdownFn: c.ctl.fn,
				StatusFn: func() swarm.TaskStatus { return swarm.TaskStatus{PID: 42, ContainerID: "c1"} },
			}
			task := &swarm.Task{ID: "t1", DesiredState: c.desired, Status: swarm.TaskStatus{State: c.state, Message: "before"}}
			st, err := exec.Do(context.Background(), task, ctl)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("Do error %v, want %v", err, c.wantErr)
			}
			if st.State != c.want || st.Err != c.wantStatusErr || st.ExitCode != c.wantExit {
				t.Fatalf("Do: state %s err %q exit %d; want %s %q %d", st.State, st.Err, st.ExitCode, c.want, c.wantStatusErr, c.wantExit)
			}
			if got := ctl.Calls(); got != c.wantCalls {
				t.Fatalf("calls %+v, want %+v", got, c.wantCalls)
			}
			if task.Status.State != c.state {
				t.Fatal("Do changed the task it was given")
			}
			changed := st.State != c.state || st.Err != "" || st.ExitCode != 0 || st.PID != 0
			if changed == st.Timestamp.IsZero() {
				t.Fatalf("timestamp %v for a status that changed=%v", st.Timestamp, changed)
			}
			if ctl.Calls().Status > 0 && st.PID != 42 {
				t.Fatalf("runtime status not copied: %+v", st)
			}
		})
	}
}

// TestDoDrivesToCompletion runs Do the way the agent does, from assigned
// to complete, reporting each status and stopping on a no-op.
func TestDoDrivesToCompletion(t *testing.T) {
	ctl := &exectest.Controller{}
	task := &swarm.Task{ID: "t1", DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskAssigned}}
	var seen []swarm.TaskState
	for range 20 {
		st, err := exec.Do(context.Background(), task, ctl)
		if errors.Is(err, exec.ErrTaskNoop) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		task.Status = *st
		seen = append(seen, st.State)
	}
	want := []swarm.TaskState{swarm.TaskAccepted, swarm.TaskPreparing, swarm.TaskReady, swarm.TaskStarting, swarm.TaskRunning, swarm.TaskComplete}
	if len(seen) != len(want) {
		t.Fatalf("states %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("states %v, want %v", seen, want)
		}
	}
	if got := ctl.Calls(); got.Prepare != 1 || got.Start != 1 || got.Wait != 1 || got.Shutdown != 0 {
		t.Fatalf("calls %+v", got)
	}
}

func TestResolve(t *testing.T) {
	refuse := &exectest.Executor{ControllerFn: func(*swarm.Task) (exec.Controller, error) { return nil, errBoom }}
	cases := []struct {
		name  string
		exec  exec.Executor
		state swarm.TaskState
		want  swarm.TaskState
		err   bool
	}{
		{"accepts an assigned task", &exectest.Executor{}, swarm.TaskAssigned, swarm.TaskAccepted, false},
		{"keeps a running task", &exectest.Executor{}, swarm.TaskRunning, swarm.TaskRunning, false},
		{"rejects before start", refuse, swarm.TaskAssigned, swarm.TaskRejected, true},
		{"fails once started", refuse, swarm.TaskRunning, swarm.TaskFailed, true},
		{"leaves a terminal task", refuse, swarm.TaskComplete, swarm.TaskComplete, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := &swarm.Task{ID: "t1", DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: c.state}}
			_, st, err := exec.Resolve(context.Background(), task, c.exec)
			if (err != nil) != c.err || st.State != c.want {
				t.Fatalf("Resolve: %s, %v; want %s, error %v", st.State, err, c.want, c.err)
			}
		})
	}
}

func TestExitError(t *testing.T) {
	var err error = &exec.ExitError{Code: 3}
	var ec exec.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 3 || err.Error() != "task: non-zero exit (3)" {
		t.Fatalf("exit error %q", err)
	}
	if errors.Is(err, exec.ErrTaskStopped) {
		t.Fatal("a plain exit matched ErrTaskStopped")
	}
	oom := &exec.ExitError{Code: 137, Cause: "OOM killed"}
	if oom.Error() != "task: non-zero exit (137): OOM killed" {
		t.Fatalf("oom: %q", oom)
	}
	if !errors.Is(errStop, exec.ErrTaskStopped) {
		t.Fatal("a stopped exit does not match ErrTaskStopped")
	}
	if exec.IsTemporary(errBoom) || !exec.IsTemporary(errTemp) || !errors.Is(exec.MakeTemporary(errBoom), errBoom) {
		t.Fatal("temporary")
	}
}

var t0 = time.Unix(1700000000, 0)

func TestLogOptionsWants(t *testing.T) {
	var all exec.LogOptions
	if !all.Wants(exec.Stdout, t0) || !all.Wants(exec.Stderr, t0) {
		t.Fatal("zero options must want every stream")
	}
	errOnly := exec.LogOptions{Stderr: true, Since: t0}
	if errOnly.Wants(exec.Stdout, t0) || !errOnly.Wants(exec.Stderr, t0) || errOnly.Wants(exec.Stderr, t0.Add(-1)) {
		t.Fatal("stream or since filter")
	}
	if s, err := exec.ParseLogStream("stderr"); err != nil || s != exec.Stderr || s.String() != "stderr" {
		t.Fatal("parse stream")
	}
	if _, err := exec.ParseLogStream("stdin"); !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatal("stdin parsed")
	}
}

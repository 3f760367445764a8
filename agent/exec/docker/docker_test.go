package docker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/swarm"
)

func TestExitZero(t *testing.T) {
	ev := newEnv(t)
	c, err := ev.run(ev.task("out:hello"))
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	st := c.Status()
	ctr := ev.inspect(c)
	// No PID: the engine reports none once the container has exited,
	// which this one may have done before Start could ask.
	if st.ContainerID != ctr.ID || st.ExitCode != 0 {
		t.Fatalf("status %+v (container %s)", st, ctr.ID)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("logs %q", got)
	}
}

func TestExitCode(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("exit:3")
	c, err := ev.run(task)
	wantExit(t, err, 3, false)
	if err.Error() != "task: non-zero exit (3)" {
		t.Fatalf("error %q", err)
	}
	if c.Status().ExitCode != 3 {
		t.Fatalf("status %+v", c.Status())
	}
	// Do reports it as Docker does.
	task.Status.State = swarm.TaskRunning
	st, err := exec.Do(testCtx(t), task, c)
	if err != nil || st.State != swarm.TaskFailed || st.Err != "task: non-zero exit (3)" || st.ExitCode != 3 || st.ContainerID == "" {
		t.Fatalf("do: %v %+v", err, st)
	}
}

// TestShutdown: the stop signal reaches the task, which exits on its own
// within the grace period (exit 0, not the 137 of a kill), and Wait says it
// was stopped.
func TestShutdown(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("trap-term:0", "out:ready", "sleep:300s")
	task.Spec.Container.StopGracePeriod = grace(time.Minute)
	c := ev.start(task)
	waitLine(t, c, "ready")
	waited := make(chan error, 1)
	go func() { waited <- c.Wait(testCtx(t)) }()
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wantExit(t, <-waited, 0, true)
	if ctr := ev.inspect(c); ctr.State.Running || ctr.State.ExitCode != 0 {
		t.Fatalf("state %+v", ctr.State)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !slices.Contains(got, "got SIGTERM") {
		t.Fatalf("logs %q", got)
	}
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

// TestShutdownKillsAfterGrace: a task that ignores SIGTERM is killed once
// the grace period is over.
func TestShutdownKillsAfterGrace(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("ignore-term", "out:ready", "sleep:300s")
	task.Spec.Container.StopGracePeriod = grace(time.Second)
	c := ev.start(task)
	waitLine(t, c, "ready")
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wantExit(t, c.Wait(testCtx(t)), 137, true)
	// Do reports a stopped task as shut down.
	task.Status.State, task.DesiredState = swarm.TaskRunning, swarm.TaskRunning
	st, err := exec.Do(testCtx(t), task, c)
	if err != nil || st.State != swarm.TaskShutdown {
		t.Fatalf("do: %v %+v", err, st)
	}
}

func TestTerminate(t *testing.T) {
	ev := newEnv(t)
	c := ev.start(ev.task("ignore-term", "sleep:300s"))
	if err := c.Terminate(testCtx(t)); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	wantExit(t, c.Wait(testCtx(t)), 137, true)
}

// TestShutdownNeverStarted: nothing to stop is no error.
func TestShutdownNeverStarted(t *testing.T) {
	ev := newEnv(t)
	c := ev.controller(ev.e, ev.task())
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(testCtx(t)); err == nil || !strings.Contains(err.Error(), "before start") {
		t.Fatalf("wait before start: %v", err)
	}
}

// TestContainerSpec: what the spec asks is what the engine got.
func TestContainerSpec(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("env:GREETING", "env:HOSTNAME", "sleep:300s")
	cs := &task.Spec.Container
	cs.Env = []string{"GREETING=hello there"}
	cs.Labels["team"] = "blue"
	cs.Hostname = "box1"
	cs.Dir = "/"
	cs.User = "1234:5678"
	cs.StopSignal = "SIGINT"
	cs.StopGracePeriod = grace(7 * time.Second)
	task.Spec.Resources.Limits = swarm.Resources{MemoryBytes: 48 << 20, NanoCPUs: 5e8}
	c := ev.start(task)
	ctr := ev.inspect(c)
	if ctr.Name != "/web.1."+string(task.ID) {
		t.Fatalf("name %q", ctr.Name)
	}
	want := map[string]string{"team": "blue", labelTestRun: runID, LabelTask: "", LabelTaskID: string(task.ID),
		LabelTaskName: "web.1." + string(task.ID), LabelServiceID: string(task.ServiceID), LabelServiceName: "web",
		LabelNodeID: string(ev.node), LabelRuntime: RuntimeName}
	for k, v := range want {
		if got, ok := ctr.Config.Labels[k]; !ok || got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	cfg, host := ctr.Config, ctr.HostConfig
	if !slices.Contains(cfg.Env, "GREETING=hello there") || cfg.Hostname != "box1" || cfg.WorkingDir != "/" ||
		cfg.User != "1234:5678" || cfg.StopSignal != "SIGINT" || cfg.StopTimeout == nil || *cfg.StopTimeout != 7 {
		t.Fatalf("config %+v", cfg)
	}
	if host.Memory != 48<<20 || host.NanoCPUs != 5e8 || !host.RestartPolicy.IsNone() {
		t.Fatalf("host config: memory %d, cpus %d, restart %q", host.Memory, host.NanoCPUs, host.RestartPolicy.Name)
	}
	waitLine(t, c, "HOSTNAME=box1")
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !slices.Contains(got, "GREETING=hello there") {
		t.Fatalf("logs %q", got)
	}
}

// TestContainerIsolation: the spec's isolation reaches the engine, which
// accepts it (the container runs) and shows it on the container.
func TestContainerIsolation(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("sleep:300s")
	cs := &task.Spec.Container
	cs.ReadOnly, cs.NoNewPrivileges = true, true
	cs.CapabilityDrop, cs.CapabilityAdd = []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}
	cs.Ulimits = []swarm.Ulimit{{Name: "nofile", Soft: 123, Hard: 456}}
	cs.Mounts = []swarm.Mount{{Type: swarm.MountTmpfs, Target: "/scratch", TmpfsSize: 1 << 20}}
	host := ev.inspect(ev.start(task)).HostConfig
	if !host.ReadonlyRootfs || !slices.Equal(host.CapDrop, []string{"ALL"}) || !slices.Equal(host.CapAdd, []string{"CAP_NET_BIND_SERVICE"}) ||
		len(host.Ulimits) != 1 || host.Ulimits[0].Soft != 123 || host.Ulimits[0].Hard != 456 ||
		!slices.Contains(host.SecurityOpt, "no-new-privileges") || len(host.Mounts) != 1 || host.Mounts[0].Target != "/scratch" {
		t.Fatalf("host config: %+v", host)
	}
}

// TestCommandIsEntrypoint: Command replaces the image's entrypoint, Args
// its arguments.
func TestCommandIsEntrypoint(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("out:from-args")
	task.Spec.Container.Command = []string{"/taskbin", "out:from-command"}
	c, err := ev.run(task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !slices.Equal(got, []string{"from-command", "from-args"}) {
		t.Fatalf("logs %q", got)
	}
	if ctr := ev.inspect(c); !slices.Equal(ctr.Config.Entrypoint, []string{"/taskbin", "out:from-command"}) {
		t.Fatalf("entrypoint %q", ctr.Config.Entrypoint)
	}
}

func TestLogs(t *testing.T) {
	ev := newEnv(t)
	before := time.Now().Add(-time.Second) // the engine's clock is this machine's
	c, err := ev.run(ev.task("out:out1", "err:err1", "out:out2", "out:out3"))
	if err != nil {
		t.Fatal(err)
	}
	all := logs(t, c, exec.LogOptions{})
	if got := strings.Join(all.Lines(exec.Stdout), "|"); got != "out1|out2|out3" {
		t.Fatalf("stdout %q", got)
	}
	if got := strings.Join(all.Lines(exec.Stderr), "|"); got != "err1" {
		t.Fatalf("stderr %q", got)
	}
	for _, m := range all.Messages() {
		if m.Time.Before(before) || m.Time.After(time.Now()) {
			t.Fatalf("time %v out of the run", m.Time)
		}
	}
	if got := logs(t, c, exec.LogOptions{Stderr: true}).Lines(0); strings.Join(got, "|") != "err1" {
		t.Fatalf("stderr only: %q", got)
	}
	// The engine reads stdout and stderr apart: their order in its log is
	// its own, and the tail is the end of that log.
	everything := all.Lines(0)
	if got := logs(t, c, exec.LogOptions{Tail: 2}).Lines(0); !slices.Equal(got, everything[2:]) {
		t.Fatalf("tail 2: %q, all: %q", got, everything)
	}
	if got := logs(t, c, exec.LogOptions{Tail: exec.NoTail}).Lines(0); len(got) != 0 {
		t.Fatalf("no tail: %q", got)
	}
	// The newest line by time, which need not be the last in the engine's
	// log (stdout and stderr are read apart: err1 may come after out3 with
	// an earlier time).
	var last time.Time
	for _, m := range all.Messages() {
		if m.Time.After(last) {
			last = m.Time
		}
	}
	if got := logs(t, c, exec.LogOptions{Since: last.Add(time.Nanosecond)}).Lines(0); len(got) != 0 {
		t.Fatalf("since after the last line: %q", got)
	}
	if got := logs(t, c, exec.LogOptions{Since: before}).Lines(0); len(got) != 4 {
		t.Fatalf("since before: %q", got)
	}
}

// TestLogsFollow: a follower gets lines as they come and returns when the
// container stops.
func TestLogsFollow(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("out:first", "sleep:1s", "out:second")
	c := ev.start(task)
	col := &exectest.LogCollector{Ch: make(chan exec.LogMessage)}
	done := make(chan error, 1)
	go func() { done <- c.Logs(testCtx(t), exec.LogOptions{Follow: true}, col) }()
	for _, want := range []string{"first", "second"} {
		select {
		case m := <-col.Ch:
			if string(m.Line) != want {
				t.Fatalf("line %q, want %q", m.Line, want)
			}
		case <-testCtx(t).Done():
			t.Fatalf("no line %q", want)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("follow: %v", err)
	}
}

func TestLogsFollowCancelled(t *testing.T) {
	ev := newEnv(t)
	c := ev.start(ev.task("sleep:300s"))
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.Logs(ctx, exec.LogOptions{Follow: true}, &exectest.LogCollector{}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow after cancel: %v", err)
	}
}

func TestLogsTTY(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("out:one", "err:two")
	task.Spec.Container.TTY = true
	c, err := ev.run(task)
	if err != nil {
		t.Fatal(err)
	}
	if got := logs(t, c, exec.LogOptions{}).Lines(exec.Stdout); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("logs %q", got)
	}
}

// TestMissingImage: the runtime never pulls; the task is rejected with
// Docker's words and a hint.
func TestMissingImage(t *testing.T) {
	ev := newEnv(t)
	task := ev.task()
	task.Spec.Container.Image = "shoal-test-missing:" + randomID(4)
	c := ev.controller(ev.e, task)
	err := c.Prepare(testCtx(t))
	if !errors.Is(err, swarm.ErrFailedPrecondition) || !strings.HasPrefix(err.Error(), "No such image: "+task.Spec.Container.Image) {
		t.Fatalf("prepare: %v", err)
	}
	task.Status.State = swarm.TaskPreparing
	st, err := exec.Do(testCtx(t), task, c)
	if err != nil || st.State != swarm.TaskRejected || !strings.Contains(st.Err, "No such image") {
		t.Fatalf("do: %v %+v", err, st)
	}
	if ev.exists(c.name) {
		t.Fatal("a container was created")
	}
}

// TestOOMKilled: a task over its memory limit is killed by the kernel and
// Wait says so.
func TestOOMKilled(t *testing.T) {
	ev := newEnv(t)
	if info, err := ev.cli.Info(testCtx(t), client.InfoOptions{}); err != nil || !info.Info.MemoryLimit {
		t.Skipf("the engine enforces no memory limits here (%v)", err)
	}
	task := ev.task("alloc:512", "sleep:300s")
	task.Spec.Resources.Limits.MemoryBytes = 32 << 20
	_, err := ev.run(task)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Code != 137 || !strings.Contains(ee.Cause, "OOM killed") {
		t.Fatalf("wait: %v, want OOM killed", err)
	}
}

// TestPrepareAndStartTwice: the engine is the record; a second controller
// of the task finds its container.
func TestPrepareAndStartTwice(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("sleep:300s")
	c1 := ev.controller(ev.e, task)
	if err := c1.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := c1.Prepare(testCtx(t)); !errors.Is(err, exec.ErrTaskPrepared) {
		t.Fatalf("second prepare: %v", err)
	}
	c1.Close()
	if err := c1.Start(testCtx(t)); !errors.Is(err, exec.ErrControllerClosed) {
		t.Fatalf("start after close: %v", err)
	}
	c2 := ev.controller(ev.e, task)
	if err := c2.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(context.Context) error{c2.Prepare, c2.Start} {
		if err := step(testCtx(t)); !errors.Is(err, exec.ErrTaskStarted) {
			t.Fatalf("after start: %v", err)
		}
	}
	if st := c2.Status(); st.PID == 0 || st.ContainerID == "" {
		t.Fatalf("status %+v", st)
	}
}

// TestNameTaken: a container of the same name that is not the task's is
// neither used nor removed.
func TestNameTaken(t *testing.T) {
	ev := newEnv(t)
	task := ev.task()
	other := ev.task()
	other.ID = task.ID + "x"
	cfg, host := containerConfig(other, ev.node)
	if _, err := ev.cli.ContainerCreate(testCtx(t), client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: ContainerName(task)}); err != nil {
		t.Fatal(err)
	}
	c := ev.controller(ev.e, task)
	if err := c.Prepare(testCtx(t)); !errors.Is(err, swarm.ErrAlreadyExists) {
		t.Fatalf("prepare: %v", err)
	}
	if err := c.Remove(testCtx(t)); !errors.Is(err, swarm.ErrAlreadyExists) || !ev.exists(c.name) {
		t.Fatalf("remove: %v", err)
	}
}

func TestRemove(t *testing.T) {
	ev := newEnv(t)
	c := ev.start(ev.task("sleep:300s"))
	id := c.Status().ContainerID
	waited := make(chan error, 1)
	go func() { waited <- c.Wait(testCtx(t)) }()
	if err := c.Remove(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if ev.exists(id) {
		t.Fatal("container still there")
	}
	if err := <-waited; !errors.Is(err, exec.ErrTaskStopped) && !errors.Is(err, ErrContainerLost) {
		t.Fatalf("wait across remove: %v", err)
	}
	if err := c.Remove(testCtx(t)); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if ev.e.known(c.task.ID) {
		t.Fatal("the executor still knows the task")
	}
}

// TestWaitCancelled: Wait returns ctx's error and leaves nothing behind
// (goleak checks the client's goroutines).
func TestWaitCancelled(t *testing.T) {
	ev := newEnv(t)
	c := ev.start(ev.task("sleep:300s"))
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait: %v", err)
	}
}

// TestAdopt: at start, this node's containers of tasks the executor was
// not asked about are removed; other nodes' containers and those of tasks
// already asked about stay. The adopted task fails as lost.
func TestAdopt(t *testing.T) {
	ev := newEnv(t)
	stale := ev.task("sleep:300s")
	ev.start(stale)
	prepared := ev.task("sleep:300s")
	if err := ev.controller(ev.e, prepared).Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	otherNode := swarm.NodeID("node-" + randomID(6))
	t.Cleanup(func() {
		removeLabelled(context.Background(), ev.cli, LabelNodeID+"="+string(otherNode))
	})
	other := ev.task("sleep:300s")
	oc := ev.controller(ev.executor(otherNode), other)
	if err := oc.Prepare(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	mine := &container.Config{Image: imageTag, Labels: map[string]string{labelTestRun: runID, LabelNodeID: string(ev.node)}}
	unmarked, err := ev.cli.ContainerCreate(testCtx(t), client.ContainerCreateOptions{Config: mine, Name: "unmarked-" + randomID(4)})
	if err != nil {
		t.Fatal(err)
	}

	// The daemon restarts: a new executor, asked about one task so far.
	e2 := ev.executor(ev.node)
	keep := ev.controller(e2, prepared)
	if err := e2.Adopt(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if ev.exists(ContainerName(stale)) {
		t.Fatal("the stale container is still there")
	}
	if !ev.exists(oc.name) || !ev.exists(keep.name) || !ev.exists(unmarked.ID) {
		t.Fatal("Adopt removed a container it should have left")
	}

	stale.Status.State = swarm.TaskRunning
	c := ev.controller(e2, stale)
	if err := c.Wait(testCtx(t)); !errors.Is(err, ErrContainerLost) {
		t.Fatalf("wait: %v", err)
	}
	st, err := exec.Do(testCtx(t), stale, c)
	if err != nil || st.State != swarm.TaskFailed || !strings.HasPrefix(st.Err, "task: container lost") {
		t.Fatalf("do: %v %+v", err, st)
	}
}

// TestDo drives a task with exec.Do, one step at a time, from assigned to
// complete, as the agent does.
func TestDo(t *testing.T) {
	ev := newEnv(t)
	task := ev.task("out:done")
	c := ev.controller(ev.e, task)
	var seen []swarm.TaskState
	for !task.Status.State.Terminal() {
		st, err := exec.Do(testCtx(t), task, c)
		if err != nil {
			t.Fatalf("do from %s: %v", task.Status.State, err)
		}
		task.Status = *st
		seen = append(seen, st.State)
	}
	want := []swarm.TaskState{swarm.TaskAccepted, swarm.TaskPreparing, swarm.TaskReady, swarm.TaskStarting, swarm.TaskRunning, swarm.TaskComplete}
	if !slices.Equal(seen, want) {
		t.Fatalf("states %v, want %v", seen, want)
	}
	if task.Status.ContainerID == "" || task.Status.ExitCode != 0 || task.Status.Message != exec.MsgFinished {
		t.Fatalf("status %+v", task.Status)
	}
	if err := c.Remove(testCtx(t)); err != nil || ev.exists(c.name) {
		t.Fatalf("remove: %v", err)
	}
}

// waitLine waits until the task's output has the line.
func waitLine(t *testing.T, c *Controller, line string) {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	found := errors.New("found")
	err := c.Logs(ctx, exec.LogOptions{Follow: true}, exec.LogWriterFunc(func(_ context.Context, m exec.LogMessage) error {
		if string(m.Line) == line {
			return found
		}
		return nil
	}))
	if err != found {
		t.Fatalf("waiting for the line %q: %v", line, err)
	}
}

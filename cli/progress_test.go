package cli

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// convergingDaemon serves the fixture services; the tasks it makes walk
// one state a poll from new to running.
func convergingDaemon(t *testing.T) *fakeDaemon {
	fd := newFixtureDaemon(t)
	fd.mu.Lock()
	withServices(fd)
	fd.svc.converge = true
	fd.mu.Unlock()
	return fd
}

// collapse drops consecutive repeats of a line: how many rounds the
// monitor needs depends on timing, the sequence of distinct lines does not.
func collapse(s string) []string {
	var out []string
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		if len(out) == 0 || out[len(out)-1] != line {
			out = append(out, line)
		}
	}
	return out
}

// progressCases are runs of the convergence monitor without a terminal,
// each on a fresh converging daemon, after the setup commands (run
// detached). The fake's first created service gets ID firstCreatedID.
var progressCases = []struct {
	name  string
	setup [][]string
	args  []string
	want  []string
}{
	{
		name: "create",
		args: []string{"service", "create", "--name", "pong", "--replicas", "2", "--update-monitor", "300ms", "alpine", "ping", "example.com"},
		want: []string{firstCreatedID, "overall progress: 0 out of 2 tasks", "1/2:  ", "2/2:  ", "overall progress: 0 out of 2 tasks",
			"overall progress: 2 out of 2 tasks", "verify: Waiting 1 seconds to verify that tasks are stable...",
			"verify: Service " + firstCreatedID + " converged"},
	},
	{
		name: "create quiet",
		args: []string{"service", "create", "-q", "--name", "pong", "--update-monitor", "200ms", "alpine"},
		want: []string{firstCreatedID},
	},
	{
		name: "create global",
		args: []string{"service", "create", "--mode", "global", "--name", "g", "--update-monitor", "200ms", "busybox"},
		want: []string{firstCreatedID, "overall progress: 0 out of 2 tasks", "overall progress: 2 out of 2 tasks",
			"verify: Waiting 1 seconds to verify that tasks are stable...", "verify: Service " + firstCreatedID + " converged"},
	},
	{
		name:  "update",
		setup: [][]string{{"service", "create", "-d", "--name", "pong", "--update-monitor", "300ms", "alpine"}},
		args:  []string{"service", "update", "--force", "pong"},
		want: []string{"pong", "overall progress: 0 out of 1 tasks", "1/1:  ", "overall progress: 0 out of 1 tasks",
			"overall progress: 1 out of 1 tasks", "verify: Waiting 1 seconds to verify that tasks are stable...", "verify: Service pong converged"},
	},
	{
		name:  "scale",
		setup: [][]string{{"service", "create", "-d", "--name", "pong", "--update-monitor", "300ms", "alpine"}},
		args:  []string{"service", "scale", "pong=3"},
		want: []string{"pong scaled to 3", "overall progress: 0 out of 3 tasks", "1/3:  ", "2/3:  ", "3/3:  ", "overall progress: 0 out of 3 tasks",
			"overall progress: 3 out of 3 tasks", "verify: Waiting 1 seconds to verify that tasks are stable...", "verify: Service pong converged"},
	},
	{
		name: "rollback",
		setup: [][]string{
			{"service", "create", "-d", "--name", "pong", "--update-monitor", "300ms", "alpine"},
			{"service", "update", "-d", "--replicas", "2", "pong"},
		},
		args: []string{"service", "rollback", "pong"},
		want: []string{"pong", "rollback: manually requested rollback", "overall progress: rolling back update: 0 out of 1 tasks", "1/1:  ",
			"overall progress: rolling back update: 0 out of 1 tasks", "overall progress: rolling back update: 1 out of 1 tasks",
			"verify: Waiting 1 seconds to verify that tasks are stable...", "verify: Service pong converged"},
	},
}

// firstCreatedID is the ID the fake daemon gives the first service created.
var firstCreatedID = func() string {
	var st serviceState
	return st.newID()
}()

func runProgressCase(t *testing.T, fd *fakeDaemon, setup [][]string, run func([]string) outcome, args []string) outcome {
	t.Helper()
	for _, s := range setup {
		if _, errOut, code := runCLI(t, fd.host, s...); code != 0 {
			t.Fatalf("%q: exit %d: %s", s, code, errOut)
		}
	}
	return run(args)
}

func TestServiceProgress(t *testing.T) {
	// Polling faster changes how often lines repeat, not which lines.
	defer func(d time.Duration) { pollInterval = d }(pollInterval)
	pollInterval = 20 * time.Millisecond
	for _, pc := range progressCases {
		t.Run(pc.name, func(t *testing.T) {
			fd := convergingDaemon(t)
			got := runProgressCase(t, fd, pc.setup, func(args []string) outcome {
				out, errOut, code := runCLI(t, fd.host, args...)
				return outcome{out, errOut, code}
			}, pc.args)
			if got.code != 0 || got.stderr != "" || !slices.Equal(collapse(got.stdout), pc.want) {
				t.Fatalf("got %s\nlines %q\nwant  %q", got, collapse(got.stdout), pc.want)
			}
		})
	}
}

// TestServiceProgressMatchesDockerCLI runs the progress cases with the
// docker CLI, wherever a docker binary is installed.
func TestServiceProgressMatchesDockerCLI(t *testing.T) {
	bin := dockerBinary(t)
	for _, pc := range progressCases {
		t.Run(pc.name, func(t *testing.T) {
			fd := convergingDaemon(t)
			got := runProgressCase(t, fd, pc.setup, func(args []string) outcome { return runDocker(t, bin, fd.host, args) }, pc.args)
			if got.code != 0 || got.stderr != "" || !slices.Equal(collapse(got.stdout), pc.want) {
				t.Fatalf("docker: %s\nlines %q\nwant  %q", got, collapse(got.stdout), pc.want)
			}
		})
	}
}

// TestServiceProgressInterrupted: a command interrupted while its service
// has not converged leaves it be, says so and succeeds.
func TestServiceProgressInterrupted(t *testing.T) {
	fd := convergingDaemon(t)
	fd.mu.Lock()
	for i := range fd.nodes {
		fd.nodes[i].Status.State = swarm.NodeStateDown // no task can start
	}
	fd.mu.Unlock()
	if _, errOut, code := runCLI(t, fd.host, "service", "create", "-d", "--name", "stuck", "alpine"); code != 0 {
		t.Fatal(errOut)
	}
	api, err := client.New([]string{fd.host})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	if err := waitOnService(&call{ctx: ctx, api: api, out: &out, err: &out}, "stuck", false); err != nil {
		t.Fatal(err)
	}
	want := []string{"overall progress: 0 out of 1 tasks", "1/1:  ", "overall progress: 0 out of 1 tasks",
		"Operation continuing in background.", "Use `shoal service ps stuck` to check progress."}
	if got := collapse(out.String()); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestServiceProgressErrors(t *testing.T) {
	tests := []struct {
		name   string
		status swarm.UpdateStatus
		want   string
	}{
		{"update paused", swarm.UpdateStatus{State: swarm.UpdateStatePaused, Message: "task failed"}, "service update paused: task failed"},
		{"rollback paused", swarm.UpdateStatus{State: swarm.UpdateStateRollbackPaused, Message: "again"}, "service rollback paused: again"},
		{"completed before converging", swarm.UpdateStatus{State: swarm.UpdateStateCompleted}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := convergingDaemon(t)
			fd.mu.Lock()
			fd.svc.services[2].UpdateStatus = &tt.status
			fd.mu.Unlock()
			api, err := client.New([]string{fd.host})
			if err != nil {
				t.Fatal(err)
			}
			defer api.Close()
			var out bytes.Buffer
			err = waitOnService(&call{ctx: context.Background(), api: api, out: &out, err: &out}, "capped", false)
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) || out.Len() != 0 {
				t.Fatalf("err = %v, output %q; want %q", err, out.String(), tt.want)
			}
		})
	}
}

// lineRecorder collects what trackers show.
func lineRecorder() (*lineDisplay, *bytes.Buffer) {
	var b bytes.Buffer
	return newLineDisplay(&b, false, 0), &b
}

func TestReplicatedTracker(t *testing.T) {
	show, out := lineRecorder()
	tr := &replicatedTracker{show: show, rows: map[int]int{}}
	svc := swarm.Service{Spec: swarm.ServiceSpec{Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: ptr[uint64](3)}}}}
	task := func(slot int, node string, desired, state swarm.TaskState, errMsg string) swarm.Task {
		return swarm.Task{Slot: slot, NodeID: node, DesiredState: desired, Status: swarm.TaskStatus{State: state, Err: errMsg}}
	}
	active := map[string]bool{"n1": true}
	tasks := []swarm.Task{
		task(3, "n1", swarm.TaskStateRunning, swarm.TaskStateRunning, ""),
		task(1, "", swarm.TaskStateRunning, swarm.TaskStatePending, "no suitable node (3 nodes not available for new tasks)\nsecond line that makes the message longer than the display allows"),
		task(2, "n1", swarm.TaskStateShutdown, swarm.TaskStateRunning, ""),
		task(2, "n1", swarm.TaskStateRunning, swarm.TaskStateStarting, ""),
		task(3, "gone", swarm.TaskStateRunning, swarm.TaskStateNew, ""),  // on a down node
		task(4, "n1", swarm.TaskStateRunning, swarm.TaskStateRemove, ""), // unknown to the monitor
	}
	done, err := tr.update(svc, tasks, active, false)
	if err != nil || done {
		t.Fatalf("update = %v, %v", done, err)
	}
	want := "overall progress: 0 out of 3 tasks\n1/3:  \n2/3:  \n3/3:  \n" +
		"1/3: no suitable node (3 nodes not available for new tasks) second line that ma…\n" +
		"overall progress: 1 out of 3 tasks\n"
	if out.String() != want {
		t.Fatalf("shown %q\nwant  %q", out.String(), want)
	}
	out.Reset()
	for i := range tasks[:4] {
		tasks[i].Status = swarm.TaskStatus{State: swarm.TaskStateRunning}
	}
	if done, _ := tr.update(svc, tasks[:4], active, true); !done {
		t.Fatal("not converged with every slot running")
	}
	if want := "overall progress: rolling back update: 3 out of 3 tasks\n"; out.String() != want {
		t.Fatalf("shown %q, want %q", out.String(), want)
	}
	if _, err := tr.update(swarm.Service{}, nil, active, false); err == nil || err.Error() != "no replica count" {
		t.Fatalf("no replicas: %v", err)
	}
}

func TestGlobalTracker(t *testing.T) {
	show, out := lineRecorder()
	tr := &globalTracker{show: show}
	if done, _ := tr.update(swarm.Service{}, nil, nil, false); done || out.String() != "overall progress: waiting for new tasks\n" {
		t.Fatalf("no tasks: %v %q", done, out.String())
	}
	out.Reset()
	tasks := []swarm.Task{
		{NodeID: "node-one-0123456789", DesiredState: swarm.TaskStateRunning, Status: swarm.TaskStatus{State: swarm.TaskStateRunning}},
		{NodeID: "node-two-0123456789", DesiredState: swarm.TaskStateRunning, Status: swarm.TaskStatus{State: swarm.TaskStateRejected, Err: "no image"}},
	}
	active := map[string]bool{"node-one-0123456789": true, "node-two-0123456789": true}
	if done, _ := tr.update(swarm.Service{}, tasks, active, false); done {
		t.Fatal("converged with a rejected task")
	}
	want := "overall progress: 0 out of 2 tasks\nnode-two-012: no image\noverall progress: 1 out of 2 tasks\n"
	if out.String() != want {
		t.Fatalf("shown %q\nwant  %q", out.String(), want)
	}
}

// TestLineDisplayTerminal checks the terminal rendering byte for byte
// against what docker 28.2.2 wrote to a 200-column pseudo-terminal for a
// two-replica create (rounds shortened).
func TestLineDisplayTerminal(t *testing.T) {
	var b bytes.Buffer
	d := newLineDisplay(&b, true, 200)
	d.write(progressLine{id: "overall progress", text: "0 out of 2 tasks"})
	d.write(progressLine{id: "1/2", text: " "})
	d.write(progressLine{id: "2/2", text: " "})
	d.write(progressLine{id: "1/2", text: "pending  ", step: 3, steps: 9})
	d.write(progressLine{id: "2/2", text: "running  ", step: 9, steps: 9})
	d.write(progressLine{id: "overall progress", text: "1 out of 2 tasks"})
	d.write(progressLine{id: "verify", text: "Waiting 1 seconds to verify that tasks are stable..."})
	d.write(progressLine{text: "Operation continuing in background.", message: true})
	want := "\n\x1b[1A\x1b[2K\roverall progress: 0 out of 2 tasks \r\x1b[1B" +
		"\n\x1b[1A\x1b[2K\r1/2:   \r\x1b[1B" +
		"\n\x1b[1A\x1b[2K\r2/2:   \r\x1b[1B" +
		"\x1b[2A\x1b[2K\r1/2: pending   [================>                                  ] \r\x1b[2B" +
		"\x1b[1A\x1b[2K\r2/2: running   [==================================================>] \r\x1b[1B" +
		"\x1b[3A\x1b[2K\roverall progress: 1 out of 2 tasks \r\x1b[3B" +
		"\n\x1b[1A\x1b[2K\rverify: Waiting 1 seconds to verify that tasks are stable... \r\x1b[1B" +
		"Operation continuing in background.\n"
	if b.String() != want {
		t.Fatalf("wrote %q\nwant  %q", b.String(), want)
	}

	// A narrow terminal gets no bars; without a terminal, lines with a bar
	// are not printed at all.
	b.Reset()
	newLineDisplay(&b, true, 80).write(progressLine{id: "1/1", text: "running  ", step: 9, steps: 9})
	if want := "\n\x1b[1A\x1b[2K\r1/1: running   \r\x1b[1B"; b.String() != want {
		t.Fatalf("narrow: %q, want %q", b.String(), want)
	}
	b.Reset()
	plain := newLineDisplay(&b, false, 0)
	plain.write(progressLine{id: "1/1", text: "running  ", step: 9, steps: 9})
	plain.write(progressLine{id: "1/1", text: "no suitable node"})
	if want := "1/1: no suitable node\n"; b.String() != want {
		t.Fatalf("no terminal: %q, want %q", b.String(), want)
	}
}

func TestTerminalOfNonFile(t *testing.T) {
	if tty, _ := terminalOf(&bytes.Buffer{}); tty {
		t.Fatal("a buffer is not a terminal")
	}
}

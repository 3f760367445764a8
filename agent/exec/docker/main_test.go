package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/shoal-project/shoal/agent/exec"
	"github.com/shoal-project/shoal/agent/exec/exectest"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

// labelTestRun marks every container the tests create, so the end of the
// run removes whatever a failed test left.
const labelTestRun = "com.shoal.test.run"

var (
	runID = randomID(6)

	setupOnce  sync.Once
	noEngine   error  // the engine cannot be reached: engine tests skip
	setupErr   error  // the test image could not be built: engine tests fail
	imageTag   string // the test image, once built
	imageBuilt bool
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cleanupRun{m})
}

// cleanupRun runs the tests, then removes what they left in the engine
// (before goleak looks for leaks, so its client is counted too).
type cleanupRun struct{ m *testing.M }

func (c cleanupRun) Run() int {
	code := c.m.Run()
	if imageBuilt {
		if err := cleanEngine(); err != nil {
			fmt.Fprintln(os.Stderr, "cleaning the engine:", err)
			code = 1
		}
	}
	return code
}

// cleanEngine removes the run's containers and the test image.
func cleanEngine() error {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := removeLabelled(ctx, cli, labelTestRun+"="+runID); err != nil {
		return err
	}
	_, err = cli.ImageRemove(ctx, imageTag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	return err
}

// removeLabelled force-removes every container with the label.
func removeLabelled(ctx context.Context, cli *client.Client, label string) error {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// setupEngine checks the engine answers and builds the test image once.
func setupEngine() {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		noEngine = err
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	cancel()
	if err != nil {
		noEngine = err
		return
	}
	imageTag = "shoal-test-taskbin:" + runID
	setupErr = buildImage(cli, imageTag)
	imageBuilt = setupErr == nil
}

// buildImage compiles testdata/taskbin statically and builds the image
// FROM scratch through the Engine API: no registry is needed.
func buildImage(cli *client.Client, tag string) error {
	dir, err := os.MkdirTemp("", "shoal-taskbin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "taskbin")
	build := osexec.Command("go", "build", "-o", bin, "./testdata/taskbin/main.go")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build taskbin: %v\n%s", err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	tarball, err := buildContext(map[string][]byte{
		"Dockerfile": []byte("FROM scratch\nCOPY taskbin /taskbin\nENTRYPOINT [\"/taskbin\"]\n"),
		"taskbin":    binary,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cli.ImageBuild(ctx, tarball, client.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("building the test image: %w", err)
	}
	defer res.Body.Close()
	return buildOutcome(res.Body)
}

// buildContext is a tar archive of files (all executable, which only
// matters for the binary).
func buildContext(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// buildOutcome reads the build's JSON message stream to its end and
// returns the error it reports, if any.
func buildOutcome(r io.Reader) error {
	dec := json.NewDecoder(r)
	var out strings.Builder
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the build's output: %w", err)
		}
		out.WriteString(m.Stream)
		if m.Error != nil {
			return fmt.Errorf("building the test image: %s\n%s", m.Error.Message, out.String())
		}
	}
}

// env is one engine test's world: an executor for a node of its own, a
// client to look at the engine, and cleanup of the node's containers.
type env struct {
	t    *testing.T
	node swarm.NodeID
	e    *Executor
	cli  *client.Client
}

// newEnv skips the test when no engine answers.
func newEnv(t *testing.T) *env {
	t.Helper()
	setupOnce.Do(setupEngine)
	if noEngine != nil {
		t.Skipf("no Docker engine reachable (docker runtime tests need one): %v", noEngine)
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	ev := &env{t: t, node: swarm.NodeID("node-" + randomID(6)), cli: cli}
	ev.e = ev.executor(ev.node)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := removeLabelled(ctx, cli, LabelNodeID+"="+string(ev.node)); err != nil {
			t.Errorf("removing the test's containers: %v", err)
		}
		cli.Close()
	})
	return ev
}

// executor makes another executor, for node.
func (ev *env) executor(node swarm.NodeID) *Executor {
	ev.t.Helper()
	e, err := New(Config{NodeID: node})
	if err != nil {
		ev.t.Fatal(err)
	}
	ev.t.Cleanup(func() { e.Close() })
	return e
}

// task is a task of service "web", slot 1, running the test image with
// the given taskbin steps as its arguments.
func (ev *env) task(steps ...string) *swarm.Task {
	id := swarm.TaskID("task" + randomID(8))
	return &swarm.Task{ID: id, ServiceID: "svc" + swarm.ServiceID(randomID(4)), ServiceName: "web", Slot: 1, NodeID: ev.node,
		DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskAssigned},
		Spec: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: imageTag, Args: steps,
			Labels: map[string]string{labelTestRun: runID}}}}
}

func (ev *env) controller(e *Executor, t *swarm.Task) *Controller {
	ev.t.Helper()
	c, err := e.Controller(t)
	if err != nil {
		ev.t.Fatal(err)
	}
	ev.t.Cleanup(func() { c.Close() })
	return c.(*Controller)
}

// start prepares and starts a task on the env's executor.
func (ev *env) start(t *swarm.Task) *Controller {
	ev.t.Helper()
	c := ev.controller(ev.e, t)
	if err := c.Prepare(testCtx(ev.t)); err != nil {
		ev.t.Fatalf("prepare: %v", err)
	}
	if err := c.Start(testCtx(ev.t)); err != nil {
		ev.t.Fatalf("start: %v", err)
	}
	return c
}

// run starts a task and waits for it to exit.
func (ev *env) run(t *swarm.Task) (*Controller, error) {
	ev.t.Helper()
	c := ev.start(t)
	return c, c.Wait(testCtx(ev.t))
}

// inspect returns the container of c's task.
func (ev *env) inspect(c *Controller) container.InspectResponse {
	ev.t.Helper()
	res, err := ev.cli.ContainerInspect(testCtx(ev.t), c.name, client.ContainerInspectOptions{})
	if err != nil {
		ev.t.Fatal(err)
	}
	return res.Container
}

// exists reports whether a container of that name or ID exists.
func (ev *env) exists(ref string) bool {
	ev.t.Helper()
	_, err := ev.cli.ContainerInspect(testCtx(ev.t), ref, client.ContainerInspectOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		ev.t.Fatal(err)
	}
	return err == nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func grace(d time.Duration) *time.Duration { return &d }

func wantExit(t *testing.T, err error, code int, stopped bool) {
	t.Helper()
	var ec exec.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != code || errors.Is(err, exec.ErrTaskStopped) != stopped {
		t.Fatalf("wait: %v; want exit code %d, stopped %v", err, code, stopped)
	}
}

func logs(t *testing.T, c *Controller, opts exec.LogOptions) *exectest.LogCollector {
	t.Helper()
	var col exectest.LogCollector
	if err := c.Logs(testCtx(t), opts, &col); err != nil {
		t.Fatalf("logs: %v", err)
	}
	return &col
}

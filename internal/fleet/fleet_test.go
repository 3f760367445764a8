package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-project/shoal/client"
	"github.com/shoal-project/shoal/swarm"
	"go.uber.org/goleak"
)

// shoalBin is the daemon binary, built once by TestMain.
var shoalBin string

func TestMain(m *testing.M) {
	err := HeavyTestLock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "shoal-fleet-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(2)
	}
	shoalBin, err = BuildShoal(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// startManager starts one daemon and makes it a one-manager swarm.
func startManager(t *testing.T, ctx context.Context) *Daemon {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "sfl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	dir := t.TempDir()
	d, err := StartDaemon(ctx, DaemonConfig{Bin: shoalBin, Name: "mgr1", IP: "127.0.1.1", Dir: dir,
		Socket: filepath.Join(sockDir, "m.sock")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			logTail(t, d)
		}
	})
	if err := d.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func logTail(t *testing.T, d *Daemon) {
	b, err := os.ReadFile(d.LogPath())
	if err != nil {
		return
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	t.Logf("%s log tail:\n%s", d.Name(), b)
}

func TestFleetRunsAService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	mgr := startManager(t, ctx)
	api := mgr.Client()
	sw, err := api.SwarmInspect(ctx)
	if err != nil {
		t.Fatal(err)
	}

	f, err := Start(ctx, FleetConfig{Managers: []string{mgr.Addr()}, Token: sw.JoinTokens.Worker, Nodes: 5, Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Stop(); err != nil {
			t.Errorf("sessions ended on their own: %v", err)
		}
	}()
	if err := WaitReady(ctx, api, f.Names(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	checkWorkers(t, ctx, api, f)

	id, _, err := api.ServiceCreate(ctx, ReplicatedService("web", 10), client.ServiceCreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitRunning(ctx, api, id, 10, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if held := f.RunningTasks(); held != 10 {
		t.Errorf("the scripted runtimes run %d tasks, want 10", held)
	}

	// Two machines die: their tasks stop counting at once, and the
	// managers run their slots on the three live nodes.
	if killed := f.Kill(2); len(killed) != 2 {
		t.Fatalf("killed %v, want two nodes", killed)
	}
	if held := f.RunningTasks(); held >= 10 {
		t.Fatalf("right after two of five nodes died, the live ones run %d tasks", held)
	}
	err = Poll(ctx, 15*time.Second, 100*time.Millisecond, func() error {
		if held := f.RunningTasks(); held != 10 {
			return fmt.Errorf("the live nodes run %d tasks, want 10", held)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkWorkers checks that the simulated nodes are workers with the IDs the
// join gave them.
func checkWorkers(t *testing.T, ctx context.Context, api *client.Client, f *Fleet) {
	t.Helper()
	for _, n := range f.Nodes() {
		got, _, err := api.NodeInspect(ctx, string(n.ID()))
		if err != nil {
			t.Fatal(err)
		}
		if got.Description.Hostname != n.Name() || got.Spec.Role != "worker" {
			t.Errorf("node %s: hostname %q role %q, want %q worker", n.ID(), got.Description.Hostname, got.Spec.Role, n.Name())
		}
	}
}

func TestJoinRefusesABadToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mgr := startManager(t, ctx)
	sw, err := mgr.Client().SwarmInspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok := sw.JoinTokens.Worker
	bad := tok[:len(tok)-1] + string(rune('a'+(tok[len(tok)-1]-'a'+1)%26))
	_, err = Join(ctx, Config{Managers: []string{mgr.Addr()}, Token: bad, Name: "bad", Addr: simAddr(0)})
	if !errors.Is(err, swarm.ErrInvalidArgument) {
		t.Fatalf("join with a wrong secret: got %v, want an invalid-argument refusal", err)
	}
}

func TestSimAddrsDiffer(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		a := simAddr(i)
		if seen[a] {
			t.Fatalf("address %s given twice", a)
		}
		seen[a] = true
	}
}

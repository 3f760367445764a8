package orchestrator

import (
	"context"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// storeOld writes a service as an older version's log may hold it:
// straight into the store, past today's limits (the store applies what the
// log says; the limits are checked before proposing).
func (w *world) storeOld(svc *swarm.Service) {
	w.t.Helper()
	w.must(w.p.Store.Apply(w.p.Store.Index()+1, &store.Command{Op: store.OpCreateService, Time: time.Now(), Service: svc}))
}

func oldService(id, image string, replicas uint64) *swarm.Service {
	return &swarm.Service{ID: swarm.ServiceID(id), Spec: swarm.ServiceSpec{Name: id, Mode: swarm.ModeReplicated, Replicas: replicas,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: image, Args: []string{"sleep", "1000"}}}}}
}

// TestBadServiceDoesNotStopOthers: services the orchestrator cannot act on
// (2^64-1 replicas from an old log, which panicked with makeslice; 10^9
// would run it out of memory, refused the same way but not tried here; one
// whose reconcile panics; one whose report is too large to write) are left as they are, their failure written on
// them once, and the other services are reconciled.
func TestBadServiceDoesNotStopOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1", "n2")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w.storeOld(oldService("max", "busybox", math.MaxUint64))
		huge := oldService("huge", "busybox", math.MaxUint64)
		huge.Spec.Labels = map[string]string{"big": strings.Repeat("x", 2<<20)}
		w.storeOld(huge)
		boom := oldService("boom", "boom", 0)
		boom.Spec.Mode = swarm.ModeGlobal
		w.storeOld(boom)
		fits := func(ts *swarm.TaskSpec) func(*swarm.Node) bool {
			if ts.Container.Image == "boom" {
				panic("a bug meets this service")
			}
			return func(*swarm.Node) bool { return true }
		}
		go New(Config{Store: w.p.Store, Proposer: w.p, Fits: fits}).Run(ctx)
		go w.fakeCluster(ctx)
		id := w.createService("ok", 2)
		settle()
		if got := w.running(id); len(got) != 2 {
			t.Fatalf("the good service runs %v, want slots 1 and 2", got)
		}
		for id, want := range map[string]string{
			"max":  "cannot reconcile this service: 18446744073709551615 replicas is more than the maximum of 100000",
			"boom": "cannot reconcile this service: reconciling it failed: a bug meets this service",
		} {
			svc, err := store.GetService(w.p.Store.ReadTxn(), swarm.ServiceID(id))
			w.must(err)
			if s := svc.UpdateStatus; s == nil || s.State != swarm.UpdatePaused || !strings.Contains(s.Message, want) {
				t.Errorf("service %s: update status %+v, want paused saying %q", id, s, want)
			}
			if n := len(w.tasks(svc.ID)); n != 0 {
				t.Errorf("service %s has %d tasks", id, n)
			}
		}
		// Reported once: later passes do not write them again.
		versions := map[swarm.ServiceID]uint64{}
		services, _ := store.ListServices(w.p.Store.ReadTxn())
		for _, s := range services {
			versions[s.ID] = s.Version
		}
		w.update(id, func(s *swarm.ServiceSpec) { s.Replicas = 3 })
		settle()
		if got := w.running(id); len(got) != 3 {
			t.Fatalf("after scale up the good service runs %v", got)
		}
		for _, bad := range []swarm.ServiceID{"max", "boom"} {
			svc, _ := store.GetService(w.p.Store.ReadTxn(), bad)
			if svc.Version != versions[bad] {
				t.Errorf("service %s written again (version %d -> %d)", bad, versions[bad], svc.Version)
			}
		}
	})
}

// TestMaxAttemptsHuge: MaxAttempts 2^64-1 means practically unlimited
// restarts (it overflowed to -1: never restarted).
func TestMaxAttemptsHuge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		svc := oldService("crash", "busybox", 1)
		attempts, delay := uint64(math.MaxUint64), time.Second
		svc.Spec.Task.RestartPolicy = swarm.RestartPolicy{Condition: swarm.RestartAny, MaxAttempts: &attempts, Delay: &delay}
		w.must(w.p.Propose(w.ctx, store.NewCreateService(svc)))
		w.run(ctx)
		settle()
		failOnce(w, svc.ID)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := w.running(svc.ID); got[1] != 1 {
			t.Fatalf("not restarted with MaxAttempts 2^64-1: %v", got)
		}
	})
}

// TestNegativeDelayFromOldLog: a negative restart delay (refused today,
// accepted before) restarts after the default delay, not in a tight loop.
func TestNegativeDelayFromOldLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, "n1")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		svc := oldService("crash", "busybox", 1)
		delay := -time.Hour
		svc.Spec.Task.RestartPolicy = swarm.RestartPolicy{Condition: swarm.RestartAny, Delay: &delay}
		w.must(w.p.Propose(w.ctx, store.NewCreateService(svc)))
		w.run(ctx)
		settle()
		failOnce(w, svc.ID)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := w.running(svc.ID); got[1] != 0 {
			t.Fatalf("restarted at once with a negative delay: %v", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := w.running(svc.ID); got[1] != 1 {
			t.Fatalf("not restarted after the default delay: %v", got)
		}
	})
}

// failOnce makes the service's running task fail.
func failOnce(w *world, id swarm.ServiceID) {
	w.t.Helper()
	for _, task := range w.tasks(id) {
		if task.DesiredState == swarm.TaskRunning && task.Status.State == swarm.TaskRunning {
			failed := &swarm.TaskStatus{State: swarm.TaskFailed, Err: "task: non-zero exit (1)", Timestamp: time.Now()}
			w.must(w.p.Propose(w.ctx, store.NewUpdateTaskStatus([]store.TaskChange{{ID: task.ID, Status: failed}})))
			return
		}
	}
	w.t.Fatal("no running task to fail")
}

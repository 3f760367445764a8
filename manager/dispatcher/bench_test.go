package dispatcher

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-project/shoal/dispatchapi"
	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// BenchmarkAssignmentFanOut measures one change of one node's tasks while
// 1,000 nodes wait in their assignments long poll: the change is applied
// and the one node's poll answers. A cost that grows with the number of
// waiting nodes means every poll wakes at every change.
func BenchmarkAssignmentFanOut(b *testing.B) {
	const nodes = 1000
	p := storetest.NewProposer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(p.Propose(ctx, store.NewCreateCluster(&swarm.Cluster{ID: "c", Spec: swarm.DefaultClusterSpec()})))
	var tasks []*swarm.Task
	var place []store.TaskChange
	for i := range nodes {
		id := swarm.NodeID(fmt.Sprintf("n%04d", i))
		must(p.Propose(ctx, store.NewCreateNode(&swarm.Node{ID: id, Spec: swarm.NodeSpec{Role: swarm.RoleWorker}})))
		tid := swarm.TaskID(fmt.Sprintf("t%04d", i))
		tasks = append(tasks, &swarm.Task{ID: tid, ServiceID: "s", DesiredState: swarm.TaskRunning, Status: swarm.TaskStatus{State: swarm.TaskPending}})
		place = append(place, store.TaskChange{ID: tid, NodeID: id})
	}
	must(p.Propose(ctx, store.NewCreateTasks(tasks)))
	must(p.Propose(ctx, store.NewAssignTasks(place)))
	d := New(Config{Store: p.Store, Proposer: p, Managers: func() []dispatchapi.Peer { return nil }})
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()

	// Every node but the measured one waits in a long poll.
	fps := make([]string, nodes)
	for i := range nodes {
		r, err := d.Assignments(ctx, swarm.NodeID(fmt.Sprintf("n%04d", i)), dispatchapi.AssignmentsRequest{})
		must(err)
		fps[i] = r.Fingerprint
	}
	waiting := make(chan error, nodes)
	for i := 1; i < nodes; i++ {
		go func() {
			_, err := d.Assignments(ctx, swarm.NodeID(fmt.Sprintf("n%04d", i)), dispatchapi.AssignmentsRequest{Fingerprint: fps[i]})
			waiting <- err
		}()
	}
	running := swarm.TaskStatus{State: swarm.TaskRunning}
	settle()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// A status report from node 0 (changes no fingerprint), then a new
		// spec version for its task (changes it): node 0's poll answers.
		must(p.Propose(ctx, store.NewUpdateTaskStatus([]store.TaskChange{{ID: "t0000", Status: &running}})))
		must(p.Propose(ctx, store.NewRefreshTasks([]store.TaskChange{{ID: "t0000", SpecVersion: uint64(i + 1)}})))
		r, err := d.Assignments(ctx, "n0000", dispatchapi.AssignmentsRequest{Fingerprint: fps[0]})
		must(err)
		fps[0] = r.Fingerprint
	}
	b.StopTimer()
	settle()
	// Wall time shows only the changed node's answer; the other polls'
	// wake-ups run beside it, on the other core. CPU time counts them.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	cancel()
	<-done
	for i := 1; i < nodes; i++ {
		<-waiting
	}
}

// cpuTime is the process's user plus system CPU time, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// settle gives woken goroutines time to finish their work before CPU time
// is read. There is no event to wait on (a poll that finds nothing new
// just waits again), and a synctest bubble would not measure real CPU.
func settle() { time.Sleep(200 * time.Millisecond) }

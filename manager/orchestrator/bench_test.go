package orchestrator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

// BenchmarkPassSteady is one orchestrator pass over a converged service of
// 10,000 running tasks on 1,000 nodes (what each wake-up of the loop costs
// when, say, one node went down).
func BenchmarkPassSteady(b *testing.B) {
	p := storetest.NewProposer()
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(p.Propose(ctx, store.NewCreateCluster(&swarm.Cluster{ID: "c", Spec: swarm.DefaultClusterSpec()})))
	const nodes, tasks = 1000, 10000
	for i := range nodes {
		n := &swarm.Node{ID: swarm.NodeID(fmt.Sprintf("node%04d", i)), Spec: swarm.NodeSpec{Role: swarm.RoleWorker, Availability: swarm.AvailabilityActive},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady}}
		must(p.Propose(ctx, store.NewCreateNode(n)))
	}
	svc := &swarm.Service{ID: "s1", Spec: swarm.ServiceSpec{Name: "bench", Mode: swarm.ModeReplicated, Replicas: tasks,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Command: []string{"sleep", "1d"}}}}}
	must(p.Propose(ctx, store.NewCreateService(svc)))
	svc, err := store.GetService(p.Store.ReadTxn(), "s1")
	must(err)
	now := time.Now()
	var ts []*swarm.Task
	for i := range tasks {
		t := svc.NewTask(swarm.TaskID(fmt.Sprintf("task%05d", i)), i+1, swarm.NodeID(fmt.Sprintf("node%04d", i%nodes)), now)
		t.Status = swarm.TaskStatus{State: swarm.TaskRunning, Timestamp: now}
		ts = append(ts, t)
	}
	must(p.Propose(ctx, store.NewCreateTasks(ts)))
	for b.Loop() {
		pl := newPlan(p.Store.ReadTxn(), now)
		pl.reconcileAll()
		if cmds := pl.commands(); len(cmds) != 0 {
			b.Fatalf("a converged service gave %d phases of commands", len(cmds))
		}
	}
}

package scheduler

import (
	"context"
	"fmt"
	"testing"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/manager/storetest"
	"github.com/shoal-project/shoal/swarm"
)

const (
	benchNodes    = 1000
	benchTasks    = 10000
	benchServices = 10
)

// benchCluster is 1,000 nodes in 4 zones, a tenth of them managers, and
// 10,000 waiting tasks of 10 services: some constrained to a zone or to
// workers, some reserving CPU and memory, some capped per node.
func benchCluster() ([]*swarm.Node, []*swarm.Task) {
	nodes := make([]*swarm.Node, benchNodes)
	for i := range nodes {
		opts := []func(*swarm.Node){label("zone", fmt.Sprintf("z%d", i%4))}
		if i%10 == 0 {
			opts = append(opts, manager)
		}
		nodes[i] = node(fmt.Sprintf("node%04d", i), opts...)
	}
	var pending []*swarm.Task
	for s := range benchServices {
		var opts []func(*swarm.Task)
		switch s % 4 {
		case 1:
			opts = append(opts, constraints(fmt.Sprintf("node.labels.zone==z%d", s%4)))
		case 2:
			opts = append(opts, constraints("node.role!=manager"), reserve(0.25, 256<<20))
		case 3:
			opts = append(opts, maxPerNode(2))
		}
		pending = append(pending, tasks(fmt.Sprintf("svc%02d", s), benchTasks/benchServices, opts...)...)
	}
	return nodes, pending
}

// BenchmarkSchedule places 10,000 tasks on 1,000 nodes per iteration.
func BenchmarkSchedule(b *testing.B) {
	nodes, pending := benchCluster()
	snap := NewSnapshot(nodes, nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if ds := Schedule(snap, pending); len(ds) != benchTasks {
			b.Fatalf("%d decisions", len(ds))
		}
		n++
	}
	b.ReportMetric(float64(n*benchTasks)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkPass adds what a pass of the loop does before scheduling:
// reading the nodes and tasks from the store and building the snapshot.
func BenchmarkPass(b *testing.B) {
	nodes, pending := benchCluster()
	p := storetest.NewProposer()
	ctx := context.Background()
	for _, n := range nodes {
		if err := p.Propose(ctx, store.NewCreateNode(n)); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Propose(ctx, store.NewCreateTasks(pending)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		snap, waiting, err := ReadSnapshot(p.Store.ReadTxn())
		if err != nil || len(waiting) != benchTasks {
			b.Fatalf("%d waiting, %v", len(waiting), err)
		}
		Schedule(snap, waiting)
		n++
	}
	b.ReportMetric(float64(n*benchTasks)/b.Elapsed().Seconds(), "tasks/s")
}

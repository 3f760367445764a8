package controlapi

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-project/shoal/manager/store"
	"github.com/shoal-project/shoal/swarm"
)

// nodeVersion is a node's current version, as a client reads it first.
func nodeVersion(t *testing.T, f *fixture, id swarm.NodeID) uint64 {
	t.Helper()
	n, err := store.GetNode(f.p.Store.ReadTxn(), id)
	if err != nil {
		t.Fatal(err)
	}
	return n.Version
}

func okSpec(name string) swarm.ServiceSpec {
	return swarm.ServiceSpec{Name: name, Mode: swarm.ModeReplicated, Replicas: 1,
		Task: swarm.TaskSpec{Container: swarm.ContainerSpec{Image: "busybox", Command: []string{"sleep", "1"}}}}
}

// TestServiceLimitsRefusedBeforeStoring: replicas, labels, whole-spec size
// and negative restart delays beyond the limits are refused with a clear
// error, and nothing is written.
func TestServiceLimitsRefusedBeforeStoring(t *testing.T) {
	f := newFixture(t, "m1")
	ctx := context.Background()
	neg := -time.Second
	huge := strings.Repeat("x", swarm.MaxLabelBytes)
	cases := []struct {
		name   string
		change func(*swarm.ServiceSpec)
		want   string
	}{
		{"2^64-1 replicas", func(s *swarm.ServiceSpec) { s.Replicas = math.MaxUint64 }, "a service may have at most 100000 replicas"},
		{"2^31 replicas", func(s *swarm.ServiceSpec) { s.Replicas = 1 << 31 }, "invalid replicas value 2147483648"},
		{"10^9 replicas", func(s *swarm.ServiceSpec) { s.Replicas = 1e9 }, "invalid replicas value 1000000000"},
		{"negative restart delay", func(s *swarm.ServiceSpec) { s.Task.RestartPolicy.Delay = &neg }, "TaskSpec: restart-delay cannot be negative"},
		{"negative restart window", func(s *swarm.ServiceSpec) { s.Task.RestartPolicy.Window = &neg }, "TaskSpec: restart-window cannot be negative"},
		{"huge service label", func(s *swarm.ServiceSpec) { s.Labels = map[string]string{"k": huge} }, "service labels are too large"},
		{"many container labels", func(s *swarm.ServiceSpec) {
			s.Task.Container.Labels = map[string]string{}
			for i := range 100_000 {
				s.Task.Container.Labels["label"+strconv.Itoa(i)] = ""
			}
		}, "container labels are too large"},
		{"huge env", func(s *swarm.ServiceSpec) {
			s.Task.Container.Env = []string{"A=" + strings.Repeat("x", swarm.MaxSpecBytes)}
		}, "service spec is too large"},
	}
	for _, tc := range cases {
		spec := okSpec("s")
		tc.change(&spec)
		before := f.p.Calls
		_, err := f.srv.CreateService(ctx, spec)
		wantErr(t, err, swarm.ErrInvalidArgument, tc.want)
		if f.p.Calls != before {
			t.Errorf("%s: a refused create wrote something", tc.name)
		}
	}
	// The same through an update.
	id, err := f.srv.CreateService(ctx, okSpec("s"))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := store.GetService(f.p.Store.ReadTxn(), id)
	spec := okSpec("s")
	spec.Replicas = math.MaxUint64
	wantErr(t, f.srv.UpdateService(ctx, "s", svc.Version, spec, UpdateServiceOptions{}), swarm.ErrInvalidArgument, "at most 100000 replicas")
	spec.Replicas = swarm.MaxReplicas // the limit itself is fine
	if err := f.srv.UpdateService(ctx, "s", svc.Version, spec, UpdateServiceOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestVersionZeroRefused: an update naming version 0 is refused as a stale
// one (the store reads 0 as "any version"; from a user it skipped the
// check), for services, nodes and the cluster.
func TestVersionZeroRefused(t *testing.T) {
	f := newFixture(t, "m1")
	ctx := context.Background()
	if _, err := f.srv.CreateService(ctx, okSpec("s")); err != nil {
		t.Fatal(err)
	}
	before := f.p.Calls
	spec := okSpec("s")
	spec.Replicas = 3
	wantErr(t, f.srv.UpdateService(ctx, "s", 0, spec, UpdateServiceOptions{}), swarm.ErrOutOfSequence, "update out of sequence")
	wantErr(t, f.srv.UpdateNode(ctx, "m1", 0, swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityDrain}),
		swarm.ErrOutOfSequence, "update out of sequence")
	c, _ := store.GetCluster(f.p.Store.ReadTxn())
	wantErr(t, f.srv.UpdateCluster(ctx, 0, c.Spec, Rotation{WorkerToken: true}), swarm.ErrOutOfSequence, "update out of sequence")
	if f.p.Calls != before {
		t.Fatal("an update with version 0 wrote something")
	}
}

// TestNodeAndClusterLimits: node and cluster names and labels are bounded.
func TestNodeAndClusterLimits(t *testing.T) {
	f := newFixture(t, "m1")
	ctx := context.Background()
	before := f.p.Calls
	spec := swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive, Labels: map[string]string{"k": strings.Repeat("v", 100<<20)}}
	wantErr(t, f.srv.UpdateNode(ctx, "m1", nodeVersion(t, f, "m1"), spec), swarm.ErrInvalidArgument, "node labels are too large: 104857601 bytes")
	spec = swarm.NodeSpec{Role: swarm.RoleManager, Availability: swarm.AvailabilityActive, Name: strings.Repeat("n", 256)}
	wantErr(t, f.srv.UpdateNode(ctx, "m1", nodeVersion(t, f, "m1"), spec), swarm.ErrInvalidArgument, "node name is too long")
	c, _ := store.GetCluster(f.p.Store.ReadTxn())
	cs := c.Spec
	cs.Labels = map[string]string{"k": strings.Repeat("v", swarm.MaxLabelBytes)}
	wantErr(t, f.srv.UpdateCluster(ctx, c.Version, cs, Rotation{}), swarm.ErrInvalidArgument, "cluster labels are too large")
	if f.p.Calls != before {
		t.Fatal("a refused update wrote something")
	}
}

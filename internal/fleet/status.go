package fleet

import (
	"context"
	"fmt"
	"time"

	mswarm "github.com/moby/moby/api/types/swarm"
	"github.com/shoal-project/shoal/client"
)

// clusterPoll is how often the waits below ask a manager; slower than
// pollInterval, so that waiting does not load the leader much.
const clusterPoll = 100 * time.Millisecond

// ReadyCount counts the nodes named in names that node ls shows Ready.
func ReadyCount(ctx context.Context, api *client.Client, names []string) (int, error) {
	nodes, err := api.NodeList(ctx, nil)
	if err != nil {
		return 0, err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	ready := 0
	for _, n := range nodes {
		if want[n.Description.Hostname] && n.Status.State == mswarm.NodeStateReady {
			ready++
		}
	}
	return ready, nil
}

// WaitReady waits until node ls shows every node named in names Ready.
func WaitReady(ctx context.Context, api *client.Client, names []string, timeout time.Duration) error {
	return Poll(ctx, timeout, clusterPoll, func() error {
		n, err := ReadyCount(ctx, api, names)
		if err == nil && n < len(names) {
			err = fmt.Errorf("%d of %d nodes ready", n, len(names))
		}
		return err
	})
}

// RunningTasks is the service's running task count, as service ls
// --status (ServiceStatus) reports it.
func RunningTasks(ctx context.Context, api *client.Client, serviceID string) (uint64, error) {
	services, err := api.ServiceList(ctx, client.NewFilters().Add("id", serviceID), true)
	if err != nil {
		return 0, err
	}
	for _, s := range services {
		if s.ID == serviceID && s.ServiceStatus != nil {
			return s.ServiceStatus.RunningTasks, nil
		}
	}
	return 0, fmt.Errorf("service %s not listed with a status", serviceID)
}

// WaitRunning waits until the service has want tasks running.
func WaitRunning(ctx context.Context, api *client.Client, serviceID string, want uint64, timeout time.Duration) error {
	return Poll(ctx, timeout, clusterPoll, func() error {
		n, err := RunningTasks(ctx, api, serviceID)
		if err == nil && n != want {
			err = fmt.Errorf("%d of %d tasks running", n, want)
		}
		return err
	})
}

// ReplicatedService is a spec of a replicated service whose tasks run on
// workers only (the simulated nodes, not the managers' real runtime) and
// run until stopped.
func ReplicatedService(name string, replicas uint64) mswarm.ServiceSpec {
	return mswarm.ServiceSpec{
		Annotations: mswarm.Annotations{Name: name},
		TaskTemplate: mswarm.TaskSpec{
			ContainerSpec: &mswarm.ContainerSpec{Image: "busybox:latest", Command: []string{"sleep", "infinity"}},
			Placement:     &mswarm.Placement{Constraints: []string{"node.role==worker"}},
		},
		Mode: mswarm.ServiceMode{Replicated: &mswarm.ReplicatedService{Replicas: &replicas}},
	}
}

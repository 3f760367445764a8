package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	sdk "github.com/moby/moby/client"
)

// sdkCall bounds one SDK request made inside a polling loop.
const sdkCall = 5 * time.Second

// TestDockerGoSDK drives a shoal swarm through the official Docker Go SDK
// (github.com/moby/moby/client), as a program built on it would: version
// negotiation, init, join, node and service lifecycle, logs and the error
// classes the SDK derives from the HTTP status. Each step stops the test on
// failure, since the next one builds on it.
func TestDockerGoSDK(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	dev01, dev02, dev03 := c.nodes[0], c.nodes[1], c.nodes[2]
	wire := &wireLog{}
	api := map[*node]*sdk.Client{}
	for _, n := range c.nodes {
		n.port = freePort(t, n.ip)
		api[n] = sdkClient(t, n, wire)
	}
	marker := taskMarker()
	var (
		dev01ID   string
		serviceID string
		firstRun  map[int]swarm.Task // slot → task before the forced update
	)

	step := func(name string, f func(t *testing.T, ctx context.Context)) {
		ok := t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*converge)
			defer cancel()
			f(t, ctx)
		})
		if !ok {
			t.Logf("SDK exchanges so far:\n%s", wire)
			t.FailNow()
		}
	}

	step("negotiate", func(t *testing.T, ctx context.Context) {
		ping, err := api[dev01].Ping(ctx, sdk.PingOptions{NegotiateAPIVersion: true})
		if err != nil {
			t.Fatal(err)
		}
		if ping.APIVersion != "1.50" || api[dev01].ClientVersion() != "1.50" {
			t.Errorf("ping says API %q, client negotiated %q; want 1.50 for both", ping.APIVersion, api[dev01].ClientVersion())
		}
		if ping.SwarmStatus == nil || ping.SwarmStatus.NodeState != swarm.LocalNodeStateInactive || ping.SwarmStatus.ControlAvailable {
			t.Errorf("ping swarm status before init: %+v", ping.SwarmStatus)
		}
	})

	step("init", func(t *testing.T, ctx context.Context) {
		res, err := api[dev01].SwarmInit(ctx, sdk.SwarmInitOptions{ListenAddr: dev01.addr(), AdvertiseAddr: dev01.addr()})
		if err != nil {
			t.Fatal(err)
		}
		if res.NodeID == "" {
			t.Fatal("SwarmInit returned no node ID")
		}
		dev01ID = res.NodeID
		wantSwarmStatus(t, ctx, api[dev01], true)
	})

	step("join", func(t *testing.T, ctx context.Context) {
		res, err := api[dev01].SwarmInspect(ctx, sdk.SwarmInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tokens := res.Swarm.JoinTokens
		if res.Swarm.ID == "" || !strings.HasPrefix(tokens.Worker, "SWMTKN-1-") || !strings.HasPrefix(tokens.Manager, "SWMTKN-1-") || tokens.Worker == tokens.Manager {
			t.Fatalf("SwarmInspect: ID %q, tokens %+v", res.Swarm.ID, tokens)
		}
		// The worker first: once dev02 makes two managers, the leader
		// may be missing for a moment (see whileNoLeader).
		joins := []struct {
			n     *node
			token string
		}{{dev03, tokens.Worker}, {dev02, tokens.Manager}}
		for _, j := range joins {
			whileNoLeader(t, func() error {
				_, err := api[j.n].SwarmJoin(ctx, sdk.SwarmJoinOptions{
					ListenAddr: j.n.addr(), AdvertiseAddr: j.n.addr(), RemoteAddrs: []string{dev01.addr()}, JoinToken: j.token,
				})
				if err != nil {
					return fmt.Errorf("SwarmJoin on %s: %w", j.n.name, err)
				}
				return nil
			})
		}
		wantSwarmStatus(t, ctx, api[dev02], true)
		wantSwarmStatus(t, ctx, api[dev03], false)
	})

	step("node list", func(t *testing.T, ctx context.Context) {
		addrs := map[string]string{"dev01": dev01.addr(), "dev02": dev02.addr()}
		for _, via := range []*node{dev01, dev02} {
			eventually(t, converge, func() error { return checkNodeList(ctx, api[via], dev01ID, addrs) })
		}
		whileNoLeader(t, func() error {
			res, err := api[dev01].NodeList(ctx, sdk.NodeListOptions{Filters: make(sdk.Filters).Add("role", "manager")})
			if err != nil {
				return err
			}
			if names := hostnames(res.Items); !slices.Equal(names, []string{"dev01", "dev02"}) {
				t.Errorf("NodeList role=manager: %v", names)
			}
			return nil
		})
	})

	// The service steps run on a single manager, so that a leader missing
	// for a moment (see whileNoLeader) cannot fail them. Demoting is
	// itself an SDK read-modify-write.
	step("demote", func(t *testing.T, ctx context.Context) {
		whileNoLeader(t, func() error {
			res, err := api[dev01].NodeInspect(ctx, "dev02", sdk.NodeInspectOptions{})
			if err != nil {
				return err
			}
			spec := res.Node.Spec
			spec.Role = swarm.NodeRoleWorker
			_, err = api[dev01].NodeUpdate(ctx, res.Node.ID, sdk.NodeUpdateOptions{Version: res.Node.Version, Spec: spec})
			return err
		})
		eventually(t, converge, func() error {
			ctx, cancel := context.WithTimeout(ctx, sdkCall)
			defer cancel()
			res, err := api[dev01].NodeList(ctx, sdk.NodeListOptions{Filters: make(sdk.Filters).Add("role", "manager")})
			if err != nil {
				return err
			}
			if names := hostnames(res.Items); !slices.Equal(names, []string{"dev01"}) || managerStatus(res.Items[0]) != "Leader" {
				return fmt.Errorf("managers after the demotion: %v", names)
			}
			return nil
		})
		wantSwarmStatus(t, ctx, api[dev02], false)
	})

	step("service create", func(t *testing.T, ctx context.Context) {
		replicas := uint64(2)
		spec := swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: "sdk"},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
				Image: "busybox",
				Args:  []string{"sh", "-c", "echo hello-sdk; exec sleep " + marker},
			}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
			UpdateConfig: &swarm.UpdateConfig{Parallelism: 1, Monitor: time.Second},
		}
		// QueryRegistry makes the SDK ask /distribution for the digest,
		// as `docker service create` does; shoal has no registry and must
		// leave the image unpinned without a warning.
		res, err := api[dev01].ServiceCreate(ctx, sdk.ServiceCreateOptions{Spec: spec, QueryRegistry: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID == "" || len(res.Warnings) > 0 {
			t.Fatalf("ServiceCreate: ID %q, warnings %q", res.ID, res.Warnings)
		}
		serviceID = res.ID
		svc := inspectService(t, ctx, api[dev01], "sdk")
		if svc.ID != serviceID || svc.Spec.Name != "sdk" || svc.Spec.TaskTemplate.ContainerSpec.Image != "busybox:latest" ||
			*svc.Spec.Mode.Replicated.Replicas != 2 || svc.Version.Index == 0 {
			t.Errorf("ServiceInspect: ID %s, name %q, image %q, replicas %d, version %d",
				svc.ID, svc.Spec.Name, svc.Spec.TaskTemplate.ContainerSpec.Image, *svc.Spec.Mode.Replicated.Replicas, svc.Version.Index)
		}
		_, err = api[dev01].ServiceCreate(ctx, sdk.ServiceCreateOptions{Spec: spec})
		wantErr(t, "ServiceCreate with a taken name", err, cerrdefs.IsConflict, "already exists")
	})

	step("tasks run", func(t *testing.T, ctx context.Context) {
		firstRun = waitRunning(t, ctx, api[dev01], "sdk", 2)
		eventually(t, converge, func() error { return checkServiceStatus(ctx, api[dev01], "sdk", 2) })
	})

	step("service logs", func(t *testing.T, ctx context.Context) {
		eventually(t, converge, func() error { return checkLogs(ctx, api[dev01], "sdk", 2) })
		if err := followLogs(ctx, api[dev01], serviceID, 2); err != nil {
			t.Error(err)
		}
	})

	step("scale", func(t *testing.T, ctx context.Context) {
		svc := inspectService(t, ctx, api[dev01], serviceID)
		spec, three := svc.Spec, uint64(3)
		spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &three}
		res, err := api[dev01].ServiceUpdate(ctx, serviceID, sdk.ServiceUpdateOptions{Version: svc.Version, Spec: spec})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) > 0 {
			t.Errorf("ServiceUpdate warnings: %q", res.Warnings)
		}
		_, err = api[dev01].ServiceUpdate(ctx, serviceID, sdk.ServiceUpdateOptions{Version: svc.Version, Spec: spec})
		wantErr(t, "ServiceUpdate with a stale version", err, cerrdefs.IsInternal, "update out of sequence")

		running := waitRunning(t, ctx, api[dev01], "sdk", 3)
		for slot, task := range firstRun {
			if running[slot].ID != task.ID {
				t.Errorf("scaling up replaced the task of slot %d: %s, was %s", slot, running[slot].ID, task.ID)
			}
		}
		if on := nodesOf(running); len(on) != 3 {
			t.Errorf("3 replicas run on %d nodes", len(on))
		}
		if after := inspectService(t, ctx, api[dev01], serviceID); after.Version.Index <= svc.Version.Index {
			t.Errorf("version %d after the update, was %d", after.Version.Index, svc.Version.Index)
		}
	})

	step("force update", func(t *testing.T, ctx context.Context) {
		before := waitRunning(t, ctx, api[dev01], "sdk", 3)
		svc := inspectService(t, ctx, api[dev01], serviceID)
		spec := svc.Spec
		spec.TaskTemplate.ForceUpdate++
		if _, err := api[dev01].ServiceUpdate(ctx, serviceID, sdk.ServiceUpdateOptions{Version: svc.Version, Spec: spec}); err != nil {
			t.Fatal(err)
		}
		eventually(t, converge, func() error {
			svc, err := inspectServiceErr(ctx, api[dev01], serviceID)
			switch {
			case err != nil:
				return err
			case svc.Spec.TaskTemplate.ForceUpdate != 1:
				return fmt.Errorf("ForceUpdate is %d, want 1", svc.Spec.TaskTemplate.ForceUpdate)
			case svc.UpdateStatus == nil || svc.UpdateStatus.State != swarm.UpdateStateCompleted:
				return fmt.Errorf("update status %+v, want completed", svc.UpdateStatus)
			}
			return nil
		})
		eventually(t, converge, func() error { return checkHistory(ctx, api[dev01], "sdk", before) })
	})

	step("service remove", func(t *testing.T, ctx context.Context) {
		if _, err := api[dev01].ServiceRemove(ctx, "sdk", sdk.ServiceRemoveOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, converge, func() error {
			ctx, cancel := context.WithTimeout(ctx, sdkCall)
			defer cancel()
			res, err := api[dev01].TaskList(ctx, sdk.TaskListOptions{})
			if err != nil {
				return err
			}
			if left := tasksOf(res.Items, serviceID); len(left) > 0 {
				return fmt.Errorf("%d tasks of the removed service left", len(left))
			}
			if n := countAllProcesses(marker); n != 0 {
				return fmt.Errorf("%d task processes left", n)
			}
			return nil
		})
		_, err := api[dev01].ServiceInspect(ctx, serviceID, sdk.ServiceInspectOptions{})
		wantErr(t, "ServiceInspect of the removed service", err, cerrdefs.IsNotFound, "service "+serviceID+" not found")
	})

	step("node inspect", func(t *testing.T, ctx context.Context) {
		// "self" is the docker CLI's word, not the API's: a program asks
		// Info for its node's ID, as the CLI does.
		info, err := api[dev01].Info(ctx, sdk.InfoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sw := info.Info.Swarm; sw.NodeID != dev01ID || sw.LocalNodeState != swarm.LocalNodeStateActive || !sw.ControlAvailable ||
			sw.Nodes != 3 || sw.Managers != 1 || sw.NodeAddr != dev01.ip {
			t.Errorf("Info on dev01: swarm %+v", sw)
		}
		self := inspectNode(t, ctx, api[dev01], info.Info.Swarm.NodeID)
		if ms := self.ManagerStatus; self.ID != dev01ID || self.Description.Hostname != "dev01" || ms == nil ||
			ms.Addr != dev01.addr() || !ms.Leader || ms.Reachability != swarm.ReachabilityReachable {
			t.Errorf("NodeInspect self on dev01: ID %s, hostname %q, manager status %+v", self.ID, self.Description.Hostname, self.ManagerStatus)
		}
		worker := inspectNode(t, ctx, api[dev01], "dev03")
		if worker.Description.Hostname != "dev03" || worker.Spec.Role != swarm.NodeRoleWorker || worker.Status.State != swarm.NodeStateReady ||
			worker.ManagerStatus != nil || worker.Status.Addr != dev03.ip {
			t.Errorf("NodeInspect dev03: hostname %q, role %s, state %s, addr %q, manager status %+v",
				worker.Description.Hostname, worker.Spec.Role, worker.Status.State, worker.Status.Addr, worker.ManagerStatus)
		}
		if byID := inspectNode(t, ctx, api[dev01], worker.ID); byID.Description.Hostname != "dev03" {
			t.Errorf("NodeInspect by ID %s: hostname %q", worker.ID, byID.Description.Hostname)
		}
	})

	step("errors", func(t *testing.T, ctx context.Context) {
		_, err := api[dev01].NodeInspect(ctx, "nosuch", sdk.NodeInspectOptions{})
		wantErr(t, "NodeInspect nosuch", err, cerrdefs.IsNotFound, "node nosuch not found")
		_, err = api[dev01].ServiceInspect(ctx, "nosuch", sdk.ServiceInspectOptions{})
		wantErr(t, "ServiceInspect nosuch", err, cerrdefs.IsNotFound, "service nosuch not found")
		_, err = api[dev01].ServiceRemove(ctx, "nosuch", sdk.ServiceRemoveOptions{})
		wantErr(t, "ServiceRemove nosuch", err, cerrdefs.IsNotFound, "service nosuch not found")
		_, err = api[dev01].ServiceLogs(ctx, "nosuch", sdk.ServiceLogsOptions{ShowStdout: true})
		wantErr(t, "ServiceLogs nosuch", err, cerrdefs.IsNotFound, "nosuch")
		_, err = api[dev01].TaskInspect(ctx, "nosuch", sdk.TaskInspectOptions{})
		wantErr(t, "TaskInspect nosuch", err, cerrdefs.IsNotFound, "nosuch")
		_, err = api[dev01].SwarmInit(ctx, sdk.SwarmInitOptions{ListenAddr: dev01.addr(), AdvertiseAddr: dev01.addr()})
		wantErr(t, "SwarmInit on a swarm member", err, cerrdefs.IsUnavailable, "This node is already part of a swarm.")
		_, err = api[dev03].NodeList(ctx, sdk.NodeListOptions{})
		wantErr(t, "NodeList on a worker", err, cerrdefs.IsUnavailable, strings.TrimPrefix(msgNotManager, "Error response from daemon: "))
	})

	step("wire", func(t *testing.T, ctx context.Context) {
		if err := wire.check(); err != nil {
			t.Error(err)
		}
	})
}

// whileNoLeader retries call while it fails for want of a leader, and
// fails the test on any other error. A swarm of two managers loses its
// leader for a moment whenever one of them misses shoal's short election
// timeout (500ms), which a loaded machine (race-built daemons, parallel
// tests, two CPUs) makes them do.
func whileNoLeader(t testing.TB, call func() error) {
	t.Helper()
	var err error
	_ = poll(converge, func() error {
		err = call()
		if cerrdefs.IsUnavailable(err) && strings.Contains(err.Error(), msgNoLeaderText) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sdkClient is an SDK client of n's socket, with the SDK's default API
// version negotiation, whose exchanges wire records. It is closed when the
// test ends.
func sdkClient(t testing.TB, n *node, wire *wireLog) *sdk.Client {
	t.Helper()
	api, err := sdk.New(sdk.WithHost(n.host()), sdk.WithHTTPResponseHook(wire.record))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

// wantSwarmStatus waits for the Swarm header of a ping to say active, and a
// manager or not.
func wantSwarmStatus(t testing.TB, ctx context.Context, api *sdk.Client, manager bool) {
	t.Helper()
	eventually(t, converge, func() error {
		ctx, cancel := context.WithTimeout(ctx, sdkCall)
		defer cancel()
		ping, err := api.Ping(ctx, sdk.PingOptions{})
		if err != nil {
			return err
		}
		if s := ping.SwarmStatus; s == nil || s.NodeState != swarm.LocalNodeStateActive || s.ControlAvailable != manager {
			return fmt.Errorf("ping swarm status %+v, want active with control available %v", s, manager)
		}
		return nil
	})
}

// checkNodeList checks a NodeList of the three-node swarm: all Ready and
// Active, dev01 (with the ID SwarmInit returned) and dev02 reachable
// managers at their addresses, exactly one of them the leader (leadership
// may move under load: shoal's election timeout is short), dev03 a worker.
func checkNodeList(ctx context.Context, api *sdk.Client, dev01ID string, addrs map[string]string) error {
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	res, err := api.NodeList(ctx, sdk.NodeListOptions{})
	if err != nil {
		return err
	}
	if names := hostnames(res.Items); !slices.Equal(names, []string{"dev01", "dev02", "dev03"}) {
		return fmt.Errorf("NodeList shows %v", names)
	}
	leaders := 0
	for _, n := range res.Items {
		name, ms := n.Description.Hostname, n.ManagerStatus
		if ms != nil && ms.Leader {
			leaders++
		}
		switch {
		case n.Status.State != swarm.NodeStateReady || n.Spec.Availability != swarm.NodeAvailabilityActive:
			return fmt.Errorf("%s is %s/%s", name, n.Status.State, n.Spec.Availability)
		case name == "dev01" && n.ID != dev01ID:
			return fmt.Errorf("dev01 has ID %s, SwarmInit said %s", n.ID, dev01ID)
		case name == "dev03" && (ms != nil || n.Spec.Role != swarm.NodeRoleWorker):
			return fmt.Errorf("dev03: role %s, manager status %+v, want a worker", n.Spec.Role, ms)
		case name != "dev03" && (ms == nil || ms.Reachability != swarm.ReachabilityReachable || ms.Addr != addrs[name] || n.Spec.Role != swarm.NodeRoleManager):
			return fmt.Errorf("%s: role %s, manager status %+v, want a reachable manager at %s", name, n.Spec.Role, ms, addrs[name])
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d leaders", leaders)
	}
	return nil
}

func hostnames(nodes []swarm.Node) []string {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Description.Hostname)
	}
	slices.Sort(names)
	return names
}

func inspectService(t testing.TB, ctx context.Context, api *sdk.Client, ref string) swarm.Service {
	t.Helper()
	svc, err := inspectServiceErr(ctx, api, ref)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func inspectServiceErr(ctx context.Context, api *sdk.Client, ref string) (swarm.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	res, err := api.ServiceInspect(ctx, ref, sdk.ServiceInspectOptions{})
	if err == nil && res.Service.Spec.Mode.Replicated == nil {
		err = fmt.Errorf("service %s is not replicated: %s", ref, res.Raw)
	}
	return res.Service, err
}

func inspectNode(t testing.TB, ctx context.Context, api *sdk.Client, ref string) swarm.Node {
	t.Helper()
	res, err := api.NodeInspect(ctx, ref, sdk.NodeInspectOptions{})
	if err != nil {
		t.Fatalf("NodeInspect %s: %v", ref, err)
	}
	if len(res.Raw) == 0 {
		t.Errorf("NodeInspect %s: no raw JSON", ref)
	}
	return res.Node
}

// waitRunning waits until slots 1..n of the service each have exactly one
// task desired and seen running, and returns them by slot.
func waitRunning(t testing.TB, ctx context.Context, api *sdk.Client, service string, n int) map[int]swarm.Task {
	t.Helper()
	var running map[int]swarm.Task
	eventually(t, converge, func() error {
		tasks, err := listTasks(ctx, api, service)
		if err != nil {
			return err
		}
		running, err = runningSlots(tasks, n)
		return err
	})
	return running
}

func listTasks(ctx context.Context, api *sdk.Client, service string) ([]swarm.Task, error) {
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	res, err := api.TaskList(ctx, sdk.TaskListOptions{Filters: make(sdk.Filters).Add("service", service)})
	return res.Items, err
}

// runningSlots returns the running task of each slot, or an error unless
// slots 1..n (and no others) each have exactly one.
func runningSlots(tasks []swarm.Task, n int) (map[int]swarm.Task, error) {
	running := map[int]swarm.Task{}
	for _, task := range tasks {
		if task.DesiredState != swarm.TaskStateRunning || task.Status.State != swarm.TaskStateRunning {
			continue
		}
		if prev, dup := running[task.Slot]; dup {
			return nil, fmt.Errorf("slot %d runs two tasks: %s and %s", task.Slot, prev.ID, task.ID)
		}
		running[task.Slot] = task
	}
	for slot := 1; slot <= n; slot++ {
		if _, ok := running[slot]; !ok {
			return nil, fmt.Errorf("slot %d has no running task (%d of %d running)", slot, len(running), n)
		}
	}
	if len(running) != n {
		return nil, fmt.Errorf("%d slots running, want %d", len(running), n)
	}
	return running, nil
}

func nodesOf(tasks map[int]swarm.Task) map[string]bool {
	on := map[string]bool{}
	for _, task := range tasks {
		on[task.NodeID] = true
	}
	return on
}

func tasksOf(tasks []swarm.Task, serviceID string) []swarm.Task {
	var out []swarm.Task
	for _, task := range tasks {
		if task.ServiceID == serviceID {
			out = append(out, task)
		}
	}
	return out
}

// checkServiceStatus checks the running and desired task counts of
// ServiceList with status.
func checkServiceStatus(ctx context.Context, api *sdk.Client, name string, n uint64) error {
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	res, err := api.ServiceList(ctx, sdk.ServiceListOptions{Filters: make(sdk.Filters).Add("name", name), Status: true})
	if err != nil {
		return err
	}
	if len(res.Items) != 1 || res.Items[0].ServiceStatus == nil {
		return fmt.Errorf("ServiceList name=%s with status: %+v", name, res.Items)
	}
	if st := res.Items[0].ServiceStatus; st.RunningTasks != n || st.DesiredTasks != n {
		return fmt.Errorf("service status %d running, %d desired; want %d of %d", st.RunningTasks, st.DesiredTasks, n, n)
	}
	return nil
}

// checkHistory checks the tasks after a forced update: every slot runs a
// new task and keeps the one it replaced, desired and seen shut down.
func checkHistory(ctx context.Context, api *sdk.Client, service string, before map[int]swarm.Task) error {
	tasks, err := listTasks(ctx, api, service)
	if err != nil {
		return err
	}
	running, err := runningSlots(tasks, len(before))
	if err != nil {
		return err
	}
	for slot, old := range before {
		if running[slot].ID == old.ID {
			return fmt.Errorf("slot %d still runs its task from before the update", slot)
		}
		i := slices.IndexFunc(tasks, func(task swarm.Task) bool { return task.ID == old.ID })
		if i < 0 {
			return fmt.Errorf("slot %d lost its replaced task %s from the history", slot, old.ID)
		}
		if h := tasks[i]; h.Slot != slot || h.DesiredState != swarm.TaskStateShutdown || h.Status.State != swarm.TaskStateShutdown {
			return fmt.Errorf("replaced task %s: slot %d, desired %s, state %s; want slot %d shut down", h.ID, h.Slot, h.DesiredState, h.Status.State, slot)
		}
	}
	if len(tasks) != 2*len(before) {
		return fmt.Errorf("%d tasks listed, want %d running and %d in the history", len(tasks), len(before), len(before))
	}
	return nil
}

// checkLogs reads the service's logs once, with timestamps, demultiplexed
// by stdcopy, and checks for n lines "hello-sdk" on stdout and none on
// stderr.
func checkLogs(ctx context.Context, api *sdk.Client, service string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	rc, err := api.ServiceLogs(ctx, service, sdk.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, rc); err != nil {
		return fmt.Errorf("demultiplex the logs: %w (stdout so far %q)", err, stdout.String())
	}
	if stderr.Len() > 0 {
		return fmt.Errorf("stderr: %q", stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != n {
		return fmt.Errorf("%d log lines, want %d: %q", len(lines), n, stdout.String())
	}
	for _, line := range lines {
		ts, msg, _ := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || msg != "hello-sdk" {
			return fmt.Errorf("log line %q: want an RFC 3339 timestamp and hello-sdk (%v)", line, err)
		}
	}
	return nil
}

// followLogs follows the service's logs and reads the multiplexed frames by
// hand until n lines "hello-sdk" came, or ctx ends.
func followLogs(ctx context.Context, api *sdk.Client, service string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, converge)
	defer cancel()
	rc, err := api.ServiceLogs(ctx, service, sdk.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	for seen := 0; seen < n; seen++ {
		stream, payload, err := readFrame(rc)
		if err != nil {
			return fmt.Errorf("follow: frame %d: %w", seen+1, err)
		}
		if stream != byte(stdcopy.Stdout) || string(payload) != "hello-sdk\n" {
			return fmt.Errorf("follow: frame %d is %q on stream %d, want hello-sdk on stdout", seen+1, payload, stream)
		}
	}
	return nil
}

// readFrame reads one frame of a multiplexed stream: an 8-byte header (the
// stream, three zero bytes, the big-endian payload size), then the payload.
func readFrame(r io.Reader) (byte, []byte, error) {
	var header [8]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return 0, nil, err
	}
	if header[1] != 0 || header[2] != 0 || header[3] != 0 {
		return 0, nil, fmt.Errorf("bad frame header %x", header)
	}
	payload := make([]byte, binary.BigEndian.Uint32(header[4:]))
	_, err := io.ReadFull(r, payload)
	return header[0], payload, err
}

// wantErr checks an SDK error: its class (as the SDK derives it from the
// status) and its message.
func wantErr(t testing.TB, what string, err error, is func(error) bool, msg string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error", what)
	case !is(err):
		t.Errorf("%s: %v: the SDK does not see the expected error class", what, err)
	case !strings.HasPrefix(err.Error(), "Error response from daemon: ") || !strings.Contains(err.Error(), msg):
		t.Errorf("%s: %q, want a daemon error with %q", what, err, msg)
	}
}

// wireLog records the HTTP exchanges of the SDK clients.
type wireLog struct {
	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	method, path string
	status       int
	contentType  string
}

func (w *wireLog) record(resp *http.Response) {
	if resp.Request == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.exchanges = append(w.exchanges, exchange{resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type")})
}

func (w *wireLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for i := 0; i < len(w.exchanges); {
		e, n := w.exchanges[i], 1
		for i+n < len(w.exchanges) && w.exchanges[i+n] == e {
			n++
		}
		fmt.Fprintf(&b, "  %s %s → %d %s", e.method, e.path, e.status, e.contentType)
		if n > 1 {
			fmt.Fprintf(&b, " (×%d)", n)
		}
		b.WriteString("\n")
		i += n
	}
	return b.String()
}

// check verifies what went over the wire: every request but the ping used
// the negotiated /v1.50 prefix, the SDK's registry query got shoal's empty
// answer, and the logs came as a multiplexed stream.
func (w *wireLog) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	distribution, logs := false, false
	for _, e := range w.exchanges {
		switch {
		case e.path == "/_ping":
		case !strings.HasPrefix(e.path, "/v1.50/"):
			errs = append(errs, fmt.Errorf("%s %s: not under the negotiated /v1.50", e.method, e.path))
		case e.path == "/v1.50/distribution/busybox:latest/json":
			distribution = e.status == http.StatusOK
		case strings.HasSuffix(e.path, "/logs") && e.status == http.StatusOK:
			logs = true
			if e.contentType != "application/vnd.docker.multiplexed-stream" {
				errs = append(errs, fmt.Errorf("%s %s: Content-Type %q, want the multiplexed stream", e.method, e.path, e.contentType))
			}
		}
	}
	if !distribution {
		errs = append(errs, errors.New("no 200 answer to GET /v1.50/distribution/busybox:latest/json"))
	}
	if !logs {
		errs = append(errs, errors.New("no logs exchange"))
	}
	return errors.Join(errs...)
}

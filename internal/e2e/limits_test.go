package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	sdk "github.com/moby/moby/client"
	"github.com/shoal-project/shoal/dispatchapi"
	shoal "github.com/shoal-project/shoal/swarm"
)

// TestLimits: inputs beyond shoal's limits are refused with a clear error
// before anything is stored, through the real docker CLI, the Docker SDK
// and raw RPCs, and the cluster goes on serving with its state unchanged.
// On the old code, 2^64-1 replicas took every manager down for good, a
// 400 MB join body was read whole by the leader, labels of any size were
// stored, a negative restart delay was accepted and ?version=0 skipped the
// version check.
func TestLimits(t *testing.T) {
	t.Parallel()
	c := newSwarm(t, 1, 0)
	d := c.nodes[0]
	marker := taskMarker()
	d.mustDocker(t, "service", "create", "-d", "--name", "keep", "--replicas", "1", "busybox", "sleep", marker)
	ctx := context.Background()
	api, err := sdk.New(sdk.WithHost(d.host()))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	eventually(t, converge, func() error { return checkServiceStatus(ctx, api, "keep", 1) })
	before := stateOf(t, ctx, api)

	// unchanged checks, after each refusal, that nothing was stored and
	// the cluster still serves: same services, nodes and versions, keep
	// still running, node ls answering.
	unchanged := func(t *testing.T) {
		t.Helper()
		if after := stateOf(t, ctx, api); after != before {
			t.Errorf("the cluster state changed:\nbefore %s\nafter  %s", before, after)
		}
		if err := checkServiceStatus(ctx, api, "keep", 1); err != nil {
			t.Error(err)
		}
		if err := hasLines(d.mustDocker(t, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}"), "dev01 Ready Leader"); err != nil {
			t.Error(err)
		}
	}

	t.Run("huge replicas", func(t *testing.T) {
		for _, n := range []string{"18446744073709551615", "2147483648", "1000000000"} {
			errorContains(t, d.docker("service", "create", "-d", "--name", "huge", "--replicas", n, "busybox", "sleep", "1"),
				"rpc error: code = InvalidArgument desc = invalid replicas value "+n+": a service may have at most 100000 replicas")
			errorContains(t, d.docker("service", "scale", "-d", "keep="+n), "a service may have at most 100000 replicas")
		}
		unchanged(t)
	})

	t.Run("huge label", func(t *testing.T) {
		big := strings.Repeat("x", 100_000) // under the kernel's 128 KiB for one argument
		errorContains(t, d.docker("service", "create", "-d", "--name", "labelled", "--label", "big="+big, "busybox", "sleep", "1"),
			"rpc error: code = InvalidArgument desc = service labels are too large: 100003 bytes (keys and values), at most 65536")
		errorContains(t, d.docker("service", "update", "-d", "--container-label-add", "big="+big, "keep"), "container labels are too large")
		// 10 MB through the SDK: the body itself is refused, unread.
		replicas := uint64(1)
		spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "labelled", Labels: map[string]string{"big": strings.Repeat("x", 10<<20)}},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "busybox", Args: []string{"sleep", "1"}}},
			Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}}}
		_, err := api.ServiceCreate(ctx, sdk.ServiceCreateOptions{Spec: spec})
		if err == nil || !strings.Contains(err.Error(), "request body too large: more than 2097152 bytes") {
			t.Errorf("a 10 MB label through the SDK: %v", err)
		}
		unchanged(t)
	})

	t.Run("negative restart delay", func(t *testing.T) {
		errorContains(t, d.docker("service", "create", "-d", "--name", "neg", "--restart-delay", "-1s", "busybox", "sleep", "1"),
			"rpc error: code = InvalidArgument desc = TaskSpec: restart-delay cannot be negative")
		replicas, delay, window := uint64(1), -time.Second, -time.Minute
		spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "neg"},
			TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "busybox", Args: []string{"sleep", "1"}},
				RestartPolicy: &swarm.RestartPolicy{Window: &window}},
			Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}}}
		_, err := api.ServiceCreate(ctx, sdk.ServiceCreateOptions{Spec: spec})
		if err == nil || !strings.Contains(err.Error(), "TaskSpec: restart-window cannot be negative") {
			t.Errorf("a negative restart window through the SDK: %v", err)
		}
		spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Delay: &delay}
		_, err = api.ServiceCreate(ctx, sdk.ServiceCreateOptions{Spec: spec})
		if err == nil || !strings.Contains(err.Error(), "TaskSpec: restart-delay cannot be negative") {
			t.Errorf("a negative restart delay through the SDK: %v", err)
		}
		unchanged(t)
	})

	t.Run("version 0", func(t *testing.T) {
		body := `{"Name":"keep","TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","9"]}},"Mode":{"Replicated":{"Replicas":3}}}`
		for _, path := range []string{"/v1.50/services/keep/update?version=0", "/v1.50/nodes/dev01/update?version=0"} {
			b := body
			if strings.Contains(path, "nodes") {
				b = `{"Role":"manager","Availability":"drain"}`
			}
			if code, msg := rawPost(t, d, path, b); code != http.StatusInternalServerError || !strings.Contains(msg, "update out of sequence") {
				t.Errorf("POST %s: %d %s", path, code, msg)
			}
		}
		unchanged(t)
	})

	t.Run("oversized join body", func(t *testing.T) {
		hwm := func() int64 { return procStatusKB(t, d.pid(), "VmHWM") }
		peak := hwm()
		sent, code, msg := streamJoin(t, d.addr(), 400<<20)
		grew := hwm() - peak
		t.Logf("400 MB join body: %d bytes taken, answer %d %q, leader's peak RSS grew %d KB", sent, code, msg, grew)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "request body too large") {
			t.Errorf("answer %d %q, want 413 request body too large", code, msg)
		}
		if grew > 100<<10 {
			t.Errorf("the leader's peak RSS grew by %d MB while it was sent a 400 MB join body", grew>>10)
		}
		unchanged(t)
	})

	t.Run("joining hostname", func(t *testing.T) {
		token := strings.TrimSpace(d.mustDocker(t, "swarm", "join-token", "-q", "worker"))
		req := dispatchapi.JoinRequest{Token: token, CSR: newCSR(t), Addr: "127.0.1.250:2377",
			Description: shoal.NodeDescription{Hostname: strings.Repeat("h", 20_000), OS: "linux", Runtime: "process"}}
		b, _ := json.Marshal(req)
		code, msg := postCluster(t, d.addr(), dispatchapi.PathJoin, strings.NewReader(string(b)))
		if code != http.StatusBadRequest || !strings.Contains(msg, "node hostname is too long: 20000 bytes, at most 255") {
			t.Errorf("join with a 20 KB hostname: %d %s", code, msg)
		}
		unchanged(t)
	})
}

// stateOf is what a refused request must not change: every service and
// node with its version, and the swarm's version.
func stateOf(t *testing.T, ctx context.Context, api *sdk.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, sdkCall)
	defer cancel()
	var b strings.Builder
	svcs, err := api.ServiceList(ctx, sdk.ServiceListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		fmt.Fprintf(&b, "service %s %s v%d; ", s.ID, s.Spec.Name, s.Version.Index)
	}
	nodes, err := api.NodeList(ctx, sdk.NodeListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		fmt.Fprintf(&b, "node %s %s v%d; ", n.ID, n.Description.Hostname, n.Version.Index)
	}
	sw, err := api.SwarmInspect(ctx, sdk.SwarmInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "swarm v%d", sw.Swarm.Version.Index)
	return b.String()
}

// procStatusKB reads a kB field of /proc/<pid>/status (VmRSS, VmHWM).
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// streamJoin sends a join request of size bytes, made as it is sent (no
// length announced, nothing allocated), and returns how much of it the
// cluster port took and its answer.
func streamJoin(t *testing.T, addr string, size int64) (sent int64, code int, msg string) {
	t.Helper()
	body := &joinBodyCounter{r: io.MultiReader(strings.NewReader(`{"Token":"`), io.LimitReader(repeatByte('a'), size))}
	code, msg = postCluster(t, addr, dispatchapi.PathJoin, body)
	return body.n.Load(), code, msg
}

// postCluster POSTs body to a cluster-port RPC as a node that has not
// joined (TLS, no client certificate; HTTP/2 as nodes speak it) and returns
// the status and the start of the answer (0 and the error if none came).
func postCluster(t *testing.T, addr, path string, body io.Reader) (int, string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(out)
}

// repeatByte is an endless reader of one byte.
type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// joinBodyCounter counts the bytes read from r.
type joinBodyCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *joinBodyCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

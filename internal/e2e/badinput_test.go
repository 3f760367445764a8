package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadInput: every bad request gets a clear error, in Docker's words
// where Docker has them, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	dev01, spare, other := c.nodes[0], c.nodes[1], c.nodes[2]
	c.init(t, dev01)
	spare.port = freePort(t, spare.ip)

	// unchanged checks that dev01's swarm still is dev01 alone, Leader, and
	// that the spare node is still outside any swarm.
	unchanged := func(t *testing.T) {
		t.Helper()
		tb, err := nodeTable(dev01)
		if err != nil {
			t.Fatal(err)
		}
		if len(tb) != 1 {
			t.Errorf("the swarm changed: %v", tb)
		}
		wantRow(t, tb, "dev01", map[string]string{"STATUS": "Ready", "MANAGER STATUS": "Leader"})
		if err := hasLines(spare.mustShoal(t, "info"), "Swarm: inactive"); err != nil {
			t.Errorf("the spare node: %v", err)
		}
	}
	joinSpare := func(token string) result {
		return spare.shoal("swarm", "join", "--token", token, "--listen-addr", spare.addr(), "--advertise-addr", spare.addr(), dev01.addr())
	}

	t.Run("garbage token", func(t *testing.T) {
		wantError(t, joinSpare("SWMTKN-1-garbage"), "Error response from daemon: invalid join token")
		unchanged(t)
	})

	t.Run("rotated-out token", func(t *testing.T) {
		old := strings.TrimSpace(dev01.mustShoal(t, "swarm", "join-token", "-q", "worker"))
		out := dev01.mustShoal(t, "swarm", "join-token", "--rotate", "worker")
		if !strings.HasPrefix(out, "Successfully rotated worker join token.\n") {
			t.Errorf("join-token --rotate printed %q", out)
		}
		fresh := strings.TrimSpace(dev01.mustShoal(t, "swarm", "join-token", "-q", "worker"))
		if fresh == old || !strings.Contains(out, fresh) {
			t.Errorf("rotation: old %s, new %s, printed %q", old, fresh, out)
		}
		errorContains(t, joinSpare(old), "A valid join token is necessary to join this cluster")
		unchanged(t)
	})

	t.Run("token of another swarm", func(t *testing.T) {
		c.init(t, other)
		foreign := strings.TrimSpace(other.mustShoal(t, "swarm", "join-token", "-q", "worker"))
		errorContains(t, joinSpare(foreign), "remote CA does not match fingerprint")
		unchanged(t)
	})

	t.Run("double init", func(t *testing.T) {
		r := dev01.shoal("swarm", "init", "--listen-addr", dev01.addr(), "--advertise-addr", dev01.addr())
		wantError(t, r, `Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.`)
		unchanged(t)
	})

	t.Run("join while in a swarm", func(t *testing.T) {
		token := strings.TrimSpace(other.mustShoal(t, "swarm", "join-token", "-q", "worker"))
		r := dev01.shoal("swarm", "join", "--token", token, other.addr())
		wantError(t, r, `Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.`)
		unchanged(t)
	})

	t.Run("certificate expiry below the minimum", func(t *testing.T) {
		expiry := func() string {
			return dev01.mustDocker(t, "info", "--format", "{{.Swarm.Cluster.Spec.CAConfig.NodeCertExpiry}}")
		}
		before := expiry()
		wantError(t, dev01.docker("swarm", "update", "--cert-expiry", "59m"),
			"Error response from daemon: rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s")
		if after := expiry(); after != before {
			t.Errorf("the certificate expiry changed from %s to %s", before, after)
		}
		unchanged(t)
	})

	t.Run("promote unknown node", func(t *testing.T) {
		wantError(t, dev01.shoal("node", "promote", "nosuch"), "Error response from daemon: node nosuch not found")
		unchanged(t)
	})

	t.Run("demote the last manager", func(t *testing.T) {
		wantError(t, dev01.shoal("node", "demote", "dev01"),
			"Error response from daemon: rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm")
		unchanged(t)
	})

	t.Run("leave the last manager", func(t *testing.T) {
		wantError(t, other.shoal("swarm", "leave"), "Error response from daemon: You are attempting to leave the swarm on a node "+
			"that is participating as a manager. Removing the last manager erases all current state of the swarm. "+
			"Use `--force` to ignore this message.")
		if err := hasLines(other.mustShoal(t, "info"), "Swarm: active", "Is Manager: true"); err != nil {
			t.Errorf("after a refused leave: %v", err)
		}
		r := other.shoalWithin(leaveTimeout, "swarm", "leave", "--force")
		if err := r.ok(); err != nil || r.stdout != "Node left the swarm.\n" {
			t.Fatalf("swarm leave --force: %v", r)
		}
		if err := hasLines(other.mustShoal(t, "info"), "Swarm: inactive"); err != nil {
			t.Errorf("after leave --force: %v", err)
		}
		wantError(t, other.shoal("node", "ls"), "Error response from daemon: "+
			`This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.`)
		unchanged(t)
	})

	t.Run("malformed JSON", func(t *testing.T) {
		status, body := postRaw(t, spare, "/v1.50/swarm/init", "{bad")
		if status != http.StatusBadRequest {
			t.Errorf("status %d, want 400; body %s", status, body)
		}
		var msg struct{ Message string }
		if err := json.Unmarshal(body, &msg); err != nil || msg.Message == "" {
			t.Errorf("body %q is not a JSON error with a message (%v)", body, err)
		}
		unchanged(t)
	})

	// From here on, the spare node is a worker of dev01's swarm.
	c.join(t, spare, "worker", dev01)
	c.waitHealthy(t, dev01, map[string]string{"dev01": "manager", "dev02": ""})

	t.Run("remove a node that is not down", func(t *testing.T) {
		id := nodeID(t, dev01, "dev02")
		wantError(t, dev01.shoal("node", "rm", "dev02"),
			"Error response from daemon: rpc error: code = FailedPrecondition desc = node "+id+" is not down and can't be removed")
		if err := checkNodeRow(dev01, "dev02", "Ready", ""); err != nil {
			t.Error(err)
		}
	})

	t.Run("remove a manager", func(t *testing.T) {
		id := nodeID(t, dev01, "dev01")
		for _, args := range [][]string{{"node", "rm", "dev01"}, {"node", "rm", "--force", "dev01"}} {
			wantError(t, dev01.shoal(args...), "Error response from daemon: rpc error: code = FailedPrecondition desc = node "+id+
				" is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal")
		}
		if err := checkNodeRow(dev01, "dev01", "Ready", "Leader"); err != nil {
			t.Error(err)
		}
	})
}

// nodeID returns the ID of node name as node inspect shows it through via.
func nodeID(t testing.TB, via *node, name string) string {
	t.Helper()
	return strings.TrimSpace(via.mustShoal(t, "node", "inspect", "--format", "{{.ID}}", name))
}

// postRaw POSTs body as JSON to path on n's socket, bypassing every client,
// and returns the status and body of the answer.
func postRaw(t testing.TB, n *node, path, body string) (int, []byte) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", n.sock)
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://shoal"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("read answer of POST %s: %w", path, err))
	}
	return resp.StatusCode, b
}

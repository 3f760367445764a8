package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"
)

// nodeListBody is GET /nodes of n workers as a shoal manager answers it:
// each with the cluster's TLS info (a PEM of about 600 bytes), as Docker
// sends it.
func nodeListBody(n int) []byte {
	pem := "-----BEGIN CERTIFICATE-----\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", 9) + "-----END CERTIFICATE-----\n"
	nodes := make([]swarm.Node, n)
	for i := range nodes {
		nodes[i] = swarm.Node{
			ID:   fmt.Sprintf("%025d", i),
			Spec: swarm.NodeSpec{Annotations: swarm.Annotations{Labels: map[string]string{}}, Role: swarm.NodeRoleWorker, Availability: swarm.NodeAvailabilityActive},
			Description: swarm.NodeDescription{
				Hostname:  fmt.Sprintf("sim%04d", i),
				Platform:  swarm.Platform{Architecture: "x86_64", OS: "linux"},
				Resources: swarm.Resources{NanoCPUs: 2e9, MemoryBytes: 24 << 30},
				Engine:    swarm.EngineDescription{EngineVersion: "0.6.0"},
				TLSInfo:   swarm.TLSInfo{TrustRoot: pem, CertIssuerSubject: make([]byte, 21), CertIssuerPublicKey: make([]byte, 91)},
			},
			Status: swarm.NodeStatus{State: swarm.NodeStateReady, Addr: "127.0.0.1"},
		}
	}
	b, err := json.Marshal(nodes)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkNodeList is the client's part of node ls at 1,000 nodes (about
// 1.2 MB): request, read and decode, against a server on a unix socket
// that only writes a prepared body.
func BenchmarkNodeList(b *testing.B) {
	f, host := newUnixFake(b, "1.50")
	body := nodeListBody(1000)
	f.mux.HandleFunc("GET /v1.50/nodes", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	c, err := New([]string{host})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		nodes, err := c.NodeList(context.Background(), nil)
		if err != nil || len(nodes) != 1000 {
			b.Fatalf("%d nodes, %v", len(nodes), err)
		}
	}
}

package clusternet_test

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoal-project/shoal/ca/catest"
	"github.com/shoal-project/shoal/clusternet"
	"github.com/shoal-project/shoal/swarm"
)

// raftPair is a receiving Raft transport on a cluster port and a sending
// one that presents the certificate of node m1.
func raftPair(t *testing.T) (server, client *raft.NetworkTransport) {
	t.Helper()
	root := catest.NewCA(t)
	srvCreds := catest.NewNodeWithID(t, root, "m0", swarm.RoleManager)
	mux, err := clusternet.Listen("127.0.0.1:0", srvCreds, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	server = raft.NewNetworkTransport(mux.RaftLayer(srvCreds, nil), 2, 5*time.Second, io.Discard)
	m1 := catest.NewNodeWithID(t, root, "m1", swarm.RoleManager)
	cmux, err := clusternet.Listen("127.0.0.1:0", m1, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client = raft.NewNetworkTransport(cmux.RaftLayer(m1, nil), 2, 5*time.Second, io.Discard)
	t.Cleanup(func() {
		client.Close()
		server.Close()
		cmux.Close()
		mux.Close()
	})
	return server, client
}

// answer answers the next request that reaches the server, and returns it.
func answer(t *testing.T, server *raft.NetworkTransport) <-chan raft.RPC {
	got := make(chan raft.RPC, 1)
	go func() {
		select {
		case rpc := <-server.Consumer():
			var resp any
			switch rpc.Command.(type) {
			case *raft.AppendEntriesRequest:
				resp = &raft.AppendEntriesResponse{Success: true}
			case *raft.InstallSnapshotRequest:
				b, _ := io.ReadAll(rpc.Reader)
				rpc.Reader = bytes.NewReader(b)
				resp = &raft.InstallSnapshotResponse{Success: true}
			case *raft.RequestVoteRequest:
				resp = &raft.RequestVoteResponse{}
			}
			rpc.Respond(resp, nil)
			got <- rpc
		case <-time.After(10 * time.Second):
			close(got)
		}
	}()
	return got
}

func header(id string) raft.RPCHeader {
	return raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte("127.0.0.1:1")}
}

// A Raft request reaches the Raft member only when its header names the
// node of the sender's certificate, whatever it carries; a request naming
// another node (a member claiming to be the leader under another's name)
// closes the connection and is never seen.
func TestRaftRequestsMustNameTheCertificatesNode(t *testing.T) {
	server, client := raftPair(t)
	target := server.LocalAddr()

	big := bytes.Repeat([]byte("x"), 3<<20) // several chunks
	got := answer(t, server)
	req := &raft.AppendEntriesRequest{RPCHeader: header("m1"), Term: 3, Entries: []*raft.Log{
		{Index: 1, Term: 3, Type: raft.LogCommand, Data: big, AppendedAt: time.Now()},
		{Index: 2, Term: 3, Type: raft.LogCommand, Data: []byte("small")},
	}}
	var resp raft.AppendEntriesResponse
	if err := client.AppendEntries("m0", target, req, &resp); err != nil || !resp.Success {
		t.Fatalf("append entries from m1 as m1: %v %+v", err, resp)
	}
	rpc := <-got
	if a, ok := rpc.Command.(*raft.AppendEntriesRequest); !ok || len(a.Entries) != 2 || !bytes.Equal(a.Entries[0].Data, big) {
		t.Fatalf("the request arrived changed: %T", rpc.Command)
	}

	got = answer(t, server)
	snap := bytes.Repeat([]byte("s"), 100<<10)
	sreq := &raft.InstallSnapshotRequest{RPCHeader: header("m1"), Term: 3, Size: int64(len(snap)), SnapshotVersion: 1}
	var sresp raft.InstallSnapshotResponse
	if err := client.InstallSnapshot("m0", target, sreq, &sresp, bytes.NewReader(snap)); err != nil {
		t.Fatalf("install snapshot from m1: %v", err)
	}
	if rpc := <-got; rpc.Reader == nil {
		t.Fatal("the snapshot did not arrive")
	} else if b, _ := io.ReadAll(rpc.Reader); !bytes.Equal(b, snap) {
		t.Fatalf("the snapshot arrived changed (%d bytes)", len(b))
	}

	for _, id := range []string{"m0", "", "m1x"} {
		err := client.AppendEntries("m0", target, &raft.AppendEntriesRequest{RPCHeader: header(id), Term: 1 << 40}, &resp)
		if err == nil {
			t.Errorf("append entries from m1 naming %q was answered", id)
		}
		var vresp raft.RequestVoteResponse
		if err := client.RequestVote("m0", target, &raft.RequestVoteRequest{RPCHeader: header(id), Term: 1 << 40}, &vresp); err == nil {
			t.Errorf("request vote from m1 naming %q was answered", id)
		}
	}
	select {
	case rpc := <-server.Consumer():
		t.Fatalf("a request naming another node reached raft: %T", rpc.Command)
	default:
	}
}

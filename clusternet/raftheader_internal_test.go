package clusternet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"
)

// appends is what a follower reads from a busy leader: batches of 64
// entries of 16 KiB.
func appends(b *testing.B) []byte {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, &codec.MsgpackHandle{})
	entries := make([]*raft.Log, 64)
	for i := range entries {
		entries[i] = &raft.Log{Index: uint64(i + 1), Term: 3, Type: raft.LogCommand, Data: bytes.Repeat([]byte("x"), 16<<10)}
	}
	for range 8 {
		buf.WriteByte(rpcAppendEntries)
		req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: 3, ID: []byte("m1")}, Term: 3, Entries: entries}
		if err := enc.Encode(req); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

// BenchmarkHeaderCheck is the check's cost per byte of Raft traffic
// received; BenchmarkTransportDecode is the decoding the transport does
// anyway, for scale.
func BenchmarkHeaderCheck(b *testing.B) {
	msg := appends(b)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		w := &headerWalker{r: bufio.NewReaderSize(bytes.NewReader(msg), 64<<10), out: io.Discard, node: "m1"}
		if err := w.run(); !errors.Is(err, io.EOF) {
			b.Fatal(err)
		}
	}
}

func BenchmarkTransportDecode(b *testing.B) {
	msg := appends(b)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r := bufio.NewReaderSize(bytes.NewReader(msg), 64<<10)
		dec := codec.NewDecoder(r, &codec.MsgpackHandle{})
		for range 8 {
			if _, err := r.ReadByte(); err != nil {
				b.Fatal(err)
			}
			var req raft.AppendEntriesRequest
			if err := dec.Decode(&req); err != nil {
				b.Fatal(err)
			}
		}
	}
}

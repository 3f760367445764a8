package clusternet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// A Raft request carries the ID of the member that sent it (the leader of
// an AppendEntries, the candidate of a RequestVote), and hashicorp/raft
// believes it: a follower takes the sender of an AppendEntries of a higher
// term for its leader. The certificate says who is at the other end of the
// connection; headerConn makes the two agree. It reads each request ahead
// of the Raft transport, walks its msgpack encoding to find the header's
// ID, and passes the request on only when that ID is the certificate's
// node; otherwise it closes the connection. The request's last byte is
// held back until then, so the transport never completes decoding a
// request that is refused.
//
// The transport's wire format (hashicorp/raft net_transport.go): one byte
// of RPC type, then the request as a msgpack map whose keys are the
// struct's field names (RPCHeader's fields inlined); an InstallSnapshot
// request is followed by Size bytes of snapshot.
type headerConn struct {
	net.Conn
	pr *io.PipeReader
}

// Raft RPC types (hashicorp/raft net_transport.go).
const (
	rpcAppendEntries uint8 = iota
	rpcRequestVote
	rpcInstallSnapshot
	rpcTimeoutNow
	rpcRequestPreVote
)

// passChunk is how much of a request is handed on at a time while it is
// being read.
const passChunk = 32 << 10

// maxDepth bounds the nesting of a request's msgpack values.
const maxDepth = 32

var errHeaderID = errors.New("clusternet: raft request header names another node than the certificate")

// newHeaderConn checks the requests read from c against node.
func newHeaderConn(c net.Conn, node string, wg *sync.WaitGroup) net.Conn {
	pr, pw := io.Pipe()
	w := &headerWalker{r: bufio.NewReaderSize(c, 64<<10), out: pw, node: node}
	wg.Go(func() {
		err := w.run()
		pw.CloseWithError(err)
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
			c.Close() // a refused request: the peer gets nothing more
		}
	})
	return &headerConn{Conn: c, pr: pr}
}

func (c *headerConn) Read(p []byte) (int, error) { return c.pr.Read(p) }

func (c *headerConn) Close() error {
	err := c.Conn.Close()
	c.pr.Close()
	return err
}

// headerWalker reads requests from r, checks them, and writes them to out.
type headerWalker struct {
	r    *bufio.Reader
	out  io.Writer
	node string

	pending []byte // read, not yet handed on
	id      []byte // the current request's header ID
	size    int64  // the current request's Size (InstallSnapshot)
}

func (w *headerWalker) run() error {
	for {
		t, err := w.byte()
		if err != nil {
			return err
		}
		if t > rpcRequestPreVote {
			return fmt.Errorf("clusternet: unknown raft rpc type %d", t)
		}
		w.id, w.size = nil, 0
		if err := w.request(); err != nil {
			return err
		}
		if string(w.id) != w.node {
			return fmt.Errorf("%w (header %q, certificate %q)", errHeaderID, w.id, w.node)
		}
		if err := w.flush(true); err != nil {
			return err
		}
		if t == rpcInstallSnapshot && w.size > 0 {
			if _, err := io.CopyN(w.out, w.r, w.size); err != nil {
				return err
			}
		}
	}
}

// request walks one request map, noting its ID and Size.
func (w *headerWalker) request() error {
	n, err := w.mapLen()
	if err != nil {
		return err
	}
	for range n {
		key, err := w.str()
		if err != nil {
			return err
		}
		switch string(key) {
		case "ID":
			if w.id, err = w.str(); err != nil {
				return err
			}
		case "Size":
			if w.size, err = w.int(); err != nil {
				return err
			}
		default:
			if err := w.skip(0); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush hands on what was read: everything when the request is checked
// (all), else all but its last byte, once there is a chunk of it.
func (w *headerWalker) flush(all bool) error {
	n := len(w.pending)
	if !all {
		if n < passChunk {
			return nil
		}
		n--
	}
	if _, err := w.out.Write(w.pending[:n]); err != nil {
		return err
	}
	w.pending = append(w.pending[:0], w.pending[n:]...)
	return nil
}

func (w *headerWalker) byte() (byte, error) {
	b, err := w.r.ReadByte()
	if err != nil {
		return 0, err
	}
	w.pending = append(w.pending, b)
	return b, w.flush(false)
}

// read takes n bytes, returning them only if keep (else they are passed
// along without being held).
func (w *headerWalker) read(n int64, keep bool) ([]byte, error) {
	var kept []byte
	for n > 0 {
		chunk := min(n, passChunk)
		start := len(w.pending)
		w.pending = append(w.pending, make([]byte, chunk)...)
		if _, err := io.ReadFull(w.r, w.pending[start:]); err != nil {
			return nil, err
		}
		if keep {
			kept = append(kept, w.pending[start:]...)
		}
		n -= chunk
		if err := w.flush(false); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// uint reads a big-endian unsigned integer of n bytes.
func (w *headerWalker) uint(n int) (uint64, error) {
	b, err := w.read(int64(n), true)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

func (w *headerWalker) mapLen() (int64, error) {
	b, err := w.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case b&0xf0 == 0x80:
		return int64(b & 0x0f), nil
	case b == 0xde:
		v, err := w.uint(2)
		return int64(v), err
	case b == 0xdf:
		v, err := w.uint(4)
		return int64(v), err
	}
	return 0, fmt.Errorf("clusternet: raft request is not a map (0x%02x)", b)
}

// str reads a string or binary value (nil is empty).
func (w *headerWalker) str() ([]byte, error) {
	b, err := w.byte()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case b&0xe0 == 0xa0:
		n = uint64(b & 0x1f)
	case b == 0xc0:
		return nil, nil
	case b == 0xd9 || b == 0xc4:
		n, err = w.uint(1)
	case b == 0xda || b == 0xc5:
		n, err = w.uint(2)
	case b == 0xdb || b == 0xc6:
		n, err = w.uint(4)
	default:
		return nil, fmt.Errorf("clusternet: raft request: want a string, got 0x%02x", b)
	}
	if err != nil {
		return nil, err
	}
	if n > 1<<10 {
		return nil, fmt.Errorf("clusternet: raft request: a key or ID of %d bytes", n)
	}
	return w.read(int64(n), true)
}

// int reads an integer value.
func (w *headerWalker) int() (int64, error) {
	b, err := w.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case b <= 0x7f:
		return int64(b), nil
	case b >= 0xe0:
		return int64(int8(b)), nil
	case b >= 0xcc && b <= 0xcf:
		v, err := w.uint(1 << (b - 0xcc))
		return int64(v), err
	case b >= 0xd0 && b <= 0xd3:
		n := 1 << (b - 0xd0)
		v, err := w.uint(n)
		shift := 64 - 8*n
		return int64(v<<shift) >> shift, err
	}
	return 0, fmt.Errorf("clusternet: raft request: want an integer, got 0x%02x", b)
}

// skip walks past one value of any type.
func (w *headerWalker) skip(depth int) error {
	if depth > maxDepth {
		return errors.New("clusternet: raft request nested too deep")
	}
	b, err := w.byte()
	if err != nil {
		return err
	}
	var items, raw int64 // child values; bytes of payload
	switch {
	case b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3:
	case b&0xf0 == 0x80:
		items = 2 * int64(b&0x0f)
	case b&0xf0 == 0x90:
		items = int64(b & 0x0f)
	case b&0xe0 == 0xa0:
		raw = int64(b & 0x1f)
	case b >= 0xcc && b <= 0xcf:
		raw = 1 << (b - 0xcc)
	case b >= 0xd0 && b <= 0xd3:
		raw = 1 << (b - 0xd0)
	case b == 0xca:
		raw = 4
	case b == 0xcb:
		raw = 8
	case b >= 0xd4 && b <= 0xd8: // fixext: a type byte and 1..16 bytes
		raw = 1 + 1<<(b-0xd4)
	default:
		items, raw, err = w.sized(b)
		if err != nil {
			return err
		}
	}
	if _, err := w.read(raw, false); err != nil {
		return err
	}
	for range items {
		if err := w.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// sized reads the length of a str, bin, ext, array or map value of type b
// and says how many child values or payload bytes follow.
func (w *headerWalker) sized(b byte) (items, raw int64, err error) {
	var width int
	var mul int64 = 1
	isRaw, ext := true, false
	switch b {
	case 0xd9, 0xc4:
		width = 1
	case 0xda, 0xc5:
		width = 2
	case 0xdb, 0xc6:
		width = 4
	case 0xc7, 0xc8, 0xc9:
		width, ext = 1<<(b-0xc7), true
	case 0xdc, 0xdd:
		width, isRaw = 2<<(b-0xdc), false
	case 0xde, 0xdf:
		width, isRaw, mul = 2<<(b-0xde), false, 2
	default:
		return 0, 0, fmt.Errorf("clusternet: raft request: unknown msgpack type 0x%02x", b)
	}
	n, err := w.uint(width)
	if err != nil {
		return 0, 0, err
	}
	if ext {
		n++ // the ext's type byte
	}
	if isRaw {
		return 0, int64(n), nil
	}
	return int64(n) * mul, 0, nil
}

package chaos

// Added latency without sch_netem. Where the kernel has no netem qdisc, a
// host's inbound packets are sent to an NFQUEUE (iptables, mangle table,
// so that the filter table's partition and loss rules still see them),
// and a delayer in the harness holds each packet for the delay before it
// gives the kernel its verdict. Releases are in arrival order, so jitter
// never reorders packets, as with netem's default.
//
// The delay is on the way in, not out: a packet held on its way out still
// counts against its sender's socket (TCP small queues), which then sends
// about a millisecond's worth at a time; with 60 ms held, 256 KiB took 5 s
// to echo instead of 0.4 s. The veth has already let go of an inbound one.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The nfnetlink_queue protocol (linux/netfilter/nfnetlink_queue.h).
const (
	nfqMsgPacket       = 0 // a queued packet (kernel → us)
	nfqMsgConfig       = 2
	nfqMsgVerdictBatch = 3 // a verdict for every packet up to an id

	nfqaPacketHdr  = 1
	nfqaVerdictHdr = 2

	nfqaCfgCmd      = 1
	nfqaCfgParams   = 2
	nfqaCfgQueueMax = 3
	nfqaCfgMask     = 4
	nfqaCfgFlags    = 5

	nfqCmdBind   = 1
	nfqCopyMeta  = 1 // metadata only: the packet's bytes stay in the kernel
	nfqFlagOpen  = 1 // accept rather than drop when the queue is full
	nfqFlagGSO   = 4 // hand over GSO packets whole rather than segmented
	nfAccept     = 1
	nfqQueueMax  = 1 << 16
	nfqRecvBytes = 1 << 16
	nlaTypeMask  = 0x3fff // without the nested and byte-order flags
)

// delayQueue is the NFQUEUE number the delayer binds in each host's namespace.
const delayQueue = 7

// delayer holds the packets queued in one network namespace for a delay
// (plus up to ±jitter) each, then accepts them in order. Its reader
// goroutine owns the socket's receive side; its releaser goroutine owns
// the queue of pending packets and sends the verdicts.
type delayer struct {
	fd     int
	queue  uint16
	delay  time.Duration
	jitter time.Duration

	pending chan queued
	stop    chan struct{}
	wg      sync.WaitGroup
	seen    atomic.Int64 // packets handed to the releaser
	stopped sync.Once
	closed  sync.Once // the socket; after that the rule's bypass lets packets in
	errMu   sync.Mutex
	err     error
}

type queued struct {
	id      uint32
	release time.Time
}

// startDelayer binds NFQUEUE queue in network namespace ns and starts
// delaying what arrives there.
func startDelayer(ns string, queue uint16, delay, jitter time.Duration) (*delayer, error) {
	var fd int
	err := inNetns(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nfqueue socket in %s: %w", ns, err)
	}
	d := &delayer{fd: fd, queue: queue, delay: delay, jitter: jitter,
		pending: make(chan queued, nfqQueueMax), stop: make(chan struct{})}
	if err := d.configure(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("nfqueue %d in %s: %w", queue, ns, err)
	}
	d.wg.Add(2)
	go d.read()
	go d.release()
	return d, nil
}

// configure binds the queue and asks for metadata only, a long queue and
// whole GSO packets.
func (d *delayer) configure() error {
	if err := unix.Bind(d.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	_ = unix.SetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	params := make([]byte, 5)
	params[4] = nfqCopyMeta
	flags := binary.BigEndian.AppendUint32(nil, nfqFlagOpen|nfqFlagGSO)
	for i, attrs := range [][]nlAttr{
		{{nfqaCfgCmd, []byte{nfqCmdBind, 0, 0, 0}}},
		{{nfqaCfgParams, params}},
		{{nfqaCfgQueueMax, binary.BigEndian.AppendUint32(nil, nfqQueueMax)}},
		{{nfqaCfgFlags, flags}, {nfqaCfgMask, flags}},
	} {
		if err := d.request(nfqMsgConfig, uint32(i+1), true, attrs); err != nil {
			return err
		}
	}
	// The reader wakes up this often to see whether it must stop.
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	return unix.SetsockoptTimeval(d.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
}

type nlAttr struct {
	typ  uint16
	data []byte
}

// request sends one nfnetlink_queue message and, if ack, waits for the
// kernel's answer.
func (d *delayer) request(msgType uint16, seq uint32, ack bool, attrs []nlAttr) error {
	flags := uint16(unix.NLM_F_REQUEST)
	if ack {
		flags |= unix.NLM_F_ACK
	}
	b := make([]byte, unix.NLMSG_HDRLEN, 64)
	// nfgenmsg: family, version, resource id (the queue, big-endian).
	b = append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0)
	b = binary.BigEndian.AppendUint16(b, d.queue)
	for _, a := range attrs {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(a.data)))
		b = binary.NativeEndian.AppendUint16(b, a.typ)
		b = append(b, a.data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NFNL_SUBSYS_QUEUE<<8|msgType)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	if err := unix.Sendto(d.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	if !ack {
		return nil
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(d.fd, buf, 0)
		if err != nil {
			return fmt.Errorf("wait for the kernel's answer: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
				return unix.Errno(errno)
			}
			return nil
		}
	}
}

// read receives queued packets and hands their ids, with their release
// times, to the releaser. Once told to stop, it hands over what is left in
// the socket too (the rule is gone by then), so that every packet gets
// its verdict; if it fails, the releaser lets everything go and closes
// the socket, and the rule's bypass lets packets in undelayed.
func (d *delayer) read() {
	defer d.wg.Done()
	defer close(d.pending)
	buf := make([]byte, nfqRecvBytes)
	var last time.Time
	for {
		flags := 0
		select {
		case <-d.stop:
			flags = unix.MSG_DONTWAIT
		default:
		}
		n, _, err := unix.Recvfrom(d.fd, buf, flags)
		switch {
		case flags != 0 && (err != nil || n == 0):
			return // stopping, and the socket is empty
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			d.fail(fmt.Errorf("receive queued packets: %w", err))
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			d.fail(err)
			return
		}
		for _, m := range msgs {
			if err := netlinkError(m); err != nil {
				d.fail(fmt.Errorf("the kernel refused a verdict: %w", err))
				return
			}
			id, ok := packetID(m)
			if !ok {
				continue
			}
			at := time.Now().Add(d.delay)
			if d.jitter > 0 {
				at = at.Add(time.Duration(rand.Int64N(int64(2*d.jitter))) - d.jitter)
			}
			if at.Before(last) {
				at = last // never overtake an earlier packet
			}
			last = at
			d.seen.Add(1)
			// The releaser takes from pending until it is closed.
			d.pending <- queued{id: id, release: at}
		}
	}
}

// netlinkError is the error an NLMSG_ERROR message carries, or nil.
func netlinkError(m syscall.NetlinkMessage) error {
	if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
		return nil
	}
	if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
		return unix.Errno(errno)
	}
	return nil
}

// packetID returns the id of a queued-packet message.
func packetID(m syscall.NetlinkMessage) (uint32, bool) {
	if m.Header.Type != unix.NFNL_SUBSYS_QUEUE<<8|nfqMsgPacket || len(m.Data) < 4 {
		return 0, false
	}
	attrs := m.Data[4:] // after the nfgenmsg
	for len(attrs) >= 4 {
		l := int(binary.NativeEndian.Uint16(attrs[0:]))
		typ := binary.NativeEndian.Uint16(attrs[2:]) & nlaTypeMask
		if l < 4 || l > len(attrs) {
			return 0, false
		}
		if typ == nfqaPacketHdr && l >= 8 {
			return binary.BigEndian.Uint32(attrs[4:]), true
		}
		next := (l + 3) &^ 3
		if next >= len(attrs) {
			break
		}
		attrs = attrs[next:]
	}
	return 0, false
}

// release accepts each packet at its release time; one batch verdict
// accepts every packet up to the newest one due. It returns once the
// reader has closed pending, after every packet handed over got its
// verdict.
func (d *delayer) release() {
	defer d.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var head queued
	have := false
	defer func() {
		select {
		case <-d.stop:
		default: // the reader failed: stop delaying altogether
			d.closeSocket()
		}
	}()
	for {
		if !have {
			select {
			case q, ok := <-d.pending:
				if !ok {
					return
				}
				head, have = q, true
			case <-d.stop:
				d.drain(0)
				return
			}
		}
		if wait := time.Until(head.release); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-d.stop:
				d.drain(head.id) // let everything go at once
				return
			}
		}
		last := head.id
		have = false
	gather: // every other packet already due goes in the same verdict
		for {
			select {
			case q, ok := <-d.pending:
				if !ok {
					break gather
				}
				if time.Until(q.release) > 0 {
					head, have = q, true
					break gather
				}
				last = q.id
			default:
				break gather
			}
		}
		d.verdict(last)
	}
}

// drain accepts, without delay, held (the newest packet held, or 0) and
// everything the reader still hands over until it closes pending.
func (d *delayer) drain(held uint32) {
	last := held
	for q := range d.pending {
		last = q.id
	}
	if last != 0 {
		d.verdict(last)
	}
}

// verdict accepts every queued packet with an id up to id.
func (d *delayer) verdict(id uint32) {
	hdr := binary.BigEndian.AppendUint32(nil, nfAccept)
	hdr = binary.BigEndian.AppendUint32(hdr, id)
	if err := d.request(nfqMsgVerdictBatch, 0, false, []nlAttr{{nfqaVerdictHdr, hdr}}); err != nil {
		d.fail(fmt.Errorf("verdict: %w", err))
	}
}

func (d *delayer) fail(err error) {
	d.errMu.Lock()
	defer d.errMu.Unlock()
	if d.err == nil {
		d.err = err
	}
}

// Close accepts every packet still held, unbinds the queue and returns the
// first error the delayer met. Remove the rule that feeds the queue first.
// Close may be called more than once.
func (d *delayer) Close() error {
	d.stopped.Do(func() { close(d.stop) })
	d.wg.Wait()
	d.closeSocket()
	d.errMu.Lock()
	defer d.errMu.Unlock()
	return d.err
}

func (d *delayer) closeSocket() { d.closed.Do(func() { unix.Close(d.fd) }) }

// inNetns runs fn on an OS thread that has entered network namespace ns
// (a name under /run/netns). Sockets fn makes stay in ns for their life.
func inNetns(ns string, fn func() error) error {
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: if it cannot go back to its own
		// namespace, it must die with this goroutine rather than serve others.
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// addDelay sends host ns's inbound packets on eth0 through a delayer.
// The rule lets packets pass if the delayer is gone (--queue-bypass).
func addDelay(ctx context.Context, ns string, delay, jitter time.Duration) (*delayer, error) {
	d, err := startDelayer(ns, delayQueue, delay, jitter)
	if err != nil {
		return nil, err
	}
	err = inNS(ctx, ns, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "eth0",
		"-j", "NFQUEUE", "--queue-num", fmt.Sprint(delayQueue), "--queue-bypass")
	if err != nil {
		// The rule may be there even so (a timeout after it was added).
		flush := inNS(context.WithoutCancel(ctx), ns, "iptables", "-t", "mangle", "-F", "PREROUTING")
		return nil, errors.Join(err, flush, d.Close())
	}
	return d, nil
}

// delDelay removes the rule (every copy: the host's namespace is the
// harness's own), then lets the held packets go.
func delDelay(ctx context.Context, ns string, d *delayer) error {
	err := inNS(ctx, ns, "iptables", "-t", "mangle", "-F", "PREROUTING")
	return errors.Join(err, d.Close())
}

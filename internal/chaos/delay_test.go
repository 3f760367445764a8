package chaos

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testHost makes a test network of one host, removed when the test ends,
// and returns a context for the test, the host's namespace and address.
func testHost(t *testing.T) (ctx context.Context, ns, ip string) {
	t.Helper()
	if err := Preflight(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	netw, err := setupNetwork(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netw.close(context.Background()) })
	return ctx, netw.ns(1), netw.ip(1)
}

// TestDelayAddsLatency checks the NFQUEUE delayer on a real host
// namespace: while it holds, every TCP handshake with the host and every
// echo from it takes at least the delay, and the bytes come back whole
// and in order; once it is removed, its rule is gone and traffic flows.
func TestDelayAddsLatency(t *testing.T) {
	ctx, ns, ip := testHost(t)

	var ln net.Listener
	if err := inNetns(ns, func() (err error) { ln, err = net.Listen("tcp", ip+":0"); return err }); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // echo server on the host
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	defer func() { ln.Close(); <-done }()
	addr := ln.Addr().String()

	const delay = 60 * time.Millisecond
	d, err := addDelay(ctx, ns, delay, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close() // a second Close does nothing
	payload := make([]byte, 256<<10)
	_, _ = rand.Read(payload)
	for i := range 3 {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// The host's SYN-ACK is held: the handshake takes the delay at least
		// (less the jitter).
		hs := time.Since(start)
		if hs < delay-10*time.Millisecond {
			t.Errorf("handshake %d took %v under a %v delay", i, hs, delay)
		}
		go func() { _, _ = c.Write(payload) }()
		got := make([]byte, len(payload))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: handshake %v, echo of %d KiB done at %v", i, hs, len(payload)>>10, time.Since(start))
		if !bytes.Equal(got, payload) {
			t.Fatal("echoed bytes differ from those sent")
		}
		c.Close()
	}
	if err := delDelay(ctx, ns, d); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "iptables", "-t", "mangle", "-S", "PREROUTING").CombinedOutput()
	if err != nil {
		t.Fatal(err, string(out))
	}
	if strings.Contains(string(out), "NFQUEUE") {
		t.Errorf("the delay rule is still there: %s", out)
	}
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("after the delay is removed: %v", err)
	}
	c.Close()
}

// TestDelayCloseLetsHeldPacketsGo checks that removing the delay delivers
// what it holds: a datagram held for a minute arrives once the delay is
// removed (UDP would never send it again).
func TestDelayCloseLetsHeldPacketsGo(t *testing.T) {
	ctx, ns, ip := testHost(t)
	var pc net.PacketConn
	if err := inNetns(ns, func() (err error) { pc, err = net.ListenPacket("udp", ip+":0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	d, err := addDelay(ctx, ns, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); d.seen.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the delayer never saw the datagram")
		}
		time.Sleep(time.Millisecond) // polls a counter, with a deadline
	}
	if err := delDelay(ctx, ns, d); err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "held" {
		t.Fatalf("the held datagram was not delivered when the delay was removed: %q, %v", buf[:n], err)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package netem

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// timeout bounds every blocking step of a test: far above any RTT used.
const timeout = 10 * time.Second

// listen starts a TCP server on loopback that runs handle on every
// connection (and closes it after); it stops with the test.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(timeout))
				handle(c)
			})
		}
	})
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func echo(c net.Conn) { _, _ = io.Copy(c, c) }

// relay starts a relay to target for the test.
func relay(t *testing.T, target string, rtt time.Duration) *Relay {
	t.Helper()
	r, err := Listen("127.0.0.1:0", target, rtt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes msg and reads its echo, returning how long it took.
func roundTrip(t *testing.T, c net.Conn, msg string) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
	return time.Since(start)
}

func TestRelayConnectCostsOneRTTAndEachExchangeOne(t *testing.T) {
	const rtt = 100 * time.Millisecond
	r := relay(t, listen(t, echo), rtt)

	start := time.Now()
	c := dial(t, r.Addr())
	roundTrip(t, c, "ping")
	first := time.Since(start)
	// Connect (1 RTT, held by the relay) + the echo (1 RTT).
	if first < 2*rtt {
		t.Errorf("connect + first echo took %v, want at least 2 RTT (%v)", first, 2*rtt)
	}

	again := roundTrip(t, c, "pong")
	if again < rtt {
		t.Errorf("echo on the open connection took %v, want at least 1 RTT (%v)", again, rtt)
	}
	if again >= 2*rtt {
		t.Errorf("echo on the open connection took %v: the connect delay was paid again (want < %v)", again, 2*rtt)
	}
}

func TestRelayDelaysDoNotAccumulate(t *testing.T) {
	const (
		rtt   = 100 * time.Millisecond
		gap   = 10 * time.Millisecond
		count = 10
	)
	arrived := make(chan time.Time, 1)
	target := listen(t, func(c net.Conn) {
		buf := make([]byte, 64)
		total := 0
		for total < count+1 {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			total += n
		}
		arrived <- time.Now()
	})
	r := relay(t, target, rtt)
	c := dial(t, r.Addr())
	// Past the emulated connect, so that only the per-chunk delay applies.
	if _, err := c.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * rtt)

	var last time.Time
	for range count {
		time.Sleep(gap)
		last = time.Now()
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case at := <-arrived:
		// Each byte is due at its own send + RTT/2; were the delays added
		// up, the last one would come count*RTT/2 late.
		if lag := at.Sub(last); lag < rtt/2 || lag > rtt/2+rtt/2 {
			t.Errorf("last byte arrived %v after it was sent, want about RTT/2 (%v)", lag, rtt/2)
		}
	case <-time.After(timeout):
		t.Fatal("the bytes never arrived")
	}
}

func TestRelayLargePayloadArrivesInOrder(t *testing.T) {
	r := relay(t, listen(t, echo), 10*time.Millisecond)
	c := dial(t, r.Addr())

	want := make([]byte, 8<<20) // far more than the queues hold
	if _, err := rand.Read(want); err != nil {
		t.Fatal(err)
	}
	var werr error
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, werr = c.Write(want); werr == nil {
			werr = c.(*net.TCPConn).CloseWrite()
		}
	})
	got, err := io.ReadAll(c) // EOF: the echo server saw ours and closed
	wg.Wait()
	if werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want the same %d bytes in order", len(got), len(want))
	}
}

func TestRelayClientCloseClosesServer(t *testing.T) {
	const rtt = 20 * time.Millisecond
	ended := make(chan error, 1)
	target := listen(t, func(c net.Conn) {
		_, err := io.Copy(io.Discard, c) // returns at EOF
		ended <- err
	})
	r := relay(t, target, rtt)
	c := dial(t, r.Addr())
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("server read ended with %v, want EOF", err)
		}
	case <-time.After(timeout):
		t.Fatal("the server never saw the client's close")
	}
}

func TestRelayServerCloseClosesClient(t *testing.T) {
	target := listen(t, func(c net.Conn) { _, _ = c.Write([]byte("bye")) }) // then closes
	r := relay(t, target, 20*time.Millisecond)
	c := dial(t, r.Addr())
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client read: %v, want the greeting then EOF", err)
	}
	if string(got) != "bye" {
		t.Fatalf("client got %q, want %q", got, "bye")
	}
}

func TestRelayUnreachableTargetClosesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	r := relay(t, dead, 0)
	c := dial(t, r.Addr())
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("read ended with %v", err) // a reset is as good as EOF here
	}
}

func TestRelayCloseEndsLiveConnections(t *testing.T) {
	r, err := Listen("127.0.0.1:0", listen(t, echo), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, r.Addr())
	roundTrip(t, c, "x")
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after Close succeeded, want the connection closed")
	}
	if _, err := net.DialTimeout("tcp", r.Addr(), time.Second); err == nil {
		t.Fatal("dial after Close succeeded, want the listener closed")
	}
}

func TestListenRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string
		rtt    time.Duration
	}{
		{"negative rtt", "127.0.0.1:1", -time.Millisecond},
		{"target without port", "127.0.0.1", time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := Listen("127.0.0.1:0", tc.target, tc.rtt); err == nil {
				_ = r.Close()
				t.Fatal("Listen succeeded, want an error")
			}
		})
	}
}

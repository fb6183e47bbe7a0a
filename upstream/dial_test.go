// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// slowHandshakeListener holds every accepted connection's first read (the
// TLS handshake) until release is closed.
type slowHandshakeListener struct {
	net.Listener
	release chan struct{}
}

func (l *slowHandshakeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &holdConn{Conn: c, hold: l.release}, nil
}

// slowAcceptListener accepts nothing until release is closed: a dial to it
// hangs in its connect.
type slowAcceptListener struct {
	net.Listener
	release chan struct{}
}

func (l *slowAcceptListener) Accept() (net.Conn, error) {
	<-l.release
	return l.Listener.Accept()
}

// TestAbortedRequestsLeaveNoParkedDials: the upstream's TLS handshake
// hangs (plain HTTP: its TCP connect), so the first request's dial is in
// progress and the others wait their turn (one connection may be enough,
// on HTTP/2; plain HTTP/1.1 requests each dial their own). When those
// requests are aborted, their waits and the dials end at once, on the
// bubble's clock: no goroutine stays parked until the connect timeout
// (10s) for a connection nobody waits for.
func TestAbortedRequestsLeaveNoParkedDials(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		release := make(chan struct{})
		ln := newMemListener()
		var held net.Listener = &slowHandshakeListener{Listener: ln, release: release}
		if m == h1 {
			held = &slowAcceptListener{Listener: ln, release: release}
		}
		s := startServer(t, m, okHandler, held, ln.DialContext, func(hs *http.Server) {
			hs.ErrorLog = log.New(io.Discard, "", 0) // the handshakes cut at the end
		})
		var once sync.Once
		releaseAll := func() { once.Do(func() { close(release) }) }
		t.Cleanup(releaseAll) // before s.Close: its handshakes must end
		p := newPool(t, s, nil)
		cl := p.ups[0].classes[classLong]
		baseline := runtime.NumGoroutine()

		const n = 300
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, err := post(t, ctx, p, "x")
				if err == nil {
					resp.Body.Close()
					t.Error("a request was answered through a dial that never ends")
				}
			})
		}
		synctest.Wait()
		if got := parked(cl); got != n { // dialing, or waiting their turn
			t.Fatalf("%d of %d requests dialing or waiting for a connection", got, n)
		}
		start := time.Now()
		cancel() // abort every request
		wg.Wait()
		synctest.Wait()
		if took := time.Since(start); took != 0 || parked(cl) > 0 || runtime.NumGoroutine() > baseline+20 {
			t.Fatalf("%v after %d requests were aborted: %d held dials or waiting requests still parked, %d goroutines (%d before); want none, at once",
				took, n, parked(cl), runtime.NumGoroutine(), baseline)
		}
	})
}

// parked is what a class holds for requests without a connection:
// requests dialing or waiting their turn.
func parked(cl *class) int64 {
	op := cl.own
	op.mu.Lock()
	defer op.mu.Unlock()
	n := int64(op.dialing)
	for w := op.head; w != nil; w = w.next {
		n++
	}
	return n
}

// TestDialContextReachesAUnixSocket: with Config.DialContext the pool
// reaches an upstream listening on a unix socket, in every mode; BaseURL's
// host is then only a name (and the name TLS verifies). Its connections are
// the pool's as any other: dialed once, reused, counted.
func TestDialContextReachesAUnixSocket(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		path := filepath.Join(t.TempDir(), "up.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		var dialed atomic.Int64
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			dialed.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		s := startServer(t, m, okHandler, ln, dial)
		p := newPool(t, s, nil)
		for i := range 3 {
			resp, err := post(t, t.Context(), p, fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("POST /v1/chat/completions %d", i); string(b) != want {
				t.Fatalf("body = %q, want %q", b, want)
			}
			if m == h2 && resp.ProtoMajor != 2 {
				t.Fatalf("proto = %s, want HTTP/2", resp.Proto)
			}
		}
		st := p.Stats()[0]
		if dialed.Load() != 1 || s.accepted.Load() != 1 || st.Opened != 1 || st.Reused != 2 {
			t.Errorf("dialed %d, server accepted %d, pool opened %d and reused %d; want 1, 1, 1, 2",
				dialed.Load(), s.accepted.Load(), st.Opened, st.Reused)
		}
	})
}

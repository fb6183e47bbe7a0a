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
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
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

// TestAbortedRequestsLeaveNoParkedDials: the upstream's TLS handshake
// hangs, so the first request's dial is in progress and the others wait
// their turn (one connection may be enough, on HTTP/2). When those
// requests are aborted, their waits and the dial end at once: no goroutine
// stays parked until the connect timeout (10s) for a connection nobody
// waits for.
func TestAbortedRequestsLeaveNoParkedDials(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewUnstartedServer(http.HandlerFunc(okHandler))
	s.Listener = &slowHandshakeListener{Listener: s.Listener, release: release}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes cut at the end
	s.EnableHTTP2 = true
	s.StartTLS()
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	t.Cleanup(s.Close)
	t.Cleanup(releaseAll) // before s.Close: its handshakes must end

	c := Config{Name: "slow", BaseURL: s.URL + "/v1", TLS: s.Client().Transport.(*http.Transport).TLSClientConfig}
	p, err := New([]Config{c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
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
				t.Error("a request was answered through a handshake that never ends")
			}
		})
	}
	waitFor(t, 10*time.Second, "every request to wait for a connection", func() bool {
		return parked(cl) == n // one dials, the others wait their turn
	})
	held := parked(cl)
	cancel() // abort every request
	wg.Wait()

	deadline := time.Now().Add(3 * time.Second)
	for parked(cl) > 0 || runtime.NumGoroutine() > baseline+20 {
		if time.Now().After(deadline) {
			t.Fatalf("3s after %d requests were aborted: %d of %d held dials or waiting requests still parked, %d goroutines (%d before)",
				n, parked(cl), held, runtime.NumGoroutine(), baseline)
		}
		time.Sleep(10 * time.Millisecond)
	}
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

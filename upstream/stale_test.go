// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// holdListener holds the TLS handshake of its second connection until hold
// is closed, so that a test can keep a dial in progress.
type holdListener struct {
	net.Listener
	n        atomic.Int64
	accepted chan int64
	hold     chan struct{}
}

func (l *holdListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	i := l.n.Add(1)
	l.accepted <- i
	if i == 2 {
		return &holdConn{Conn: c, hold: l.hold}, nil
	}
	return c, nil
}

type holdConn struct {
	net.Conn
	hold chan struct{}
}

func (c *holdConn) Read(p []byte) (int, error) {
	<-c.hold
	return c.Conn.Read(p)
}

// attempts records the pool's attempts.
type attempts struct {
	NopObserver
	mu  sync.Mutex
	all []AttemptInfo
}

func (a *attempts) Attempt(i AttemptInfo) {
	a.mu.Lock()
	a.all = append(a.all, i)
	a.mu.Unlock()
}

// TestDialedConnectionGoesToItsRequest: a request that dials a connection
// gets that connection, even when another one frees up during the dial
// (its TLS handshake, or in plain HTTP its connect): no connection is left
// idle and never used, as net/http's own pool leaves one. The connection
// that freed up waits idle, and when the server drops it before answering
// the request that takes it next, that request is retried at once on
// another connection (stale_conn): the server dropped an idle connection.
// (A connection dialed for the request itself that fails after the request
// was written is not retried: the server may have acted on it.)
func TestDialedConnectionGoesToItsRequest(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		if m == h2 {
			t.Skip("HTTP/2: the second request rides the first connection as another stream; nothing is dialed for it")
		}
		release, inHandler := make(chan struct{}), make(chan struct{}, 4)
		var drops atomic.Int64
		handler := func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			switch r.Header.Get("X-Step") {
			case "hold":
				inHandler <- struct{}{}
				<-release
			case "drop":
				if drops.Add(1) == 1 { // read the request, then drop the connection unanswered
					c, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						_ = c.Close()
					}
					return
				}
			}
			fmt.Fprint(w, "ok")
		}
		// The second connection's dial is held until hold is closed: over
		// TLS its handshake (the server reads nothing of it), in plain
		// HTTP its connect. dialed says a dial began.
		ln := newMemListener()
		dialed, hold := make(chan int64, 8), make(chan struct{})
		var srv net.Listener = &holdListener{Listener: ln, accepted: dialed, hold: hold}
		dial := ln.DialContext
		if m == h1 {
			srv = ln
			var n atomic.Int64
			dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				i := n.Add(1)
				dialed <- i
				if i == 2 {
					select {
					case <-hold:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				return ln.DialContext(ctx, network, addr)
			}
		}
		s := startServer(t, m, handler, srv, dial)
		rec := &attempts{}
		c := Config{Name: "test", BaseURL: s.URL + "/v1", DialContext: s.dial, TLS: s.clientTLS()}
		c.Retry.Base, c.Retry.Max = time.Millisecond, time.Millisecond
		p, err := New([]Config{c}, WithObserver(rec))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })

		send := func(step string) (string, error) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "/chat/completions", strings.NewReader("x"))
			req.Header.Set("X-Step", step)
			resp, err := p.Do(req)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}
		done := make(chan error, 2)
		go func() { _, err := send("hold"); done <- err }() // R0 on connection 1
		<-inHandler
		go func() { _, err := send("hold"); done <- err }() // R1: a second connection is dialed...
		if i := <-dialed; i != 1 {
			t.Fatalf("dialed %d", i)
		}
		if i := <-dialed; i != 2 { // ...and held in its dial
			t.Fatalf("dialed %d", i)
		}
		close(release) // R0 ends; connection 1 is idle, R1 still waits for its own
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("R1 ended (%v) before its connection's dial: it took connection 1", err)
		default:
		}
		close(hold) // connection 2 completes its dial and carries R1
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		tlsCount := int64(2)
		if m == h1 {
			tlsCount = 0
		}
		if st := p.Stats()[0]; st.Opened != 2 || st.TLSCount != tlsCount || st.Open != 2 || st.Active != 0 || st.Reused != 0 {
			t.Fatalf("want two connections, each used once, both idle: %+v", st)
		}
		time.Sleep(50 * time.Millisecond) // they wait idle a while

		got, err := send("drop") // takes connection 2 (the most recently used); the server drops it
		if err != nil || got != "ok" {
			t.Fatalf("got %q, %v; want the retry's ok", got, err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		first := rec.all[len(rec.all)-2]
		if !first.Reused || first.Kind != KindStaleConn {
			t.Errorf("the dropped attempt: reused %v, kind %v; want an idle connection, stale_conn", first.Reused, first.Kind)
		}
		if st := p.Stats()[0]; st.Retries[ReasonStaleConn.String()] != 1 {
			t.Errorf("stale_conn retries = %d, want 1", st.Retries[ReasonStaleConn.String()])
		}
	})
}

// TestStaleRetryDoesNotDrawAnotherStaleConn: a server that drops every
// request on a connection idle for even a few milliseconds (far below what
// the pool learns as an idle timeout) must not cost the client an error
// when several such connections wait idle: after the first stale_conn,
// the idle connections as old are closed, so the retry goes out on a new
// connection instead of drawing the next stale one, and the next, until
// the attempts run out. Over HTTP/2 the requests share one connection,
// which the server closes with the dropped request: the retry dials anew.
func TestStaleRetryDoesNotDrawAnotherStaleConn(t *testing.T) {
	runSync(t, func(t *testing.T, md mode) {
		const idle = 4
		obs := &attempts{}
		m, p := startMemMock(t, md, mock.Options{Latency: 50 * time.Millisecond, Fault: "drop_idle=5ms"}, func(c *Config) { c.MaxIdle = 2 * idle }, WithObserver(obs))
		var wg sync.WaitGroup
		for range idle { // idle connections, opened by requests at once
			wg.Go(func() {
				if _, err := chat(t, p, nil); err != nil {
					t.Errorf("a first request: %v", err)
				}
			})
		}
		wg.Wait()
		want := int64(idle) // one request per HTTP/1.1 connection
		if md == h2 {
			want = 1 // one connection carries them all
		}
		if n := m.Stats().ConnectionsAccepted; n != want {
			t.Fatalf("%d connections opened, want %d idle ones for the test", n, want)
		}
		time.Sleep(20 * time.Millisecond) // every idle connection is now one the server drops requests on
		obs.mu.Lock()
		obs.all = nil
		obs.mu.Unlock()
		resp, err := chat(t, p, nil)
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if err != nil {
			t.Fatalf("the request after the idle gap failed: %v (attempts: %+v)", err, obs.all)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if len(obs.all) != 2 || !obs.all[0].Reused || obs.all[0].Kind != KindStaleConn || obs.all[1].Reused {
			t.Errorf("attempts %+v; want 2: one on a stale connection, then one on a new connection", obs.all)
		}
	})
}

// TestRetryAfterStaleTakesANewConnection: the attempt after a stale_conn
// to the same upstream dials a new connection rather than take another
// idle HTTP/1.1 one, which the server may have dropped as well (a server
// that drops connections idle for milliseconds: the sweep of idle
// connections as old as the stale one cannot catch those that became idle
// since). Without the rule, the retry reuses the idle connection.
// HTTP/1.1 only: an HTTP/2 connection's reader sees a close at once, so
// no dropped HTTP/2 connection waits idle unnoticed.
func TestRetryAfterStaleTakesANewConnection(t *testing.T) {
	runH1(t, testRetryAfterStaleTakesANewConnection)
}

func testRetryAfterStaleTakesANewConnection(t *testing.T, md mode) {
	m, p := startMockIn(t, md, mock.Options{}, nil)
	if _, err := chat(t, p, nil); err != nil { // leaves one idle connection
		t.Fatal(err)
	}
	u := p.ups[0]
	for _, fresh := range []bool{false, true} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, m.URL()+"/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		before := m.Stats().ConnectionsAccepted
		resp, a, aerr := u.attempt(req, "/chat/completions", classOf("/chat/completions"), 2, fresh, NopObserver{}, func(outcome) {})
		if aerr != nil {
			t.Fatalf("fresh=%v: %v", fresh, aerr)
		}
		drain(resp.Body)
		opened := m.Stats().ConnectionsAccepted - before
		if fresh && (opened != 1 || a.info.Reused) {
			t.Errorf("after a stale connection: %d connections opened, reused=%v; want a new one", opened, a.info.Reused)
		}
		if !fresh && opened != 0 {
			t.Errorf("a first attempt opened %d connections; want the idle one reused", opened)
		}
	}
}

// runH1 runs f over HTTP/1.1, plain and over TLS: for what only HTTP/1.1
// has (one request per connection at a time, the stale keep-alive race).
func runH1(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range []mode{h1, h1tls} {
		t.Run(string(m), func(t *testing.T) { f(t, m) })
	}
}

// startMockIn starts the mock on loopback in mode m (h1: plain HTTP/1.1)
// and a pool in front of it.
func startMockIn(t *testing.T, m mode, opts mock.Options, mut func(*Config), popts ...Option) (*mock.Server, *Pool) {
	t.Helper()
	opts.TLS, opts.NoH2 = m != h1, m != h2
	ms, err := mock.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	c := Config{Name: "mock", BaseURL: ms.URL() + "/v1"}
	if opts.TLS {
		c.TLS = &tls.Config{RootCAs: ms.CertPool()}
	}
	return ms, startPool(t, c, mut, popts...)
}

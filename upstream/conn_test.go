// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
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
)

// TestIdleHTTP1MostRecentlyUsedFirst: of two idle HTTP/1.1 connections,
// the next request takes the one freed last, so that the other one can
// reach the idle timeout and close.
func TestIdleHTTP1MostRecentlyUsedFirst(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		if m == h2 {
			t.Skip("HTTP/2 carries every request on one connection")
		}
		release := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
		var mu sync.Mutex
		seen := map[string]string{} // request -> server-side connection
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen[string(b)] = r.RemoteAddr
			mu.Unlock()
			if ch := release[string(b)]; ch != nil {
				<-ch
			}
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, nil)
		done := make(chan error, 2)
		for _, body := range []string{"a", "b"} {
			go func() {
				resp, err := post(t, t.Context(), p, body)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				done <- err
			}()
		}
		synctest.Wait() // both in the handler, on two connections
		close(release["a"])
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		close(release["b"]) // b's connection is freed last
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		resp, err := post(t, t.Context(), p, "c")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if seen["a"] == seen["b"] {
			t.Fatalf("a and b shared connection %s", seen["a"])
		}
		if seen["c"] != seen["b"] {
			t.Errorf("c went on %s; want b's connection %s, the most recently used (a's is %s)", seen["c"], seen["b"], seen["a"])
		}
	})
}

// TestPoolWaitersAreServedInOrder: with MaxConns busy, requests waiting for
// a connection get one in the order they asked (FIFO).
func TestPoolWaitersAreServedInOrder(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		hold := make(chan struct{})
		var mu sync.Mutex
		var order []string
		ln := newMemListener()
		// One connection, one request at a time: over HTTP/2, a server
		// that takes one stream per connection.
		s := startServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if string(b) == "first" {
				<-hold
			} else {
				mu.Lock()
				order = append(order, string(b))
				mu.Unlock()
			}
			_, _ = io.WriteString(w, "ok")
		}, ln, ln.DialContext, func(hs *http.Server) { hs.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1} })
		p := newPool(t, s, func(c *Config) {
			c.MaxConns = 1
			c.Timeouts.PoolWait = time.Minute
		})
		var wg sync.WaitGroup
		send := func(body string) {
			wg.Go(func() {
				resp, err := post(t, t.Context(), p, body)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
			synctest.Wait() // it waits before the next one asks
		}
		send("first")
		const n = 8
		for i := range n {
			send(fmt.Sprint(i))
		}
		close(hold)
		wg.Wait()
		want := make([]string, n)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		if got := strings.Join(order, " "); got != strings.Join(want, " ") {
			t.Errorf("served in order %q, want %q", got, strings.Join(want, " "))
		}
		if st := p.Stats()[0]; st.Opened != 1 || m == h2 && st.OpenedH2 != 1 {
			t.Errorf("opened %d connections (%d HTTP/2), want the one", st.Opened, st.OpenedH2)
		}
	})
}

// TestMaxConnsWinsOverStreamsPerConn: with MaxConns reached, an HTTP/2
// connection takes streams past MaxStreamsPerConn (up to the server's
// limit) rather than make requests wait for a connection. HTTP/2 only: an
// HTTP/1.1 connection carries one request at a time.
func TestMaxConnsWinsOverStreamsPerConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var arrived atomic.Int64
		s := newMemServer(t, h2, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			arrived.Add(1)
			<-release
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, func(c *Config) {
			c.MaxConns = 2 // the short class gets 2 as well; only the long one is used
			c.MaxStreamsPerConn = 4
			c.Timeouts.PoolWait = time.Second
			c.Retry.Attempts = 1
		})
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				resp, err := post(t, t.Context(), p, "x")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		time.Sleep(500 * time.Millisecond) // within the pool wait
		got := arrived.Load()
		close(release)
		wg.Wait()
		if got != 10 {
			t.Errorf("%d of 10 requests reached the server; the others waited for a connection", got)
		}
		if got := s.accepted.Load(); got > 2 {
			t.Errorf("server accepted %d connections, want at most MaxConns (2)", got)
		}
	})
}

// TestIdleH2ConnectionToldGoAwayLeavesAtOnce: an HTTP/2 server at its idle
// timeout says GOAWAY and closes the connection only later (net/http's a
// second later, other servers after their drain time). Such a connection
// takes no request again: the next request must not wait for the server's
// close to dial a new one when MaxConns is reached, and the pool must not
// count it open and idle meanwhile. HTTP/2 only: GOAWAY is an HTTP/2
// frame (an HTTP/1.1 idle close: TestClosedIdleConnectionIsFoundBeforeUse).
func TestIdleH2ConnectionToldGoAwayLeavesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		s := startServer(t, h2, okHandler, ln, ln.DialContext, func(hs *http.Server) { hs.IdleTimeout = 1500 * time.Millisecond })
		p := newPool(t, s, func(c *Config) {
			c.MaxConns = 1
			c.IdleTimeout = time.Minute
			c.Timeouts.PoolWait = time.Minute
		})
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the server said GOAWAY at 1.5s; it closes at 2.5s
		synctest.Wait()
		start := time.Now()
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the request after the GOAWAY took %v: it waited for the server to close the connection", took)
		}
		synctest.Wait()
		if st := p.Stats()[0]; st.Opened != 2 || st.Open != 1 || st.Failures != 0 || st.Retries[ReasonStaleConn.String()] != 0 {
			t.Errorf("opened %d, open %d, failures %d, stale_conn retries %d; want 2, 1, 0, 0: %+v",
				st.Opened, st.Open, st.Failures, st.Retries[ReasonStaleConn.String()], st)
		}
	})
}

// drainer keeps connections the server told GOAWAY from closing: once
// held, what arrives on them is dropped (the server's close included) and
// their reads wait until the client closes them, as on a server that
// drains a connection for long. It wraps the client end of each in-memory
// connection (memListener.wrap); only those open when hold is called are
// held.
type drainer struct {
	mu    sync.Mutex
	conns []*drainConn
}

func (d *drainer) wrap(c net.Conn) net.Conn {
	dc := &drainConn{Conn: c, done: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, dc)
	d.mu.Unlock()
	return dc
}

// hold holds the connections open now.
func (d *drainer) hold() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.held.Store(true)
	}
}

type drainConn struct {
	net.Conn
	held atomic.Bool
	once sync.Once
	done chan struct{} // closed by Close
}

func (c *drainConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.held.Load() {
		<-c.done
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *drainConn) Write(p []byte) (int, error) {
	if c.held.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *drainConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// TestWarmH2ConnectionToldGoAwayIsReplaced: the upstream says GOAWAY on
// the prewarmed HTTP/2 connection at its idle timeout and drains it for
// long (the connection stays open). The keeper replaces it within a round,
// not only once the server closes it. HTTP/2 only: GOAWAY is an HTTP/2
// frame.
func TestWarmH2ConnectionToldGoAwayIsReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &drainer{}
		ln := newMemListener()
		ln.wrap = d.wrap
		s := startServer(t, h2, okHandler, ln, ln.DialContext, func(hs *http.Server) { hs.IdleTimeout = 1500 * time.Millisecond })
		p := newPool(t, s, func(c *Config) { c.Prewarm = 1 })
		synctest.Wait() // the warm-up request is done
		if got := s.accepted.Load(); got != 1 {
			t.Fatalf("the server accepted %d connections at start, want the warm one", got)
		}
		time.Sleep(2 * time.Second) // the server said GOAWAY at 1.5s...
		d.hold()                    // ...and its close, due at 2.5s, never arrives
		time.Sleep(keeperMaxInterval)
		synctest.Wait()
		// (The replacement too is told GOAWAY 1.5s after its warm-up, and
		// replaced in turn: the keeper's rounds come faster once the idle
		// timeout was learned.)
		if got, st := s.accepted.Load(), p.Stats()[0]; got < 2 || st.Open != 1 {
			t.Errorf("a keeper round after the GOAWAY: the server accepted %d connections, the pool has %d open; want 2 or more, and 1 (the warm one replaced)", got, st.Open)
		}
	})
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestClosedIdleConnectionIsFoundBeforeUse: the server closes a
// connection while it is idle; the next request does not go out on it
// (no stale_conn retry, no failed attempt): the pool looks at an idle
// HTTP/1.1 connection before it sends on it, and learns the server's idle
// timeout from what it found. On loopback sockets (a recv that peeks) and
// in memory (a read with a short deadline), plain and over TLS; in memory
// over HTTP/2 as well, whose server says GOAWAY before it closes (the
// sockets subtest is about the peek, which only HTTP/1.1 needs).
func TestClosedIdleConnectionIsFoundBeforeUse(t *testing.T) {
	check := func(t *testing.T, p *Pool, idleClose func()) {
		t.Helper()
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		idleClose()
		if _, err := chat(t, p, nil); err != nil {
			t.Fatal(err)
		}
		st := p.Stats()[0]
		if st.Failures != 0 || st.Retries[ReasonStaleConn.String()] != 0 || st.Opened != 2 || st.Requests != 2 {
			t.Errorf("failures %d, stale_conn retries %d, opened %d, attempts %d; want 0, 0, 2, 2 (the closed connection left out)",
				st.Failures, st.Retries[ReasonStaleConn.String()], st.Opened, st.Requests)
		}
	}
	t.Run("sockets", func(t *testing.T) {
		for _, m := range []mode{h1, h1tls} {
			t.Run(string(m), func(t *testing.T) {
				s := newServer(t, m, okHandler)
				p := newPool(t, s, nil)
				check(t, p, func() {
					s.Config.SetKeepAlivesEnabled(false) // closes the idle connection
					waitFor(t, 5*time.Second, "the server to close the idle connection", func() bool {
						return s.closed.Load() == 1
					})
					s.Config.SetKeepAlivesEnabled(true)
					time.Sleep(10 * time.Millisecond) // its FIN (and TLS goodbye) reach the client
				})
			})
		}
	})
	t.Run("memory", func(t *testing.T) {
		runSync(t, func(t *testing.T, m mode) {
			ln := newMemListener()
			s := startServer(t, m, okHandler, ln, ln.DialContext, func(hs *http.Server) { hs.IdleTimeout = 1500 * time.Millisecond })
			p := newPool(t, s, func(c *Config) { c.IdleTimeout = time.Minute })
			check(t, p, func() {
				time.Sleep(2 * time.Second) // the server closes the connection idle 1.5s
				synctest.Wait()
			})
			if m == h2 {
				// An HTTP/2 server says GOAWAY at its idle timeout and
				// closes a second later; the pool closed the connection
				// told GOAWAY when the request found it, as the server's
				// close (see TestIdleH2ConnectionToldGoAwayLeavesAtOnce).
				synctest.Wait()
				if st := p.Stats()[0]; st.Open != 1 || st.ServerClosedIdle != 1 {
					t.Errorf("open %d, closed by the server %d after its GOAWAY; want 1, 1", st.Open, st.ServerClosedIdle)
				}
			}
			if st := p.Stats()[0]; st.LearnedIdleTimeout == 0 || st.LearnedIdleTimeout > 3*time.Second {
				t.Errorf("learned idle timeout %v, want about 2s (the keeper's round or the request found the close): %+v", st.LearnedIdleTimeout, st)
			}
		})
	})
}

// TestH1Exchange: what net/http's HTTP/1.1 client does, the exchange in the
// caller's goroutine does too: informational answers skipped, an answer
// that says "Connection: close" (or to a request that did) ends its
// connection, a body closed before its end closes the connection and the
// next request takes another, an endless header fails, an answer sent
// before the server read the whole request body (and closed) is the
// answer. In every mode (HTTP/2 shows the same behaviour on net/http's
// code).
func TestH1Exchange(t *testing.T) {
	big := strings.Repeat("x", 16<<20) // more than the sockets buffer: the server answers mid-body
	cases := []struct {
		name    string
		handler http.HandlerFunc
		body    string
		header  http.Header
		read    int // bytes read before Close; -1: all
		status  int
		wantErr bool
		// reuse: the next request reuses the connection.
		reuse bool
	}{
		{name: "plain", handler: okHandler, read: -1, status: 200, reuse: true},
		{name: "1xx before the answer", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusEarlyHints)
			okHandler(w, r)
		}, read: -1, status: 200, reuse: true},
		{name: "Connection: close answer", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			okHandler(w, r)
		}, read: -1, status: 200},
		{name: "Connection: close request", handler: okHandler, header: http.Header{"Connection": {"close"}}, read: -1, status: 200},
		{name: "body closed before its end", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte("y"), 1<<20))
		}, read: 10, status: 200},
		{name: "endless header", handler: func(w http.ResponseWriter, r *http.Request) {
			for i := range 12 << 10 {
				w.Header().Add("X-Pad", strings.Repeat("p", 1000)+string(rune('a'+i%26)))
			}
		}, wantErr: true},
		{name: "early answer to a large body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		}, body: big, read: -1, status: http.StatusRequestEntityTooLarge},
	}
	run(t, func(t *testing.T, m mode) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if m == h2 && tc.name == "endless header" {
					t.Skip("HTTP/2: net/http's header limit is the server's SETTINGS")
				}
				s := startServer(t, m, tc.handler, nil, nil, func(hs *http.Server) { hs.MaxHeaderBytes = 64 << 20 })
				p := newPool(t, s, func(c *Config) { c.Retry.Attempts = 1 })
				body := tc.body
				if body == "" {
					body = "x"
				}
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/embeddings", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tc.header {
					req.Header[k] = v
				}
				resp, err := p.Do(req)
				if tc.wantErr {
					if err == nil {
						resp.Body.Close()
						t.Fatal("an answer; want an error")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.read < 0 {
					_, err = io.Copy(io.Discard, resp.Body)
				} else {
					_, err = io.ReadFull(resp.Body, make([]byte, tc.read))
				}
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if m == h2 || tc.body != "" {
					return // one connection carries everything; the early answer's connection closes
				}
				req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, "/embeddings", strings.NewReader("again"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err = p.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				drain(resp.Body)
				st := p.Stats()[0]
				if want := int64(1); !tc.reuse {
					want = 2
					if st.Opened != want || st.Reused != 0 {
						t.Errorf("opened %d, reused %d; want %d, 0: the connection ended with its answer", st.Opened, st.Reused, want)
					}
				} else if st.Opened != want || st.Reused != 1 {
					t.Errorf("opened %d, reused %d; want %d, 1", st.Opened, st.Reused, want)
				}
			})
		}
	})
}

// TestH1CancelCutsTheExchange: a caller that cancels while the answer's
// header, or its body, is awaited gets its error at once, and the
// connection is closed (not given to the next request).
func TestH1CancelCutsTheExchange(t *testing.T) {
	for _, stage := range []string{"header", "body"} {
		t.Run(stage, func(t *testing.T) {
			run(t, func(t *testing.T, m mode) {
				synctest.Test(t, func(t *testing.T) {
					entered := make(chan struct{}, 1)
					s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.ReadAll(r.Body) // then the server watches the connection
						if stage == "body" {
							w.Write([]byte("first"))
							w.(http.Flusher).Flush()
						}
						entered <- struct{}{}
						<-r.Context().Done()
					})
					p := newPool(t, s, nil)
					ctx, cancel := context.WithCancel(t.Context())
					var got atomic.Value
					done := make(chan struct{})
					go func() {
						defer close(done)
						resp, err := post(t, ctx, p, "x")
						if err == nil {
							_, err = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
						got.Store(err)
					}()
					<-entered
					cancel()
					<-done
					if err, _ := got.Load().(error); !errors.Is(err, context.Canceled) && !isCanceledKind(err) {
						t.Fatalf("err = %v, want the cancel", err)
					}
					synctest.Wait()
					// HTTP/1.1: the connection is cut; HTTP/2: only the stream.
					if st := p.Stats()[0]; m != h2 && st.Open != 0 || st.Active != 0 || st.InFlight != 0 {
						t.Errorf("after the cancel: open %d, active %d, in flight %d; want 0", st.Open, st.Active, st.InFlight)
					}
				})
			})
		})
	}
}

// isCanceledKind reports whether err is the pool's error for a caller's
// cancel.
func isCanceledKind(err error) bool {
	var ue *Error
	return errors.As(err, &ue) && ue.Kind == KindCanceled
}

// TestFirstByteTimerEndsWithTheHeader: an answer whose body takes longer
// than FirstByte (but never goes silent for StreamIdle) is read whole: the
// first-byte timer ends with the first byte of the answer, once, however
// many times the request was reported written.
func TestFirstByteTimerEndsWithTheHeader(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			for range 3 {
				_, _ = io.WriteString(w, "chunk ")
				w.(http.Flusher).Flush()
				time.Sleep(time.Second)
			}
		})
		p := newPool(t, s, func(c *Config) { c.Timeouts.FirstByte, c.Timeouts.StreamIdle = 1500*time.Millisecond, 5*time.Second })
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != "chunk chunk chunk " {
			t.Fatalf("body %q, %v; want the three chunks", b, err)
		}
	})
}

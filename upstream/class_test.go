// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"errors"
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

func TestClassOf(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"/chat/completions", classLong},
		{"/v1/chat/completions", classLong},
		{"/completions", classLong},
		{"/responses", classLong},
		{"/responses/resp_123/cancel", classLong},
		{"/messages", classLong},
		{"/model/anthropic.claude-3-haiku-20240307-v1:0/converse", classLong},
		{"/model/arn:aws:bedrock:us-east-1:1:inference-profile/us.x-v1:0/converse-stream", classLong},
		{"/model/m/invoke-with-response-stream", classLong},
		{"/model/m/count-tokens", classShort},
		{"/async-invoke", classShort},
		{"/embeddings", classShort},
		{"/models", classShort},
		{"/moderations", classShort},
		{"/files", classShort},
	}
	for _, tt := range tests {
		if got := classOf(tt.in); got != tt.want {
			t.Errorf("classOf(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestShortCallsPassStreams fills every generation connection with slow
// streams; short calls must still be answered at once, on their own pool.
func TestShortCallsPassStreams(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		const streams = 90
		release := make(chan struct{})
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if strings.HasSuffix(r.URL.Path, "/embeddings") {
				_, _ = io.WriteString(w, `{"object":"list"}`)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: {}\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		p := newPool(t, s, func(c *Config) {
			c.MaxConns = streams
			c.Timeouts.PoolWait = 5 * time.Second
		})
		var open []io.Closer
		defer func() {
			close(release)
			for _, b := range open {
				b.Close()
			}
		}()
		for range streams {
			resp, err := post(t, t.Context(), p, `{"stream":true}`)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, resp.Body)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/embeddings", strings.NewReader(`{"input":"x"}`))
				resp, err := p.Do(req)
				if err != nil {
					t.Errorf("short call while %d streams are open: %v", streams, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
		if st := p.Stats()[0]; st.InFlight != streams {
			t.Errorf("in flight = %d, want the %d streams still open", st.InFlight, streams)
		}
	})
}

// freezer silences connections on demand: once frozen, bytes stop
// flowing both ways without a FIN or RST, as on a dead network path. It
// wraps the client end of each in-memory connection (memListener.wrap).
type freezer struct{ frozen atomic.Bool }

func (f *freezer) wrap(c net.Conn) net.Conn { return &freezeConn{Conn: c, f: f} }

// freeze silences every connection: bytes are read and dropped.
func (f *freezer) freeze() { f.frozen.Store(true) }

// thaw lets bytes flow again (the test thaws once the dead connection is
// closed, so only new connections carry traffic).
func (f *freezer) thaw() { f.frozen.Store(false) }

type freezeConn struct {
	net.Conn
	f *freezer
}

// Read drops what arrives while frozen.
func (c *freezeConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err != nil || !c.f.frozen.Load() {
			return n, err
		}
	}
}

// Write drops what is sent while frozen, as a network path that swallows it.
func (c *freezeConn) Write(p []byte) (int, error) {
	if c.f.frozen.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// TestSilentH2ConnectionIsDetectedByPing: the network path of an HTTP/2
// connection goes silent (no FIN, no RST). The PING health check must fail
// the request in flight within the ping interval plus timeout, and the next
// request must get a new connection. HTTP/2 only: PING is an HTTP/2 frame
// (a silent HTTP/1.1 answer is cut by StreamIdle: TestStreamIdleCutsSilentBody).
func TestSilentH2ConnectionIsDetectedByPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &freezer{}
		ln := newMemListener()
		ln.wrap = f.wrap
		s := startServer(t, h2, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: 1\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(200 * time.Millisecond):
				_, _ = io.WriteString(w, "data: 2\n\n")
			case <-r.Context().Done():
			}
		}, ln, ln.DialContext)
		p := newPool(t, s, func(c *Config) {
			c.Timeouts.H2PingInterval = 200 * time.Millisecond
			c.Timeouts.H2PingTimeout = 200 * time.Millisecond
			c.Timeouts.StreamIdle = time.Minute // only the ping may cut it
			c.Retry.Attempts = 1
		})

		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("proto %s, want HTTP/2", resp.Proto)
		}
		buf := make([]byte, 9)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		f.freeze()
		start := time.Now()
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err == nil {
			t.Fatal("the stream on a silent connection ended without error")
		}
		// Silent for the ping interval, then the ping unanswered for its
		// timeout: on the bubble's clock, no later.
		if took > 400*time.Millisecond {
			t.Errorf("the dead connection was noticed after %v; the ping should find it within 400ms", took)
		}
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindTruncated {
			t.Errorf("err = %v, want a KindTruncated *Error", err)
		}
		f.thaw()
		resp, err = post(t, t.Context(), p, "y")
		if err != nil {
			t.Fatalf("request after the dead connection was replaced: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if st := p.Stats()[0]; st.Opened != 2 {
			t.Errorf("opened %d connections, want 2 (the dead one replaced)", st.Opened)
		}
	})
}

// TestH2ServerStreamLimit: a server that takes only 10 streams per
// connection. net/http then asks for more connections; they must be dialed
// promptly (one at a time, while requests still wait), not held back.
// HTTP/2 only: the limit is its SETTINGS_MAX_CONCURRENT_STREAMS.
func TestH2ServerStreamLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		s := startServer(t, h2, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			time.Sleep(300 * time.Millisecond)
			_, _ = io.WriteString(w, "ok")
		}, ln, ln.DialContext, func(hs *http.Server) { hs.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 10} })
		p := newPool(t, s, nil)
		start := time.Now()
		var wg sync.WaitGroup
		for range 30 {
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
		wg.Wait()
		took := time.Since(start)
		t.Logf("30 requests of 300ms with 10 streams per connection: %v, %d connections", took, s.accepted.Load())
		// Three rounds of 300ms on one connection; fewer with more. A dial
		// held back for h2HoldMax (100ms) each time would show here.
		if took > 900*time.Millisecond+3*h2HoldMax {
			t.Errorf("took %v: dials for a full HTTP/2 connection were held back", took)
		}
		if got := s.accepted.Load(); got < 2 || got > 60 { // a sanity bound: net/http may ask for one per turned-away request
			t.Errorf("server accepted %d connections", got)
		}
	})
}

// TestH2StreamsPerConnCapped: a server allowing 250 streams per connection
// (net/http's server default), MaxStreamsPerConn 10, 30 slow requests at
// once: the pool spreads them over 3 connections, none carrying more than
// 10 at a time, where net/http alone would put all 30 on one. HTTP/2 only:
// an HTTP/1.1 connection carries one request at a time.
func TestH2StreamsPerConnCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		now, peak := map[string]int{}, map[string]int{}
		release := make(chan struct{})
		var arrived atomic.Int64
		s := newMemServer(t, h2, func(w http.ResponseWriter, r *http.Request) {
			if b, _ := io.ReadAll(r.Body); string(b) == "warm" {
				return
			}
			mu.Lock()
			now[r.RemoteAddr]++
			peak[r.RemoteAddr] = max(peak[r.RemoteAddr], now[r.RemoteAddr])
			mu.Unlock()
			arrived.Add(1)
			<-release
			mu.Lock()
			now[r.RemoteAddr]--
			mu.Unlock()
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, func(c *Config) { c.MaxStreamsPerConn = 10 })
		// One request first: the class learns it speaks HTTP/2.
		resp, err := post(t, t.Context(), p, "warm")
		if err == nil {
			resp.Body.Close()
		}
		var wg sync.WaitGroup
		for range 30 {
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
		deadline := time.Now().Add(10 * time.Second)
		for arrived.Load() < 30 { // all 30 in the handler at once
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("only %d requests reached the server", arrived.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(release)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		t.Logf("streams at once per connection: %v", peak)
		if len(peak) != 3 {
			t.Errorf("%d connections carried the requests, want 3 (30 / 10 per connection)", len(peak))
		}
		for addr, n := range peak {
			if n > 10 {
				t.Errorf("connection %s carried %d requests at once, want at most 10", addr, n)
			}
		}
	})
}

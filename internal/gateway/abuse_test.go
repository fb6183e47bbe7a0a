// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Client-side abuse: clients that are slow on purpose, greedy, gone, or
// hostile. In every test the gateway must stay up and keep serving others:
// stillServes sends a normal request, on a client of its own, during or
// after the abuse.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/upstream"
)

// stillServes asserts that a normal chat completion, sent on a new
// connection, is answered in full within 2s.
func stillServes(t *testing.T, g *gw) {
	t.Helper()
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
		strings.NewReader(chatBody("gpt-4.1-mini", false)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("a normal request failed: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"chat.completion"`)) {
		t.Fatalf("a normal request got %d %q (%v)", resp.StatusCode, b, err)
	}
	t.Logf("a normal request was answered in %v", time.Since(start).Round(time.Millisecond))
}

// dialGateway opens a raw TCP connection to g, closed when the test ends.
func dialGateway(t *testing.T, g *gw) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", g.Addr(), requestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawChat is an HTTP/1.1 chat completion request for model, as bytes.
func rawChat(model string, stream bool) string {
	body := chatBody(model, stream)
	return fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// TestSlowlorisHeaders: clients that send their headers a byte at a time
// and never finish are cut by server.read_header_timeout, while a normal
// client is served meanwhile.
func TestSlowlorisHeaders(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+"server: {read_header_timeout: 300ms}\n", nil)
	const n = 50
	var wg sync.WaitGroup
	cut := make(chan time.Duration, n)
	for range n {
		c := dialGateway(t, g)
		wg.Go(func() {
			start := time.Now()
			_, _ = io.WriteString(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
			buf := make([]byte, 512)
			for time.Since(start) < 5*time.Second {
				_, _ = c.Write([]byte("a")) // one more byte of a header that never ends
				_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						continue // still open
					}
					cut <- time.Since(start) // closed by the gateway
					return
				}
			}
			cut <- -1
		})
	}
	stillServes(t, g)
	wg.Wait()
	close(cut)
	for d := range cut {
		if d < 0 || d > 2*time.Second {
			t.Errorf("a slowloris connection was cut after %v, want about read_header_timeout (300ms)", d)
		}
	}
	stillServes(t, g)
	if got := m.Stats().Requests; got != 2 {
		t.Errorf("the mock saw %d requests, want the 2 normal ones", got)
	}
}

// flood is an upstream that streams chat chunks as fast as the connection
// takes them: size bytes of content each, total bytes in all, then a
// finish chunk and [DONE].
type flood struct {
	*httptest.Server
	written atomic.Int64 // bytes the handlers wrote
	active  atomic.Int64 // handlers running
}

func startFlood(t *testing.T, size int, total int64) *flood {
	t.Helper()
	f := &flood{}
	event := []byte(`data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"` +
		strings.Repeat("x", size) + `"}}]}` + "\n\n")
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.active.Add(1)
		defer f.active.Add(-1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for sent := int64(0); sent < total; sent += int64(len(event)) {
			n, err := w.Write(event)
			f.written.Add(int64(n))
			if err != nil || rc.Flush() != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(f.Close)
	return f
}

// floodYAML serves model "flood" from f and everything else from m.
func floodYAML(t *testing.T, f *flood, m *mock.Server, extra ...string) string {
	lines := append([]string{`models: ["flood"]`, "retry: {attempts: 1}"}, extra...)
	return "upstreams:\n" + upstreamEntry("flood", f.URL, lines...) + upstreamYAML(t, "mock", m, testModels, noCircuit)
}

func upstreamStats(t *testing.T, g *gw, name string) upstream.Stats {
	t.Helper()
	for _, s := range g.Pool.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no upstream %q", name)
	return upstream.Stats{}
}

func heapInuse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// TestClientStopsReadingStream: a client that asks for a stream and never
// reads it must not make the gateway buffer the stream. The gateway writes
// one event at a time and reads the next only when the write returned, so
// once the socket buffers between it and the client are full, it stops
// reading the upstream, whose socket buffers fill in turn, and TCP pauses
// the upstream: memory stays bounded by the kernel's buffers plus one
// event. The upstream is paused, not cut; it is cut when the client leaves.
func TestClientStopsReadingStream(t *testing.T) {
	f := startFlood(t, 16<<10, 1<<30) // 1 GiB: far more than any buffer holds
	m := startMock(t, mock.Options{})
	g := startGateway(t, floodYAML(t, f, m), nil)
	stillServes(t, g) // warm, so that the baseline holds the gateway's steady state
	before := heapInuse()

	c := dialGateway(t, g)
	if _, err := io.WriteString(c, rawChat("flood", true)); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing. Wait for the flood to stop: no byte written
	// for 500ms.
	var paused int64
	last, since, deadline := int64(-1), time.Now(), time.Now().Add(20*time.Second)
	for {
		time.Sleep(50 * time.Millisecond)
		w := f.written.Load()
		if w != last {
			last, since = w, time.Now()
		} else if time.Since(since) >= 500*time.Millisecond && w > 0 {
			paused = w
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upstream was never paused: %d MiB written and counting", w>>20)
		}
	}
	growth := heapInuse() - before
	t.Logf("upstream paused after %.1f MiB (kernel buffers); gateway heap grew %.1f MiB", float64(paused)/(1<<20), float64(growth)/(1<<20))
	if paused > 64<<20 {
		t.Errorf("the upstream wrote %d MiB before being paused: something buffers the stream", paused>>20)
	}
	if growth > 64<<20 {
		t.Errorf("the heap grew by %d MiB while the client read nothing", growth>>20)
	}
	if f.active.Load() != 1 || upstreamStats(t, g, "flood").InFlight != 1 {
		t.Errorf("the upstream request is not paused in flight (handlers %d, in flight %d)", f.active.Load(), upstreamStats(t, g, "flood").InFlight)
	}
	stillServes(t, g)

	// The client leaves: the upstream request ends.
	_ = c.Close()
	eventually(t, 5*time.Second, "the upstream request ended after the client left", func() bool {
		return f.active.Load() == 0 && upstreamStats(t, g, "flood").InFlight == 0
	})
}

// TestSlowReaderIsNotAnUpstreamFault: a client that pauses reading for
// longer than timeouts.stream_idle while the upstream has plenty to send
// is a slow client, not a silent upstream. The stream must complete, and
// the upstream's circuit must stay closed.
func TestSlowReaderIsNotAnUpstreamFault(t *testing.T) {
	f := startFlood(t, 16<<10, 32<<20)
	m := startMock(t, mock.Options{})
	g := startGateway(t, floodYAML(t, f, m, "timeouts: {stream_idle: 300ms}", "circuit: {failures: 2, cooldown: 1m}"), nil)
	var failures []string
	for i := range 2 {
		resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("flood", true))
		br := bufio.NewReader(resp.Body)
		_ = readEvents(br, func(sseEvent) bool { return false }) // the first event
		time.Sleep(time.Second)                                  // the client pauses: the upstream is held back by TCP, not silent
		done, errEvent := false, ""
		err := readEvents(br, func(ev sseEvent) bool {
			switch {
			case ev.name == "error":
				errEvent = ev.data
			case ev.data == "[DONE]":
				done = true
			}
			return true
		})
		resp.Body.Close()
		if !done || errEvent != "" {
			failures = append(failures, fmt.Sprintf("stream %d: done=%t err=%v error event %.120s", i+1, done, err, errEvent))
		}
	}
	st := upstreamStats(t, g, "flood")
	// The upstream body's idle timer runs only while a read waits on the
	// upstream, so a slow client is never taken for a silent upstream.
	if len(failures) > 0 {
		t.Errorf("slow clients were cut as if the upstream had gone silent: %s", strings.Join(failures, "; "))
	}
	if st.Circuit != upstream.CircuitClosed || st.Failures != 0 {
		t.Errorf("after slow clients: circuit %v, failures %d; want closed, 0", st.Circuit, st.Failures)
	}
	stillServes(t, g)
}

// TestClientDisconnectCancelsUpstreamPromptly: a client that goes away
// mid-stream ends the upstream request within 100ms; over HTTP/1.1 its
// upstream connection is closed (the only way to stop a response), over
// HTTP/2 only the stream is reset and the connection is kept for reuse.
func TestClientDisconnectCancelsUpstreamPromptly(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.TokenInterval, opts.Tokens = 50*time.Millisecond, 200 // ~10s
			m := startMock(t, opts)
			g := startGateway(t, defaultYAML(t, m), nil)

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			resp := g.send(t, ctx, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
			defer resp.Body.Close()
			_ = readEvents(resp.Body, func(sseEvent) bool { return false })
			if st := g.stats(t); st.InFlight != 1 {
				t.Fatalf("in flight = %d while streaming, want 1", st.InFlight)
			}
			left := time.Now()
			cancel() // closes the client's connection
			for g.stats(t).InFlight != 0 {
				if time.Since(left) > 2*time.Second {
					t.Fatal("the upstream request was not canceled within 2s")
				}
				time.Sleep(time.Millisecond)
			}
			took := time.Since(left)
			t.Logf("upstream request ended %v after the client left", took)
			if took > 100*time.Millisecond {
				t.Errorf("the upstream request ended %v after the client left, want within 100ms", took)
			}
			if mode.h2 {
				st := g.stats(t)
				if st.Open != 1 || st.Active != 0 {
					t.Errorf("HTTP/2: %d connections open, %d active; want the one connection kept, idle", st.Open, st.Active)
				}
				reused := st.Reused
				stillServes(t, g)
				if g.stats(t).Reused != reused+1 {
					t.Errorf("HTTP/2: the next request did not reuse the connection")
				}
			} else {
				eventually(t, 2*time.Second, "the upstream connection closed", func() bool {
					return m.Stats().ActiveConnections == 0 && g.stats(t).Open == 0
				})
				stillServes(t, g)
			}
		})
	}
}

// idleHelperEnv, when set to "ADDR N", makes TestIdleConnHelperProcess the
// client side of TestManyIdleInboundConnections.
const idleHelperEnv = "WARMGATE_IDLE_CONN_HELPER"

// TestManyIdleInboundConnections: 10,000 connections that never send a
// byte cost the gateway a goroutine and a few KiB each; a normal client is
// still served promptly. The idle clients live in a child process (this
// test binary again), so that the gateway's process needs only its own
// 10,000 descriptors, within the usual limit of 20,000 or more.
func TestManyIdleInboundConnections(t *testing.T) {
	const n = 10_000
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur < n+1_000 {
		t.Skipf("the open-file limit (%d) leaves no room for %d connections", rl.Cur, n)
	}
	m := startMock(t, mock.Options{})
	// The connections stay past read_header_timeout's 10 s while a loaded
	// machine opens the rest; what is measured is their cost, not that
	// timeout (TestSlowlorisHeaders covers it).
	g := startGateway(t, defaultYAML(t, m)+"server: {read_header_timeout: 2m}\n", nil)
	goroutines := runtime.NumGoroutine()

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleConnHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", idleHelperEnv, g.Addr(), n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close() // the helper closes its connections and exits
		if err := cmd.Wait(); err != nil {
			t.Errorf("idle connection helper: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("idle connection helper: %q, %v", line, err)
	}
	// The gateway serves each connection on a goroutine of its own.
	eventually(t, 30*time.Second, "the gateway accepted every idle connection", func() bool {
		return runtime.NumGoroutine()-goroutines >= n
	})
	t.Logf("%d idle connections open and accepted after %v", n, time.Since(start).Round(time.Millisecond))
	stillServes(t, g)
	stillServes(t, g)
}

// TestIdleConnHelperProcess is not a test: TestManyIdleInboundConnections
// runs it in a child process to open its idle connections.
func TestIdleConnHelperProcess(t *testing.T) {
	spec := os.Getenv(idleHelperEnv)
	if spec == "" {
		t.Skip("the client side of TestManyIdleInboundConnections; runs only in its child process")
	}
	var addr string
	var n int
	if _, err := fmt.Sscan(spec, &addr, &n); err != nil {
		t.Fatalf("%s=%q: %v", idleHelperEnv, spec, err)
	}
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && failed.Load() == nil; i = int(next.Add(1) - 1) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					failed.Store(&err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("opening idle connections: %v", *err)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
}

// TestOversizedHeadersAndBodies: headers past server.max_header_bytes get
// net/http's 431, bodies past server.max_body_bytes the gateway's 413 (at
// once when Content-Length announces it, without reading it); nothing is
// forwarded.
func TestOversizedHeadersAndBodies(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+"server: {max_header_bytes: 8192, max_body_bytes: 65536}\n", nil)
	t.Run("one large header", func(t *testing.T) {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Big", strings.Repeat("a", 64<<10))
		if a.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", a.status)
		}
	})
	t.Run("many headers", func(t *testing.T) {
		var hdr []string
		for i := range 2000 {
			hdr = append(hdr, fmt.Sprintf("X-H-%d", i), "0123456789")
		}
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), hdr...)
		if a.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", a.status)
		}
	})
	t.Run("large body", func(t *testing.T) {
		body := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 1<<20) + `"}]}`
		checkError(t, g.do(t, http.MethodPost, "/v1/chat/completions", body), 413, "body_too_large")
	})
	t.Run("announced huge body, never sent", func(t *testing.T) {
		c := dialGateway(t, g)
		_ = c.SetDeadline(time.Now().Add(requestTimeout))
		_, _ = io.WriteString(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n{")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer before the body: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, answer{status: resp.StatusCode, header: resp.Header, body: b}, 413, "body_too_large")
	})
	if n := m.Stats().Requests; n != 0 {
		t.Errorf("the mock saw %d requests; nothing oversized may be forwarded", n)
	}
	stillServes(t, g)
}

// TestHostileJSON: bodies built to trip the model extraction are refused
// with a 400, and nothing is forwarded. Invalid UTF-8 is refused outright:
// encoding/json would read it as U+FFFD, so the gateway would route and
// authorize a model name other than the bytes the upstream gets.
func TestHostileJSON(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	deep := func(open, close string, n int) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct{ name, body string }{
		{"invalid UTF-8 in model", `{"model":"gpt-4.1-mini` + "\xff\xfe" + `",` + msgs + `}`},
		{"overlong UTF-8 in model", `{"model":"gpt-4.1-mini` + "\xc0\xaf" + `",` + msgs + `}`},
		{"invalid UTF-8 elsewhere", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"` + "\xed\xa0\x80" + `"}]}`},
		{"deeply nested model (arrays)", `{"model":` + deep("[", "]", 100_000) + `,` + msgs + `}`},
		{"deeply nested model (objects)", `{"model":` + deep(`{"a":`, "}", 20_000) + `}`},
		{"deeply nested elsewhere", `{"model":"gpt-4.1-mini","x":` + deep("[", "]", 100_000) + `,` + msgs + `}`},
		{"model of the wrong type", `{"model":{"name":"gpt-4.1-mini"},` + msgs + `}`},
		{"two bodies", `{"model":"gpt-4.1-mini",` + msgs + `}{"model":"gpt-4.1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, g.do(t, http.MethodPost, "/v1/chat/completions", tt.body), 400, "invalid_json")
		})
	}
	if n := m.Stats().Requests; n != 0 {
		t.Errorf("the mock saw %d requests; nothing refused may be forwarded", n)
	}
	stillServes(t, g)
}

// TestRequestSmuggling: requests whose body length is ambiguous (RFC 9112
// section 6.1 and 11.2) are refused by net/http with the connection closed,
// or, for Transfer-Encoding with Content-Length, read by the chunked coding
// alone and followed by a closed connection, so that whatever a confused
// front proxy took for the end of the body is never run as a request.
// Each request carries a second one after its body; the mock counts what
// was forwarded.
func TestRequestSmuggling(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	body := chatBody("gpt-4.1-mini", false)
	chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	smuggled := rawChat("gpt-4.1-mini", false)
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	tests := []struct {
		name      string
		req       string
		status    int   // first answer
		forwarded int64 // requests the mock may see
	}{
		{"Content-Length then Transfer-Encoding", head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled, 200, 1},
		{"Transfer-Encoding then Content-Length", head + "Transfer-Encoding: chunked\r\nContent-Length: 400\r\n\r\n" + chunked + smuggled, 200, 1},
		{"conflicting Content-Lengths", head + fmt.Sprintf("Content-Length: %d\r\nContent-Length: 4\r\n\r\n", len(body)) + body + smuggled, 400, 0},
		{"Content-Length list", head + fmt.Sprintf("Content-Length: %d, 4\r\n\r\n", len(body)) + body + smuggled, 400, 0},
		{"signed Content-Length", head + fmt.Sprintf("Content-Length: +%d\r\n\r\n", len(body)) + body + smuggled, 400, 0},
		{"unknown transfer coding", head + "Transfer-Encoding: xchunked\r\n\r\n" + chunked + smuggled, 501, 0},
		{"two transfer codings", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunked + smuggled, 501, 0},
		{"space before the colon", head + "Transfer-Encoding : chunked\r\n\r\n" + chunked + smuggled, 400, 0},
		{"bare CR in a header", head + "X: a\rTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Stats().Requests
			c := dialGateway(t, g)
			_ = c.SetDeadline(time.Now().Add(requestTimeout))
			if _, err := io.WriteString(c, tt.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			// Then the connection must close: no second answer, ever.
			if resp2, err := http.ReadResponse(br, nil); err == nil {
				resp2.Body.Close()
				t.Errorf("the request after the body was run too: %d", resp2.StatusCode)
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the connection stayed open after an ambiguous request")
			}
			if n := m.Stats().Requests - before; n != tt.forwarded {
				t.Errorf("the mock saw %d requests, want %d", n, tt.forwarded)
			}
		})
	}
	stillServes(t, g)
}

// h2Frame is one HTTP/2 frame (RFC 9113 section 4.1).
func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream&0x7fffffff)
	return append(b, payload...)
}

// h2Get is the HPACK block of a GET for path (static table entries for
// :method GET and :scheme http, literals without indexing for the rest;
// RFC 7541), short enough for one-byte lengths.
func h2Get(path string) []byte {
	b := []byte{0x82, 0x86, 0x04, byte(len(path))} // :method GET, :scheme http, :path literal
	b = append(b, path...)
	return append(b, 0x01, 2, 'g', 'w') // :authority gw
}

// TestH2RapidReset: a client on the gateway's h2c listener opens and resets
// streams as fast as it can (CVE-2023-44487). net/http bounds the handlers
// it runs per connection and drops such a connection; other clients, over
// HTTP/1.1 and h2c, are served throughout.
func TestH2RapidReset(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	c := dialGateway(t, g)

	// The server's frames are read and dropped, noting a GOAWAY.
	var goaway atomic.Bool
	var answered atomic.Int64 // HEADERS frames: streams the server answered before their reset
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		br := bufio.NewReader(c)
		hdr := make([]byte, 9)
		for {
			if _, err := io.ReadFull(br, hdr); err != nil {
				return
			}
			switch hdr[3] {
			case 0x1:
				answered.Add(1)
			case 0x7:
				goaway.Store(true)
			}
			if _, err := br.Discard(int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])); err != nil {
				return
			}
		}
	}()

	// Normal clients, HTTP/1.1 and h2c, all through the attack.
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	h2tr := &http.Transport{Protocols: &h2c}
	defer h2tr.CloseIdleConnections()
	stop := make(chan struct{})
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	for _, hc := range []*http.Client{g.hc, {Transport: h2tr}} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions",
					strings.NewReader(chatBody("gpt-4.1-mini", false)))
				resp, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err == nil && resp.StatusCode == http.StatusOK {
					served.Add(1)
				} else {
					failed.Add(1)
				}
				cancel()
			}
		})
	}

	// Open and reset streams for a second, as fast as the connection
	// takes them; a write blocked by the server's flow control ends the
	// attack at the deadline.
	start := time.Now()
	deadline := start.Add(time.Second)
	_ = c.SetWriteDeadline(deadline.Add(time.Second))
	bw := bufio.NewWriterSize(c, 64<<10)
	_, _ = bw.WriteString("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	_, _ = bw.Write(h2Frame(0x4, 0, 0, nil)) // SETTINGS
	paths := []string{"/healthz", "/v1/models"}
	sent := 0
	for id := uint32(1); time.Now().Before(deadline); id += 2 {
		_, _ = bw.Write(h2Frame(0x1, 0x5, id, h2Get(paths[sent%len(paths)]))) // HEADERS, END_STREAM|END_HEADERS
		_, _ = bw.Write(h2Frame(0x3, 0, id, []byte{0, 0, 0, 0x8}))            // RST_STREAM CANCEL
		sent++
		if sent%64 == 0 && bw.Flush() != nil {
			break // the server closed the connection, or stopped reading it
		}
	}
	_ = bw.Flush()
	t.Logf("sent %d HEADERS+RST_STREAM pairs in %v; %d answered; GOAWAY received: %t",
		sent, time.Since(start).Round(time.Millisecond), answered.Load(), goaway.Load())
	stillServes(t, g)
	close(stop)
	wg.Wait()
	_ = c.Close()
	<-readerDone
	t.Logf("during the attack: %d normal requests served, %d failed", served.Load(), failed.Load())
	if failed.Load() > 0 || served.Load() == 0 {
		t.Errorf("normal clients during the attack: %d served, %d failed; want all served", served.Load(), failed.Load())
	}
	stillServes(t, g)
}

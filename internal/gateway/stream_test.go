// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Streams through the gateway, read by a raw HTTP client: events arrive as
// the upstream sends them, a client that leaves cancels the upstream, a
// stream cut mid-way ends in an error event and an aborted response.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestStreamNotBuffered: the first event reaches the client long before
// the upstream sends its last one. The mock paces 10 tokens 100ms apart
// (about 1s in all); a gateway that buffered the stream, or flushed only at
// its end, would deliver the first event about as late as the last.
func TestStreamNotBuffered(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.TTFT, opts.TokenInterval, opts.Tokens = 5*time.Millisecond, 100*time.Millisecond, 10
			m := startMock(t, opts)
			g := startGateway(t, defaultYAML(t, m), nil)

			// Times are measured from before the request is sent: a
			// buffering gateway would hold back the headers too.
			start := time.Now()
			resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("Content-Type = %q, want text/event-stream", ct)
			}
			var first, last time.Duration
			var events []sseEvent
			err := readEvents(resp.Body, func(ev sseEvent) bool {
				if len(events) == 0 {
					first = time.Since(start)
				}
				last = time.Since(start)
				events = append(events, ev)
				return true
			})
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			// role chunk + 10 tokens + finish chunk + [DONE]
			if len(events) != 13 || events[len(events)-1].data != "[DONE]" {
				t.Fatalf("got %d events ending in %q, want 13 ending in [DONE]", len(events), events[len(events)-1].data)
			}
			t.Logf("first event after %v, last after %v", first, last)
			if last < 500*time.Millisecond {
				t.Fatalf("the stream took %v; the mock paces it over ~900ms", last)
			}
			if first >= last/2 {
				t.Errorf("first event after %v, last after %v: the stream was buffered", first, last)
			}
		})
	}
}

// TestClientDisconnectCancelsUpstream: a client that goes away mid-stream
// ends the upstream request at once, instead of leaving the gateway reading
// a 10s stream nobody wants.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.TokenInterval, opts.Tokens = 100*time.Millisecond, 100 // ~10s
			m := startMock(t, opts)
			g := startGateway(t, defaultYAML(t, m), nil)

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			start := time.Now()
			resp := g.send(t, ctx, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true))
			defer resp.Body.Close()
			got := 0
			_ = readEvents(resp.Body, func(sseEvent) bool { got++; return false })
			if got != 1 {
				t.Fatalf("read %d events, want 1", got)
			}
			if st := g.stats(t); st.InFlight != 1 {
				t.Fatalf("upstream in flight = %d while streaming, want 1", st.InFlight)
			}
			cancel()

			eventually(t, 3*time.Second, "upstream request ended after the client left", func() bool {
				return g.stats(t).InFlight == 0
			})
			if !mode.h2 {
				// Over HTTP/1.1 the only way to stop a response is to close
				// its connection: the mock sees it go.
				eventually(t, 3*time.Second, "mock connection closed after the client left", func() bool {
					return m.Stats().ActiveConnections == 0
				})
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v: the upstream stream was not canceled", d)
			}
		})
	}
}

// TestStreamResetMidway: the upstream dies after 2 chunks. The client gets
// those 2 chunks, then an "error" event in OpenAI's shape, then a broken
// response; never a [DONE] that would make a truncated answer look whole.
func TestStreamResetMidway(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			g := startGateway(t, defaultYAML(t, m), nil)

			resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true),
				mock.FaultHeader, "reset_after_chunks=2")
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (the stream had started)", resp.StatusCode)
			}
			var events []sseEvent
			err := readEvents(resp.Body, func(ev sseEvent) bool { events = append(events, ev); return true })
			if err == nil {
				t.Error("the response ended cleanly; want it aborted after the error event")
			}
			if len(events) != 3 {
				t.Fatalf("got %d events %+v, want 2 chunks and an error event", len(events), events)
			}
			for i, ev := range events[:2] {
				if ev.name != "" || !strings.Contains(ev.data, "chat.completion.chunk") {
					t.Errorf("event %d = %+v, want a chunk", i, ev)
				}
			}
			ev := events[2]
			if ev.name != "error" {
				t.Fatalf("last event is %q, want an \"error\" event", ev.name)
			}
			var e errorShape
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil || e.Error.Message == nil || e.Error.Type == nil {
				t.Fatalf("error event data is not an OpenAI error: %v: %s", err, ev.data)
			}
			for _, ev := range events {
				if ev.data == "[DONE]" {
					t.Error("a [DONE] was sent for a truncated stream")
				}
			}
			// The gateway itself is fine: the next request succeeds.
			if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
				t.Errorf("next request: status %d: %s", a.status, a.body)
			}
		})
	}
}

// TestStreamResetBeforeFirstChunk: an upstream that fails right after its
// headers, before any event, is an upstream failure: the client gets an
// error event, never a [DONE].
func TestStreamResetBeforeFirstChunk(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true),
		mock.FaultHeader, "reset_after_chunks=0")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("the response ended cleanly (%d, %q); want it aborted", resp.StatusCode, b)
	}
	if strings.Contains(string(b), "[DONE]") {
		t.Errorf("a [DONE] was sent: %q", b)
	}
	if !strings.Contains(string(b), "event: error") {
		t.Errorf("no error event: %q", b)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("the aborted stream hung until the client's deadline")
	}
}

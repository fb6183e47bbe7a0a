// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/warmgate/warmgate/upstream"
)

const body = "data: hello\n\n"

func hello(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }

// TestSequentialRequestsOneConnection sends N requests one after the other
// and checks that the metrics agree with what the server saw: one
// connection, opened once and reused N-1 times.
func TestSequentialRequestsOneConnection(t *testing.T) {
	run(t, func(t *testing.T, mode string) {
		const n = 5
		m := New()
		s := newServer(t, mode, hello)
		p := newPool(t, m, s, nil)
		for range n {
			if code, err := get(t.Context(), p, "/chat/completions"); err != nil || code != 200 {
				t.Fatalf("get: %d, %v", code, err)
			}
		}
		f := scrape(t, m)

		proto, other := "http/1.1", "h2"
		if mode == modeH2 {
			proto, other = other, proto
		}
		if got := s.accepted.Load(); got != 1 {
			t.Errorf("server accepted %d connections, want 1", got)
		}
		wantValue(t, f, float64(s.accepted.Load()), "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", proto)
		wantValue(t, f, 0, "warmgate_upstream_connections_opened_total", "upstream", "a", "proto", other)
		wantValue(t, f, n-1, "warmgate_upstream_connections_reused_total", "upstream", "a")
		wantValue(t, f, n, "warmgate_upstream_requests_total", "upstream", "a", "code", "200")
		wantValue(t, f, n, "warmgate_upstream_first_byte_seconds", "upstream", "a")
		wantValue(t, f, n, "warmgate_upstream_pool_wait_seconds", "upstream", "a")
		wantValue(t, f, 1, "warmgate_upstream_handshake_seconds", "upstream", "a", "phase", "connect")
		tlsHandshakes := 1.0
		if mode == modeH1 {
			tlsHandshakes = 0
		}
		wantValue(t, f, tlsHandshakes, "warmgate_upstream_handshake_seconds", "upstream", "a", "phase", "tls")
		wantValue(t, f, 0, "warmgate_upstream_handshake_seconds", "upstream", "a", "phase", "dns") // an IP address
		wantValue(t, f, float64(n*len(body)), "warmgate_upstream_stream_bytes_total", "upstream", "a")
		wantValue(t, f, 0, "warmgate_upstream_retries_total", "upstream", "a")
		wantValue(t, f, 1, "warmgate_upstream_connections", "upstream", "a", "state", "idle")
		wantValue(t, f, 0, "warmgate_upstream_connections", "upstream", "a", "state", "active")
		wantValue(t, f, 0, "warmgate_upstream_in_flight", "upstream", "a")
		wantValue(t, f, 90, "warmgate_upstream_idle_timeout_seconds", "upstream", "a")
		wantValue(t, f, 0, "warmgate_upstream_pool_exhausted_total", "upstream", "a")
		wantValue(t, f, float64(upstream.CircuitClosed), "warmgate_upstream_circuit_state", "upstream", "a")
		if find(f, "warmgate_upstream_circuit_state", "upstream", "a") == nil {
			t.Error("warmgate_upstream_circuit_state{upstream=a} missing after WatchPool")
		}
	})
}

// TestRetryOn503 checks the retry, and both attempts, of a 503 followed by
// a 200.
func TestRetryOn503(t *testing.T) {
	run(t, func(t *testing.T, mode string) {
		m := New()
		var calls atomic.Int64
		s := newServer(t, mode, func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			hello(w, r)
		})
		p := newPool(t, m, s, func(c *upstream.Config) {
			c.Retry = upstream.RetryPolicy{Base: time.Millisecond, Max: time.Millisecond}
		})
		if code, err := get(t.Context(), p, "/chat/completions"); err != nil || code != 200 {
			t.Fatalf("get: %d, %v", code, err)
		}
		f := scrape(t, m)
		wantValue(t, f, 1, "warmgate_upstream_retries_total", "upstream", "a", "reason", "status_5xx")
		wantValue(t, f, 1, "warmgate_upstream_requests_total", "upstream", "a", "code", "503")
		wantValue(t, f, 1, "warmgate_upstream_requests_total", "upstream", "a", "code", "200")
		wantValue(t, f, 2, "warmgate_upstream_first_byte_seconds", "upstream", "a")
		// Every reason's series exists from the start (at 0); only status_5xx moved.
		for _, mt := range f["warmgate_upstream_retries_total"].GetMetric() {
			if v := mt.GetCounter().GetValue(); v != 0 && !hasLabel(mt, "reason", "status_5xx") {
				t.Errorf("retries_total %v = %v, want only status_5xx counted", mt.GetLabel(), v)
			}
		}
		if got := len(f["warmgate_upstream_retries_total"].GetMetric()); got != len(upstream.RetryReasons()) {
			t.Errorf("%d retries_total series, want one per reason (%d)", got, len(upstream.RetryReasons()))
		}
	}, modeH1, modeH2)
}

// TestDialFailureCountedByKind checks that attempts without a response are
// counted under their failure kind, with a connect retry between them.
func TestDialFailureCountedByKind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connection refused

	m := New()
	p, err := upstream.New([]upstream.Config{{
		Name:    "dead",
		BaseURL: "http://" + addr,
		Retry:   upstream.RetryPolicy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond},
	}}, upstream.WithObserver(m))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m.WatchPool(p)

	_, err = get(t.Context(), p, "/chat/completions")
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Kind != upstream.KindDial {
		t.Fatalf("get: %v, want a dial error", err)
	}
	f := scrape(t, m)
	wantValue(t, f, 2, "warmgate_upstream_requests_total", "upstream", "dead", "code", "dial")
	wantValue(t, f, 1, "warmgate_upstream_retries_total", "upstream", "dead", "reason", "connect")
	wantValue(t, f, 0, "warmgate_upstream_first_byte_seconds", "upstream", "dead")
	wantValue(t, f, 0, "warmgate_upstream_connections_opened_total", "upstream", "dead", "proto", "http/1.1")
}

// TestPoolExhausted holds the only connection of a MaxConns=1 upstream with
// a streaming response, so that a second request gives up waiting for a
// connection; meanwhile the gauges show the busy connection.
func TestPoolExhausted(t *testing.T) {
	m := New()
	release := make(chan struct{})
	s := newServer(t, modeH1, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release) // before s.Close, which waits for the handler
	const poolWait = 50 * time.Millisecond
	p := newPool(t, m, s, func(c *upstream.Config) {
		c.MaxConns = 1
		c.Timeouts.PoolWait = poolWait
		c.Retry.Attempts = 1
	})

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/chat/completions", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	held, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Body.Close()

	_, err = get(t.Context(), p, "/chat/completions")
	if !errors.Is(err, upstream.ErrPoolExhausted) {
		t.Fatalf("second request: %v, want ErrPoolExhausted", err)
	}
	f := scrape(t, m)
	wantValue(t, f, 1, "warmgate_upstream_pool_exhausted_total", "upstream", "a")
	wantValue(t, f, 1, "warmgate_upstream_requests_total", "upstream", "a", "code", "pool_exhausted")
	wantValue(t, f, 1, "warmgate_upstream_requests_total", "upstream", "a", "code", "200")
	wantValue(t, f, 1, "warmgate_upstream_in_flight", "upstream", "a")
	wantValue(t, f, 1, "warmgate_upstream_connections", "upstream", "a", "state", "active")
	wantValue(t, f, 0, "warmgate_upstream_connections", "upstream", "a", "state", "idle")

	// Both attempts waited: the held one briefly, the exhausted one for
	// the whole pool wait, which must land at or above its bucket.
	h := find(f, "warmgate_upstream_pool_wait_seconds", "upstream", "a").GetHistogram()
	if h.GetSampleCount() != 2 {
		t.Fatalf("pool_wait_seconds count = %d, want 2", h.GetSampleCount())
	}
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() < poolWait.Seconds() && b.GetCumulativeCount() > 1 {
			t.Errorf("pool_wait_seconds: %d samples <= %gs, want the exhausted wait above %v",
				b.GetCumulativeCount(), b.GetUpperBound(), poolWait)
		}
	}
}

// TestObserverAllocs checks that the Observer methods allocate nothing once
// an upstream's series exist: they run on every attempt.
func TestObserverAllocs(t *testing.T) {
	m := New()
	ok := upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 200, Reused: true, Proto: "h2",
		PoolWait: time.Microsecond, FirstByte: 300 * time.Millisecond}
	fresh := upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 503, NewConn: true,
		Connect: time.Millisecond, TLS: 3 * time.Millisecond, DNS: time.Millisecond, FirstByte: time.Second}
	failed := upstream.AttemptInfo{Upstream: "a", Attempt: 2, Kind: upstream.KindStaleConn, Reused: true}
	done := upstream.BodyInfo{Upstream: "a", Bytes: 1 << 10}
	f := func() {
		m.Attempt(ok)
		m.Attempt(fresh)
		m.Attempt(failed)
		m.Retry("a", upstream.ReasonStaleConn)
		m.BodyDone(done)
		m.Request("/v1/chat/completions", 200, time.Second)
	}
	f()
	if n := testing.AllocsPerRun(100, f); n != 0 {
		t.Errorf("Observer methods: %v allocations per run, want 0", n)
	}
}

// hasLabel reports whether mt has the label name=value.
func hasLabel(mt *dto.Metric, name, value string) bool {
	for _, l := range mt.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

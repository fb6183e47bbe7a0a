// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{"absent", http.Header{}, 0, false},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second, true},
		{"zero", http.Header{"Retry-After": {"0"}}, 0, true},
		{"spaces", http.Header{"Retry-After": {" 7 "}}, 7 * time.Second, true},
		{"negative", http.Header{"Retry-After": {"-1"}}, 0, false},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"http date", http.Header{"Retry-After": {"Thu, 26 Nov 2026 12:00:05 GMT"}}, 5 * time.Second, true},
		{"date in the past", http.Header{"Retry-After": {"Thu, 26 Nov 2026 11:00:00 GMT"}}, 0, true},
		{"openai ms", http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 1500 * time.Millisecond, true},
		{"huge", http.Header{"Retry-After": {"99999999999"}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRetryAfter = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "Thu, 26 Nov 2026 12:00:05 GMT", "-5", "", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(http.Header{"Retry-After": {s}}, time.Now())
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 10; n++ {
		ceil := min(p.Base<<(n-1), p.Max)
		for range 200 {
			if d := backoff(&p, n); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceil)
			}
		}
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		kind       Kind
		wrote      bool
		replayable bool
		want       bool
		reason     RetryReason
	}{
		{KindDial, false, false, true, ReasonConnect},
		{KindDNS, false, false, true, ReasonConnect},
		{KindPoolExhausted, false, false, true, ReasonConnect},
		{KindStaleConn, true, false, true, ReasonStaleConn},
		{KindHeaderTimeout, true, false, true, ReasonTimeout},
		{KindConnReset, false, false, true, ReasonConnect},
		{KindConnReset, true, false, false, ReasonStaleConn},
		{KindConnReset, true, true, true, ReasonStaleConn},
		{KindCanceled, false, true, false, 0},
		{KindStreamIdle, true, true, false, 0},
	}
	for _, tt := range tests {
		reason, ok := retryable(tt.kind, tt.wrote, tt.replayable)
		if ok != tt.want || (ok && reason != tt.reason) {
			t.Errorf("retryable(%v, wrote=%v, replayable=%v) = %v, %v; want %v, %v",
				tt.kind, tt.wrote, tt.replayable, reason, ok, tt.reason, tt.want)
		}
	}
	for code, want := range map[int]bool{429: true, 500: true, 502: true, 503: true, 504: true, 529: true,
		400: false, 401: false, 403: false, 404: false, 409: false, 422: false, 501: false} {
		if _, ok := retryableStatus(code); ok != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, ok, want)
		}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls, first, second atomic.Int64 // unix nanos
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if calls.Add(1) == 1 {
				first.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			second.Store(time.Now().UnixNano())
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, func(c *Config) { c.Retry.Base = time.Millisecond; c.Retry.Max = 2 * time.Millisecond })
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200 after the retry", resp.StatusCode)
		}
		if gap := time.Duration(second.Load() - first.Load()); gap < time.Second {
			t.Errorf("retried after %v, before the upstream's Retry-After of 1s", gap)
		}
	})
}

func TestRetryBudgetStopsRetriesWhenMostRequestsFail(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			calls.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		p := newPool(t, s, func(c *Config) {
			c.Retry.Base = time.Microsecond
			c.Retry.Max = time.Microsecond
			c.Retry.Attempts = 5
			c.Retry.Budget = 0.1
			c.Breaker.Disable = true // measure the budget alone
		})
		const n = 100
		for range n {
			resp, err := post(t, t.Context(), p, "x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 503 {
				t.Fatalf("status %d, want the upstream's 503", resp.StatusCode)
			}
		}
		// Without a budget: 5 attempts each, 500 calls. With 10% plus the floor
		// of 10 retries per window: at most 100 + 10 + 10.
		retries := p.Stats()[0].Retries["status_5xx"]
		if got := calls.Load(); got > n+n/10+10 || retries != got-n {
			t.Errorf("%d calls upstream for %d requests (%d retries); the budget should allow at most %d",
				got, n, retries, n+n/10+10)
		}
	})
}

func TestDeadlineBoundsTheWholeLoop(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusBadGateway)
		})
		p := newPool(t, s, func(c *Config) { c.Retry.Base = 2 * time.Second; c.Retry.Max = 2 * time.Second; c.Retry.Attempts = 10 })
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		resp, err := post(t, ctx, p, "x")
		if err == nil {
			resp.Body.Close()
		}
		var ue *Error
		if err != nil && !(errors.As(err, &ue) && ue.Kind == KindCanceled) {
			t.Fatalf("err = %v", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %v with a 300ms deadline", took)
		}
	})
}

// TestClassifyStaleMeansNotRun: KindStaleConn (resent whatever the method)
// only when the upstream provably did not run the request.
func TestClassifyStaleMeansNotRun(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	const w = minStaleWindow
	tests := []struct {
		name string
		err  error
		f    failure
		want Kind
	}{
		{"idle connection, reset at once after the write", reset, failure{waited: true, wrote: true, afterWrite: 5 * time.Millisecond, window: w}, KindStaleConn},
		{"idle connection, EOF at once after the write", io.EOF, failure{waited: true, wrote: true, afterWrite: w, window: w}, KindStaleConn},
		{"idle connection, reset after the upstream worked 2s", reset, failure{waited: true, wrote: true, afterWrite: 2 * time.Second, window: w}, KindConnReset},
		{"idle connection, reset just past the window", reset, failure{waited: true, wrote: true, afterWrite: w + time.Millisecond, window: w}, KindConnReset},
		{"slow path: a wider window", reset, failure{waited: true, wrote: true, afterWrite: 400 * time.Millisecond, window: staleWindow(300 * time.Millisecond)}, KindStaleConn},
		{"idle connection, failed before the write ended", reset, failure{waited: true, wrote: false, window: w}, KindStaleConn},
		{"new connection, reset at once after the write", reset, failure{wrote: true, afterWrite: time.Millisecond, window: w}, KindConnReset},
		{"new connection, not written", reset, failure{window: w}, KindConnReset},
		{"after the first response byte", reset, failure{waited: true, wrote: true, gotFirstByte: true, afterWrite: time.Millisecond, window: w}, KindConnReset},
		{"server closed idle connection (before the write)", errors.New("http: server closed idle connection"), failure{waited: true, wrote: true, afterWrite: 3 * time.Second, window: w}, KindStaleConn},
		{"HTTP/2 REFUSED_STREAM", errors.New("stream error: stream ID 5; REFUSED_STREAM; received from peer"), failure{wrote: true, afterWrite: 3 * time.Second, window: w}, KindStaleConn},
		{"HTTP/2 GOAWAY below our stream", errors.New("http2: Transport received Server's graceful shutdown GOAWAY"), failure{wrote: true, afterWrite: 3 * time.Second, window: w}, KindStaleConn},
		{"HTTP/2 GOAWAY at or above our stream", errors.New("http2: server sent GOAWAY and closed the connection; LastStreamID=5, ErrCode=NO_ERROR, debug=\"\""), failure{waited: true, wrote: true, afterWrite: 3 * time.Second, window: w}, KindConnReset},
		{"TLS handshake failure", tls.AlertError(40), failure{window: w}, KindTLS},
		{"TLS alert after the request was written", tls.AlertError(80), failure{waited: true, wrote: true, afterWrite: 2 * time.Second, window: w}, KindConnReset},
		{"first byte timer", context.Canceled, failure{cause: errFirstByte, waited: true, wrote: true, window: w}, KindHeaderTimeout},
		{"caller canceled", context.Canceled, failure{cause: context.Canceled, waited: true, wrote: true, window: w}, KindCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err, tt.f); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		dial, want time.Duration
	}{{0, minStaleWindow}, {10 * time.Millisecond, minStaleWindow}, {80 * time.Millisecond, 160 * time.Millisecond}, {2 * time.Second, maxStaleWindow}} {
		if got := staleWindow(tt.dial); got != tt.want {
			t.Errorf("staleWindow(%v) = %v, want %v", tt.dial, got, tt.want)
		}
	}
}

// TestOverloaded529IsLikeA503: Anthropic's 529 overloaded_error is retried
// (reason status_5xx) and counts against the upstream's breaker, as a 503
// does.
func TestOverloaded529IsLikeA503(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if calls.Add(1) == 1 {
				w.WriteHeader(529)
				_, _ = io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
				return
			}
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, func(c *Config) { c.Retry.Base = time.Millisecond; c.Retry.Max = 2 * time.Millisecond })
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || calls.Load() != 2 {
			t.Fatalf("status %d after %d calls, want 200 after 2", resp.StatusCode, calls.Load())
		}
		if got := p.Stats()[0].Retries["status_5xx"]; got != 1 {
			t.Errorf("status_5xx retries = %d, want 1", got)
		}

		// Only 529s: the breaker opens after its consecutive failures.
		s2 := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(529)
		})
		p2 := newPool(t, s2, func(c *Config) {
			c.Retry.Attempts, c.Retry.Base, c.Retry.Max = 2, time.Millisecond, 2*time.Millisecond
			c.Breaker.ConsecutiveFailures = 2
		})
		resp, err = post(t, t.Context(), p2, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 529 {
			t.Errorf("status %d, want the upstream's 529 once the attempts are spent", resp.StatusCode)
		}
		if st := p2.Stats()[0].Circuit; st != CircuitOpen {
			t.Errorf("circuit %v after two 529s, want open", st)
		}
	})
}

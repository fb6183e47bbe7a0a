// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"io"
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		kind   Kind
		status int
		want   outcome
	}{
		{KindUnknown, 200, outcomeOK},
		{KindUnknown, 404, outcomeExcluded},
		{KindUnknown, 429, outcomeExcluded},
		{KindUnknown, 500, outcomeFault},
		{KindUnknown, 503, outcomeFault},
		{KindDial, 0, outcomeFault},
		{KindTLS, 0, outcomeFault},
		{KindHeaderTimeout, 0, outcomeFault},
		{KindTruncated, 0, outcomeFault},
		{KindCanceled, 0, outcomeExcluded},
		{KindPoolExhausted, 0, outcomeExcluded},
		{KindStaleConn, 0, outcomeExcluded},
	}
	for _, tt := range tests {
		if got := outcomeOf(tt.kind, tt.status); got != tt.want {
			t.Errorf("outcomeOf(%v, %d) = %d, want %d", tt.kind, tt.status, got, tt.want)
		}
	}
}

// TestBreakerOpensThenProbes: consecutive failures open the circuit, the
// upstream is then not called at all, and after OpenTimeout one probe
// closes it again.
func TestBreakerOpensThenProbes(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		var calls, healthy atomic.Int64
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			calls.Add(1)
			if healthy.Load() == 0 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "ok")
		})
		p := newPool(t, s, func(c *Config) {
			c.Retry.Attempts = 1
			c.Breaker = BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 300 * time.Millisecond}
		})
		for range 3 {
			resp, err := post(t, t.Context(), p, "x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if st := p.Stats()[0]; st.Circuit != CircuitOpen {
			t.Fatalf("circuit %v after 3 failures, want open", st.Circuit)
		}
		_, err := post(t, t.Context(), p, "x")
		if !errors.Is(err, ErrNoUpstream) || calls.Load() != 3 {
			t.Fatalf("with the circuit open: err = %v after %d calls; want ErrNoUpstream and no call", err, calls.Load())
		}
		healthy.Store(1)
		time.Sleep(350 * time.Millisecond)
		resp, err := post(t, t.Context(), p, "probe")
		if err != nil {
			t.Fatalf("probe after the open timeout: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if st := p.Stats()[0]; resp.StatusCode != 200 || st.Circuit != CircuitClosed {
			t.Errorf("probe: status %d, circuit %v; want 200 and closed", resp.StatusCode, st.Circuit)
		}
	})
}

// twoUpstreams starts two servers behind one pool and counts calls to each.
func twoUpstreams(t *testing.T, m mode, h [2]http.HandlerFunc, mut func(i int, c *Config)) (*Pool, [2]*atomic.Int64) {
	t.Helper()
	var counts [2]*atomic.Int64
	var cfgs []Config
	for i := range 2 {
		counts[i] = new(atomic.Int64)
		n := counts[i]
		hf := h[i]
		s := newMemServer(t, m, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			n.Add(1)
			hf(w, r)
		})
		c := Config{Name: []string{"a", "b"}[i], BaseURL: s.URL, DialContext: s.dial, TLS: s.clientTLS()}
		if mut != nil {
			mut(i, &c)
		}
		cfgs = append(cfgs, c)
	}
	p, err := New(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, counts
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

func TestWeightsSplitTraffic(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		p, counts := twoUpstreams(t, m, [2]http.HandlerFunc{ok, ok}, func(i int, c *Config) { c.Weight = []int{1, 3}[i] })
		const n = 2000
		for range n {
			resp, err := post(t, t.Context(), p, "x")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		// Sequential requests leave both in-flight counts at 0, so P2C ties
		// and the split comes from the weights.
		share := float64(counts[1].Load()) / n
		t.Logf("a=%d b=%d", counts[0].Load(), counts[1].Load())
		if math.Abs(share-0.75) > 0.075 {
			t.Errorf("upstream b (weight 3 of 4) got %.1f%% of the traffic, want 75%% ± 10%%", share*100)
		}
	})
}

func TestDeadUpstreamIsSkippedWithoutClientFailures(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		dead := newMemListener()
		dead.Close() // its dials are refused
		live := newMemServer(t, m, ok)
		p, err := New([]Config{
			{Name: "dead", BaseURL: "http://127.0.0.1", DialContext: dead.DialContext, Breaker: BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Minute}},
			{Name: "live", BaseURL: live.URL, DialContext: live.dial, TLS: live.clientTLS()},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for i := range 200 {
			resp, err := post(t, t.Context(), p, "x")
			if err != nil {
				t.Fatalf("request %d failed: %v", i, err)
			}
			resp.Body.Close()
		}
		st := p.Stats()
		if st[0].Circuit != CircuitOpen {
			t.Errorf("dead upstream's circuit is %v, want open", st[0].Circuit)
		}
		if st[0].Requests > 3 {
			t.Errorf("dead upstream got %d attempts; the open circuit should stop them after 3", st[0].Requests)
		}
	})
}

func TestRetryAfterCoolsDownAnUpstream(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		limited := func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		p, counts := twoUpstreams(t, m, [2]http.HandlerFunc{limited, ok}, func(i int, c *Config) {
			c.Priority = i // a is preferred
		})
		for range 50 {
			resp, err := post(t, t.Context(), p, "x")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: the 429 should move the request to b", resp.StatusCode)
			}
		}
		if got := counts[0].Load(); got != 1 {
			t.Errorf("a was called %d times; after its 429 it should cool down for 1s", got)
		}
		if st := p.Stats()[0]; st.CooldownUntil.IsZero() {
			t.Error("a shows no cooldown")
		}
		time.Sleep(1100 * time.Millisecond)
		resp, err := post(t, t.Context(), p, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := counts[0].Load(); got != 2 {
			t.Errorf("a was called %d times; after the cooldown it should be tried again", got)
		}
	})
}

// TestNoUpstreamSaysWhenToRetry: with every circuit open, Do fails with
// KindNoUpstream and a RetryAfter of the time until the first circuit lets
// a probe through (b's, 10s, not a's 30s); while a half-open circuit's one
// probe is out, a short one.
func TestNoUpstreamSaysWhenToRetry(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		fail := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
		p, _ := twoUpstreams(t, m, [2]http.HandlerFunc{fail, fail}, func(i int, c *Config) {
			c.Retry.Attempts = 2
			c.Breaker = BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: []time.Duration{30 * time.Second, 10 * time.Second}[i]}
		})
		start := time.Now()
		resp, err := post(t, t.Context(), p, "x") // a and b fail once each: both circuits open
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, st := range p.Stats() {
			if st.Circuit != CircuitOpen {
				t.Fatalf("%s: circuit %v, want open", st.Name, st.Circuit)
			}
		}
		_, err = post(t, t.Context(), p, "x")
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindNoUpstream {
			t.Fatalf("err = %v, want KindNoUpstream", err)
		}
		if lo := 10*time.Second - time.Since(start); ue.RetryAfter > 10*time.Second || ue.RetryAfter < lo {
			t.Errorf("RetryAfter = %v, want b's cooldown left: between %v and 10s", ue.RetryAfter, lo)
		}
	})
}

// TestRetryInHalfOpen: an upstream whose half-open circuit has its probe
// out needs a short wait; one whose probe is not out, none.
func TestRetryInHalfOpen(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		fail := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
		p, _ := twoUpstreams(t, m, [2]http.HandlerFunc{fail, ok}, func(i int, c *Config) {
			c.Retry.Attempts = 1
			c.Breaker = BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: 500 * time.Millisecond}
		})
		a := p.Only("a")
		if resp, err := post(t, t.Context(), a, "x"); err == nil {
			resp.Body.Close()
		}
		u := a.Upstreams()[0]
		if d := u.retryIn(time.Now()); d <= 0 || d > 500*time.Millisecond {
			t.Errorf("open: retryIn = %v, want the cooldown left (0, 500ms]", d)
		}
		time.Sleep(550 * time.Millisecond)
		if st := u.circuit(); st != CircuitHalfOpen {
			t.Fatalf("circuit %v after the cooldown, want half-open", st)
		}
		if d := u.retryIn(time.Now()); d != 0 {
			t.Errorf("half-open, no probe out: retryIn = %v, want 0", d)
		}
		done, ok := u.allow() // the probe goes out
		if !ok {
			t.Fatal("half-open circuit refused its probe")
		}
		if d := u.retryIn(time.Now()); d != probeAfterHalfOpen {
			t.Errorf("half-open, probe out: retryIn = %v, want %v", d, probeAfterHalfOpen)
		}
		done(outcomeOK)
	})
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// fresh and reused are successful attempts on a new and on a reused
// connection.
func fresh(fb time.Duration) *upstream.AttemptInfo {
	return &upstream.AttemptInfo{Upstream: "u", Attempt: 1, Status: 200, NewConn: true, FirstByte: fb, TLS: 3 * time.Millisecond}
}

func reused(fb time.Duration) *upstream.AttemptInfo {
	return &upstream.AttemptInfo{Upstream: "u", Attempt: 1, Status: 200, Reused: true, FirstByte: fb}
}

// window views s as a snapshot in second cur would.
func window(s *series, cur int64) view {
	first, last := span(cur-1, windowSeconds)
	return s.view(cur, first, int(max(last-first+1, 0)))
}

// sameRatios compares with NaN equal to NaN.
func sameRatios(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
}

func TestSeriesCountsBySecond(t *testing.T) {
	var s series
	s.attempt(0, fresh(time.Millisecond))
	s.attempt(0, reused(time.Millisecond))
	for range 3 {
		s.attempt(2, reused(time.Millisecond))
	}
	nan := math.NaN()
	tests := []struct {
		name         string
		cur          int64
		wantRequests []uint32
		wantNew      []uint32
		wantReused   []uint32
		wantRatio    []float64
		wantMinute   uint64
		wantRatioMin float64 // NaN: null
	}{
		{"in the first second nothing is complete", 0, []uint32{}, []uint32{}, []uint32{}, []float64{}, 2, 0.5},
		{"second 2 in progress", 2, []uint32{2, 0}, []uint32{1, 0}, []uint32{1, 0}, []float64{0.5, nan}, 5, 0.8},
		{"all complete", 3, []uint32{2, 0, 3}, []uint32{1, 0, 0}, []uint32{1, 0, 3}, []float64{0.5, nan, 1}, 5, 0.8},
		{"second 0 left the minute", 60, nil, nil, nil, nil, 3, 1},
		{"everything left the minute", 63, nil, nil, nil, nil, 0, nan},
		{"everything left the window", 303, make([]uint32, 300), make([]uint32, 300), make([]uint32, 300), nil, 0, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := window(&s, tt.cur)
			w := v.window
			if w.Seconds != len(w.Requests) || w.Seconds != min(int(tt.cur), windowSeconds) {
				t.Errorf("window has %d seconds (%d requests), want %d", w.Seconds, len(w.Requests), min(int(tt.cur), windowSeconds))
			}
			if tt.wantRequests != nil && !slices.Equal(w.Requests, tt.wantRequests) {
				t.Errorf("requests = %v, want %v", w.Requests, tt.wantRequests)
			}
			if tt.wantNew != nil && !slices.Equal(w.NewConnections, tt.wantNew) {
				t.Errorf("new connections = %v, want %v", w.NewConnections, tt.wantNew)
			}
			if tt.wantReused != nil && !slices.Equal(w.Reused, tt.wantReused) {
				t.Errorf("reused = %v, want %v", w.Reused, tt.wantReused)
			}
			if tt.wantRatio != nil && !sameRatios(w.ReuseRatio, tt.wantRatio) {
				t.Errorf("reuse ratio = %v, want %v", w.ReuseRatio, tt.wantRatio)
			}
			m := v.minute
			if m.Requests != tt.wantMinute {
				t.Errorf("last minute requests = %d, want %d", m.Requests, tt.wantMinute)
			}
			switch {
			case math.IsNaN(tt.wantRatioMin) && m.ReuseRatio != nil:
				t.Errorf("last minute reuse = %v, want null", *m.ReuseRatio)
			case !math.IsNaN(tt.wantRatioMin) && (m.ReuseRatio == nil || *m.ReuseRatio != tt.wantRatioMin):
				t.Errorf("last minute reuse = %v, want %v", m.ReuseRatio, tt.wantRatioMin)
			}
			if v.total.Requests != 5 || v.total.Reused != 4 || v.total.NewConnections != 1 || *v.total.ReuseRatio != 0.8 {
				t.Errorf("totals = %+v, want 5 requests, 4 reused, 1 new, 0.8", v.total)
			}
		})
	}
}

// TestSeriesRingReusesSlots: a slot that comes round again holds the new
// second only, and a stale slot never shows in the window.
func TestSeriesRingReusesSlots(t *testing.T) {
	var s series
	s.attempt(5, reused(time.Millisecond))
	s.attempt(5+ringSeconds, fresh(time.Millisecond)) // same slot, next lap
	v := window(&s, 6+ringSeconds)
	if got := v.window.Requests[len(v.window.Requests)-1]; got != 1 {
		t.Errorf("the slot's new second counts %d requests, want 1", got)
	}
	var sum uint32
	for _, n := range v.window.Requests {
		sum += n
	}
	if sum != 1 || v.minute.Reused != 0 || v.minute.NewConnections != 1 {
		t.Errorf("window sum %d, minute %+v: the old lap leaked in", sum, v.minute)
	}
	if v.total.Requests != 2 {
		t.Errorf("total requests = %d, want 2", v.total.Requests)
	}
}

func TestSeriesLatencyPercentiles(t *testing.T) {
	var s series
	for range 98 {
		s.attempt(0, reused(10*time.Millisecond))
	}
	s.attempt(0, fresh(800*time.Millisecond))
	s.attempt(59, fresh(800*time.Millisecond))
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want)/want <= 0.125 }

	v := window(&s, 59)
	fb := v.minute.FirstByte
	if fb.Count != 100 || !near(fb.P50Ms, 10) || !near(fb.P99Ms, 800) {
		t.Errorf("first byte at 59 = %d samples, p50 %v, p99 %v; want 100, 10ms, 800ms", fb.Count, deref(fb.P50Ms), deref(fb.P99Ms))
	}
	if tl := v.minute.TLS; tl.Count != 2 || !near(tl.P50Ms, 3) {
		t.Errorf("TLS = %d samples, p50 %v; want 2, 3ms", tl.Count, deref(tl.P50Ms))
	}
	v = window(&s, 60) // second 0 has left the minute
	if fb := v.minute.FirstByte; fb.Count != 1 || !near(fb.P50Ms, 800) {
		t.Errorf("first byte at 60 = %d samples, p50 %v; want 1, 800ms", fb.Count, deref(fb.P50Ms))
	}
	v = window(&s, 200)
	if fb := v.minute.FirstByte; fb.Count != 0 || fb.P50Ms != nil || fb.P99Ms != nil {
		t.Errorf("first byte long after = %+v, want no sample and null percentiles", fb)
	}
}

func TestSeriesBodyDuration(t *testing.T) {
	var s series
	for range 9 {
		s.bodyDone(0, 40*time.Millisecond, nil)
	}
	s.bodyDone(0, 3*time.Second, errors.New("unexpected EOF"))
	b := window(&s, 1).minute.Body
	near := func(p *float64, want float64) bool { return p != nil && math.Abs(*p-want)/want <= 0.125 }
	if b.Count != 10 || !near(b.P50Ms, 40) || !near(b.P99Ms, 3000) {
		t.Errorf("body = %d samples, p50 %v, p99 %v; want 10, 40ms, 3s", b.Count, deref(b.P50Ms), deref(b.P99Ms))
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestSeriesPoolWait(t *testing.T) {
	var s series
	a := reused(time.Millisecond)
	a.PoolWait = 2 * time.Millisecond
	s.attempt(0, a)
	// Gave up waiting: the whole attempt was the wait.
	s.attempt(0, &upstream.AttemptInfo{Upstream: "u", Attempt: 1, Kind: upstream.KindPoolExhausted, Exhausted: true, FirstByte: 400 * time.Millisecond})
	// Failed before asking for a connection: no wait to count.
	s.attempt(0, &upstream.AttemptInfo{Upstream: "u", Attempt: 1, Kind: upstream.KindUnknown})
	pw := window(&s, 1).minute.PoolWait
	if pw.Count != 2 || pw.P99Ms == nil || *pw.P99Ms < 350 {
		t.Errorf("pool wait = %+v (p99 %v), want 2 samples with the exhausted 400ms as p99", pw, deref(pw.P99Ms))
	}
}

func TestSeriesErrorsAndRetries(t *testing.T) {
	var s series
	s.attempt(1, &upstream.AttemptInfo{Upstream: "u", Attempt: 1, Kind: upstream.KindDial})
	s.attempt(1, &upstream.AttemptInfo{Upstream: "u", Attempt: 2, Status: 503, NewConn: true})
	s.attempt(1, &upstream.AttemptInfo{Upstream: "u", Attempt: 3, Status: 200, Reused: true})
	s.retry(1, upstream.ReasonConnect)
	s.retry(1, upstream.ReasonStatus5xx)
	s.retry(1, upstream.RetryReason(retrySlots)) // beyond the slots: ignored
	s.bodyDone(2, time.Second, &upstream.Error{Kind: upstream.KindStreamIdle})
	s.bodyDone(2, time.Second, errors.New("unexpected EOF"))
	s.bodyDone(2, time.Second, nil) // a clean end is no error

	v := window(&s, 3)
	wantErrors := map[string]uint64{"dial": 1, "status_5xx": 1, "stream_idle": 1, "truncated": 1}
	if !maps.Equal(v.minute.Errors, wantErrors) || !maps.Equal(v.total.Errors, wantErrors) {
		t.Errorf("errors: minute %v, total %v; want %v", v.minute.Errors, v.total.Errors, wantErrors)
	}
	wantRetries := map[string]uint64{"connect": 1, "status_5xx": 1}
	if !maps.Equal(v.minute.Retries, wantRetries) {
		t.Errorf("retries = %v, want %v", v.minute.Retries, wantRetries)
	}
	if !slices.Equal(v.window.Errors, []uint32{0, 2, 2}) {
		t.Errorf("errors per second = %v, want [0 2 2]", v.window.Errors)
	}
	if v.total.Requests != 1 || v.attempts != 3 || v.errors != 4 || v.retries != 2 {
		t.Errorf("requests %d, attempts %d, errors %d, retries %d; want 1, 3, 4, 2", v.total.Requests, v.attempts, v.errors, v.retries)
	}
	if !slices.Equal(v.relayed, []uint32{0, 1, 0}) {
		t.Errorf("relayed per second = %v, want [0 1 0]", v.relayed)
	}
}

// TestObserverAllocs: the hot path allocates nothing once the upstream's
// series exists.
func TestObserverAllocs(t *testing.T) {
	d := New()
	o := d.Observer()
	info := *reused(5 * time.Millisecond)
	o.Attempt(info)
	n := testing.AllocsPerRun(200, func() {
		o.Attempt(info)
		o.Retry("u", upstream.ReasonStaleConn)
		o.BodyDone(upstream.BodyInfo{Upstream: "u", Bytes: 10})
	})
	if n != 0 {
		t.Errorf("%v allocations per attempt, want 0", n)
	}
}

func BenchmarkObserverAttempt(b *testing.B) {
	d := New()
	o := d.Observer()
	info := *reused(5 * time.Millisecond)
	info.PoolWait = time.Microsecond
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.Attempt(info)
		}
	})
}

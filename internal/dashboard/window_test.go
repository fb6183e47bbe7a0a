// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"math"
	"testing"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

func TestBucketOf(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want int
	}{
		{"negative", -time.Second, 0},
		{"zero", 0, 0},
		{"under the first power", 1<<histMinExp - 1, 0},
		{"first power", 1 << histMinExp, 1},
		{"first power, second quarter", 1<<histMinExp + 1<<(histMinExp-2), 2},
		{"first power, last quarter", 1<<(histMinExp+1) - 1, histSub},
		{"second power", 1 << (histMinExp + 1), 1 + histSub},
		{"last regular", 1<<histMaxExp - 1, histBuckets - 2},
		{"overflow", 1 << histMaxExp, histBuckets - 1},
		{"far overflow", time.Duration(math.MaxInt64), histBuckets - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucketOf(tt.in); got != tt.want {
				t.Errorf("bucketOf(%d) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

// TestBucketValueError: every duration from ~1µs (2^histMinExp ns; below
// that everything is "under a microsecond") to 10 minutes comes back from
// its bucket within 12.5%.
func TestBucketValueError(t *testing.T) {
	for d := time.Duration(1 << histMinExp); d < 10*time.Minute; d = d*21/20 + 3 {
		got := bucketValue(bucketOf(d))
		if e := math.Abs(float64(got-d)) / float64(d); e > 0.125 {
			t.Fatalf("%v comes back as %v: %.1f%% off", d, got, e*100)
		}
	}
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		in      []time.Duration
		q       float64
		want    time.Duration
		wantAny bool
	}{
		{"empty", nil, 0.5, 0, false},
		{"one sample", []time.Duration{10 * ms}, 0.99, 10 * ms, true},
		{"median of three", []time.Duration{1 * ms, 10 * ms, 100 * ms}, 0.5, 10 * ms, true},
		{"p99 of 100 picks the slow one", append(repeat(ms, 99), time.Second), 0.99, ms, true},
		{"p99 of 99+2 sees the tail", append(repeat(ms, 98), time.Second, time.Second), 0.99, time.Second, true},
		{"p50 of a skewed set", append(repeat(2*ms, 51), repeat(500*ms, 49)...), 0.5, 2 * ms, true},
		{"q=1 is the max", []time.Duration{ms, 3 * time.Second}, 1, 3 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, d := range tt.in {
				h.observe(d)
			}
			got, ok := h.quantile(tt.q)
			if ok != tt.wantAny {
				t.Fatalf("quantile ok = %v, want %v", ok, tt.wantAny)
			}
			if !ok {
				return
			}
			if e := math.Abs(float64(got-tt.want)) / float64(tt.want); e > 0.125 {
				t.Errorf("quantile(%v) = %v, want %v within 12.5%%", tt.q, got, tt.want)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name          string
		reused, fresh uint64
		want          float64
		wantOK        bool
	}{
		{"nothing", 0, 0, 0, false},
		{"all new", 0, 4, 0, true},
		{"all reused", 9, 0, 1, true},
		{"99 of 100", 99, 1, 0.99, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ratio(tt.reused, tt.fresh)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("ratio(%d, %d) = %v, %v; want %v, %v", tt.reused, tt.fresh, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSpan(t *testing.T) {
	tests := []struct {
		name      string
		last      int64
		n         int
		wantFirst int64
		wantLast  int64
	}{
		{"young: clipped at 0", 10, 60, 0, 10},
		{"exact", 59, 60, 0, 59},
		{"old", 1000, 300, 701, 1000},
		{"nothing complete yet", -1, 300, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, l := span(tt.last, tt.n)
			if f != tt.wantFirst || l != tt.wantLast {
				t.Errorf("span(%d, %d) = %d, %d; want %d, %d", tt.last, tt.n, f, l, tt.wantFirst, tt.wantLast)
			}
		})
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		name   string
		events uint64
		cur    int64
		want   float64
	}{
		{"first second: nothing complete", 5, 0, 0},
		{"two seconds old", 10, 2, 5},
		{"ten seconds", 100, 10, 10},
		{"old: over the last ten", 100, 500, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rate(tt.events, tt.cur); got != tt.want {
				t.Errorf("rate(%d, %d) = %v, want %v", tt.events, tt.cur, got, tt.want)
			}
		})
	}
}

func TestErrorSlot(t *testing.T) {
	tests := []struct {
		name   string
		kind   upstream.Kind
		status int
		want   string // "" for not an error
	}{
		{"200", upstream.KindUnknown, 200, ""},
		{"304", upstream.KindUnknown, 304, ""},
		{"404", upstream.KindUnknown, 404, "status_4xx"},
		{"429", upstream.KindUnknown, 429, "status_429"},
		{"503", upstream.KindUnknown, 503, "status_5xx"},
		{"dial", upstream.KindDial, 0, "dial"},
		{"stale", upstream.KindStaleConn, 0, "stale_conn"},
		{"failure without a kind", upstream.KindUnknown, 0, "unknown"},
		{"kind beyond the slots", upstream.Kind(kindSlots + 3), 0, "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if s := errorSlot(tt.kind, tt.status); s >= 0 {
				got = errorSlotName(s)
			}
			if got != tt.want {
				t.Errorf("errorSlot(%v, %d) is %q, want %q", tt.kind, tt.status, got, tt.want)
			}
		})
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// step is one call in a scripted scenario: after sleeping, Allow(n) (or
// Adjust(adjust) when adjust is not 0) on key "k".
type step struct {
	sleep  time.Duration
	n      int
	adjust int
	want   Decision // for Allow
}

func allowed(remaining, limit int) Decision {
	return Decision{Allowed: true, Remaining: remaining, Limit: limit}
}

func refused(remaining, limit int, retry time.Duration) Decision {
	return Decision{Remaining: remaining, Limit: limit, RetryAfter: retry}
}

func TestMemoryScenarios(t *testing.T) {
	tests := []struct {
		name  string
		lim   Limit
		steps []step
	}{
		{"a minute's worth at once, then one every 60s/rpm", Limit{PerMinute: 3}, []step{
			{n: 1, want: allowed(2, 3)},
			{n: 1, want: allowed(1, 3)},
			{n: 1, want: allowed(0, 3)},
			{n: 1, want: refused(0, 3, 20*time.Second)},
			{sleep: 19 * time.Second, n: 1, want: refused(0, 3, time.Second)},
			{sleep: time.Second, n: 1, want: allowed(0, 3)},
			{sleep: 60 * time.Second, n: 0, want: allowed(3, 3)},
		}},
		{"refill stops at the burst", Limit{PerMinute: 60, Burst: 2}, []step{
			{sleep: time.Hour, n: 1, want: allowed(1, 60)},
			{n: 1, want: allowed(0, 60)},
			{n: 1, want: refused(0, 60, time.Second)},
			{sleep: 10 * time.Hour, n: 0, want: allowed(2, 60)},
		}},
		{"a rate that does not divide a minute is exact", Limit{PerMinute: 7}, []step{
			{n: 7, want: allowed(0, 7)},
			{n: 1, want: refused(0, 7, 8571429*time.Microsecond)}, // ceil(60s/7)
			{sleep: 8571428 * time.Microsecond, n: 1, want: refused(0, 7, time.Microsecond)},
			{sleep: time.Microsecond, n: 1, want: allowed(0, 7)},
		}},
		{"refused requests take nothing", Limit{PerMinute: 10}, []step{
			{n: 8, want: allowed(2, 10)},
			{n: 3, want: refused(2, 10, 6*time.Second)},
			{n: 2, want: allowed(0, 10)},
		}},
		{"more than the burst: once the bucket is full, leaving debt", Limit{PerMinute: 60}, []step{
			{n: 1, want: allowed(59, 60)},
			{n: 100, want: refused(59, 60, time.Second)}, // needs a full bucket
			{sleep: time.Second, n: 100, want: allowed(0, 60)},
			{n: 0, want: refused(0, 60, 40*time.Second)}, // in debt by 40
			{n: 1, want: refused(0, 60, 41*time.Second)},
			{sleep: 41 * time.Second, n: 1, want: allowed(0, 60)},
		}},
		{"a refund gives back, up to the burst", Limit{PerMinute: 100}, []step{
			{n: 80, want: allowed(20, 100)},
			{adjust: -50},
			{n: 0, want: allowed(70, 100)},
			{adjust: -1000},
			{n: 0, want: allowed(100, 100)},
		}},
		{"an extra charge can leave debt", Limit{PerMinute: 100}, []step{
			{n: 10, want: allowed(90, 100)},
			{adjust: 150},
			{n: 1, want: refused(0, 100, 36600*time.Millisecond)}, // -60 to +1 at 100/min
			{sleep: 36600 * time.Millisecond, n: 1, want: allowed(0, 100)},
		}},
		{"unlimited", Limit{}, []step{
			{n: 1 << 40, want: Decision{Allowed: true}},
			{adjust: 1 << 40},
			{n: 1, want: Decision{Allowed: true}},
		}},
		{"huge values are clamped, not overflowed", Limit{PerMinute: math.MaxInt, Burst: math.MaxInt}, []step{
			{n: math.MaxInt, want: allowed(0, math.MaxInt)},
			{adjust: math.MaxInt},
			{adjust: math.MaxInt},
			{n: 1, want: refused(0, math.MaxInt, time.Minute+time.Microsecond)}, // the debt is bounded at MaxTokens
			{n: 0, want: refused(0, math.MaxInt, time.Minute)},
			{adjust: math.MinInt + 1},
			{n: 0, want: allowed(0, math.MaxInt)},
			{adjust: math.MinInt}, // -MinInt overflows: refunds MaxTokens
			{n: 0, want: allowed(MaxTokens, math.MaxInt)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := NewMemory(func(string) Limit { return tt.lim })
				for i, s := range tt.steps {
					time.Sleep(s.sleep)
					if s.adjust != 0 {
						if err := m.Adjust(t.Context(), "k", s.adjust); err != nil {
							t.Fatalf("step %d: Adjust: %v", i, err)
						}
						continue
					}
					got, err := m.Allow(t.Context(), "k", s.n)
					if err != nil {
						t.Fatalf("step %d: Allow: %v", i, err)
					}
					got.Reset = 0 // TestMemoryReset
					if got != s.want {
						t.Fatalf("step %d: Allow(%d) = %+v, want %+v", i, s.n, got, s.want)
					}
				}
			})
		})
	}
}

func TestMemoryAllowAll(t *testing.T) {
	limits := map[string]Limit{
		"a":    {PerMinute: 3},
		"b":    {PerMinute: 10},
		"big":  {PerMinute: 60},
		"free": {},
	}
	tests := []struct {
		name    string
		before  []Take // taken with Allow first
		takes   []Take
		want    Decision
		wantIdx int
		after   map[string]int // Remaining of each key afterwards
	}{
		{
			name:    "all allowed: Remaining and Limit of the last",
			takes:   []Take{{"a", 1}, {"b", 4}},
			want:    allowed(6, 10),
			wantIdx: -1,
			after:   map[string]int{"a": 2, "b": 6},
		},
		{
			name:    "one refused: nothing taken",
			before:  []Take{{"b", 9}},
			takes:   []Take{{"a", 1}, {"b", 2}, {"a", 1}},
			want:    refused(1, 10, 6*time.Second),
			wantIdx: 1,
			after:   map[string]int{"a": 3, "b": 1},
		},
		{
			name:    "two takes from one key add up",
			takes:   []Take{{"a", 2}, {"a", 2}},
			want:    refused(1, 3, 20*time.Second),
			wantIdx: 1,
			after:   map[string]int{"a": 3},
		},
		{
			name:    "two takes from one key within its limit",
			takes:   []Take{{"a", 2}, {"a", 1}},
			want:    allowed(0, 3),
			wantIdx: -1,
			after:   map[string]int{"a": 0},
		},
		{
			name:    "an unlimited last take: Remaining of the last limited one",
			takes:   []Take{{"b", 3}, {"free", 1 << 40}},
			want:    allowed(7, 10),
			wantIdx: -1,
			after:   map[string]int{"b": 7},
		},
		{
			name:    "only unlimited takes",
			takes:   []Take{{"free", 1}, {"other", 5}},
			want:    Decision{Allowed: true},
			wantIdx: -1,
		},
		{
			name:    "no takes",
			want:    Decision{Allowed: true},
			wantIdx: -1,
		},
		{
			name:    "more than the burst from a full bucket, with another key",
			takes:   []Take{{"b", 1}, {"big", 100}},
			want:    allowed(0, 60),
			wantIdx: -1,
			after:   map[string]int{"b": 9, "big": 0},
		},
		{
			name:    "more than the burst from a bucket that is not full",
			before:  []Take{{"big", 1}},
			takes:   []Take{{"b", 1}, {"big", 100}},
			want:    refused(59, 60, time.Second),
			wantIdx: 1,
			after:   map[string]int{"b": 10, "big": 59},
		},
		{
			name:    "a zero take is refused in debt",
			before:  []Take{{"big", 100}},
			takes:   []Take{{"b", 1}, {"big", 0}},
			want:    refused(0, 60, 40*time.Second),
			wantIdx: 1,
			after:   map[string]int{"b": 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := NewMemory(func(k string) Limit { return limits[k] })
				for _, b := range tt.before {
					if d, err := m.Allow(t.Context(), b.Key, b.N); err != nil || !d.Allowed {
						t.Fatalf("Allow(%q, %d) = %+v, %v; want allowed", b.Key, b.N, d, err)
					}
				}
				got, idx, err := m.AllowAll(t.Context(), tt.takes)
				if err != nil {
					t.Fatal(err)
				}
				got.Reset = 0 // TestMemoryReset
				if got != tt.want || idx != tt.wantIdx {
					t.Errorf("AllowAll = %+v, %d; want %+v, %d", got, idx, tt.want, tt.wantIdx)
				}
				for k, want := range tt.after {
					if d, _ := m.Allow(t.Context(), k, 0); d.Remaining != want {
						t.Errorf("%q: Remaining = %d afterwards, want %d", k, d.Remaining, want)
					}
				}
			})
		})
	}
}

// TestMemoryReset: Reset is how long the bucket takes to be full again,
// exact to the µs: a minute's worth per token spent at a limit of one a
// minute, debt included, 0 when full; the burst is the capacity.
func TestMemoryReset(t *testing.T) {
	tests := []struct {
		name  string
		lim   Limit
		steps []step // want: Remaining and Reset only
	}{
		{"one request a second", Limit{PerMinute: 60}, []step{
			{n: 0, want: Decision{Remaining: 60}},
			{n: 1, want: Decision{Remaining: 59, Reset: time.Second}},
			{n: 2, want: Decision{Remaining: 57, Reset: 3 * time.Second}},
			{sleep: 1500 * time.Millisecond, n: 0, want: Decision{Remaining: 58, Reset: 1500 * time.Millisecond}},
			{sleep: time.Hour, n: 0, want: Decision{Remaining: 60}},
		}},
		{"a refused request: the state as it is", Limit{PerMinute: 3}, []step{
			{n: 3, want: Decision{Reset: time.Minute}},
			{n: 1, want: Decision{Reset: time.Minute}},
		}},
		{"debt counts", Limit{PerMinute: 60}, []step{
			{adjust: 90},
			{n: 0, want: Decision{Reset: 90 * time.Second}},
		}},
		{"an uneven rate rounds up to the µs", Limit{PerMinute: 7}, []step{
			{n: 1, want: Decision{Remaining: 6, Reset: 8571429 * time.Microsecond}},
		}},
		{"the burst is the capacity", Limit{PerMinute: 60, Burst: 2}, []step{
			{n: 1, want: Decision{Remaining: 1, Reset: time.Second}},
		}},
		{"tokens: a tpm of 6000", Limit{PerMinute: 6000}, []step{
			{n: 1500, want: Decision{Remaining: 4500, Reset: 15 * time.Second}},
			{adjust: -1080},
			{n: 0, want: Decision{Remaining: 5580, Reset: 4200 * time.Millisecond}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := NewMemory(func(string) Limit { return tt.lim })
				for i, s := range tt.steps {
					time.Sleep(s.sleep)
					if s.adjust != 0 {
						_ = m.Adjust(t.Context(), "k", s.adjust)
						continue
					}
					got, _ := m.Allow(t.Context(), "k", s.n)
					if got.Remaining != s.want.Remaining || got.Reset != s.want.Reset {
						t.Fatalf("step %d: Allow(%d) = %+v, want Remaining %d, Reset %v", i, s.n, got, s.want.Remaining, s.want.Reset)
					}
				}
			})
		})
	}
}

// TestMemoryAllowEach: every take's key is reported, after the takes when
// all were allowed, as before the call when one was refused (a key whose
// take came after the refused one included); unlimited takes carry
// Allowed only.
func TestMemoryAllowEach(t *testing.T) {
	limits := map[string]Limit{"rpm": {PerMinute: 3}, "tpm": {PerMinute: 600}}
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(func(k string) Limit { return limits[k] })
		each := make([]Decision, 3)
		takes := []Take{{"rpm", 1}, {"free", 5}, {"tpm", 100}}
		idx, err := m.AllowEach(t.Context(), takes, each)
		want := []Decision{
			{Allowed: true, Remaining: 2, Limit: 3, Reset: 20 * time.Second},
			{Allowed: true},
			{Allowed: true, Remaining: 500, Limit: 600, Reset: 10 * time.Second},
		}
		if err != nil || idx != -1 || !slices.Equal(each, want) {
			t.Fatalf("AllowEach = %d, %v, %+v; want -1, %+v", idx, err, each, want)
		}
		// tpm refuses 600: rpm is reported untouched, and the refused take
		// with its RetryAfter.
		idx, err = m.AllowEach(t.Context(), []Take{{"rpm", 1}, {"tpm", 600}, {"rpm", 1}}, each)
		want = []Decision{
			{Remaining: 2, Limit: 3, Reset: 20 * time.Second},
			{Remaining: 500, Limit: 600, Reset: 10 * time.Second, RetryAfter: 10 * time.Second},
			{Remaining: 2, Limit: 3, Reset: 20 * time.Second},
		}
		if err != nil || idx != 1 || !slices.Equal(each, want) {
			t.Fatalf("refused AllowEach = %d, %v, %+v; want 1, %+v", idx, err, each, want)
		}
		// The first take refused: a later key not seen yet is full.
		idx, _ = m.AllowEach(t.Context(), []Take{{"rpm", 5}, {"fresh", 1}}, each[:2])
		limits["fresh"] = Limit{PerMinute: 10}
		if idx != 0 || each[1] != (Decision{}) {
			t.Fatalf("AllowEach = %d, %+v; want 0, an unlimited second take", idx, each[:2])
		}
		idx, _ = m.AllowEach(t.Context(), []Take{{"rpm", 5}, {"fresh", 1}}, each[:2])
		if idx != 0 || each[1] != (Decision{Remaining: 10, Limit: 10}) {
			t.Fatalf("AllowEach = %d, %+v; want 0, a full bucket for the second take", idx, each[:2])
		}
		if _, err := m.AllowEach(t.Context(), takes, each[:2]); err == nil {
			t.Error("AllowEach with fewer Decisions than takes: no error")
		}
	})
}

// TestMemoryAllowAllNegative: a negative N is an error, and nothing is
// taken, not even by the takes before it.
func TestMemoryAllowAllNegative(t *testing.T) {
	m := NewMemory(func(string) Limit { return Limit{PerMinute: 10} })
	if _, idx, err := m.AllowAll(t.Context(), []Take{{"a", 1}, {"b", -1}}); err == nil || idx != -1 {
		t.Errorf("AllowAll with N -1: index %d, error %v; want -1 and an error", idx, err)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("Len = %d, want 0: nothing taken", n)
	}
}

// TestMemoryAllowAllIsAllow: AllowAll of one take decides as Allow does,
// over a run of random takes, refills and adjustments.
func TestMemoryAllowAllIsAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := func(string) Limit { return Limit{PerMinute: 7, Burst: 5} }
		one, all := NewMemory(lim), NewMemory(lim)
		for i := range 500 {
			n := (i * 7919) % 9
			d1, _ := one.Allow(t.Context(), "k", n)
			d2, idx, _ := all.AllowAll(t.Context(), []Take{{"k", n}})
			if d1 != d2 || (idx == -1) != d1.Allowed {
				t.Fatalf("step %d, n %d: Allow = %+v, AllowAll = %+v, %d", i, n, d1, d2, idx)
			}
			if i%5 == 0 {
				_ = one.Adjust(t.Context(), "k", n-4)
				_ = all.Adjust(t.Context(), "k", n-4)
			}
			time.Sleep(time.Duration(i%13) * 777 * time.Millisecond)
		}
	})
}

// TestMemoryAllowAllConcurrent: concurrent AllowAlls of two keys never
// take from one key without the other.
func TestMemoryAllowAllConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := map[string]Limit{"a": {PerMinute: 100}, "b": {PerMinute: 30}}
		m := NewMemory(func(k string) Limit { return limits[k] })
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				d, _, err := m.AllowAll(t.Context(), []Take{{"a", 1}, {"b", 1}})
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		if n := ok.Load(); n != 30 {
			t.Errorf("%d allowed, want 30 (the limit of b)", n)
		}
		if d, _ := m.Allow(t.Context(), "a", 0); d.Remaining != 70 {
			t.Errorf("a: Remaining = %d, want 70", d.Remaining)
		}
	})
}

func TestMemoryKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := map[string]Limit{"a": {PerMinute: 1}, "b": {PerMinute: 2}}
		m := NewMemory(func(k string) Limit { return limits[k] })
		for _, c := range []struct {
			key  string
			want bool
		}{{"a", true}, {"a", false}, {"b", true}, {"b", true}, {"b", false}, {"c", true}, {"c", true}} {
			d, _ := m.Allow(t.Context(), c.key, 1)
			if d.Allowed != c.want {
				t.Errorf("Allow(%q) = %v, want %v", c.key, d.Allowed, c.want)
			}
		}
		if n := m.Len(); n != 2 {
			t.Errorf("Len = %d, want 2 (no bucket for the unlimited key)", n)
		}
	})
}

// TestMemoryLimitChange: a new limit applies at once; the level carries
// over, capped at the new burst.
func TestMemoryLimitChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		lim := Limit{PerMinute: 10}
		m := NewMemory(func(string) Limit { mu.Lock(); defer mu.Unlock(); return lim })
		set := func(l Limit) { mu.Lock(); lim = l; mu.Unlock() }
		if d, _ := m.Allow(t.Context(), "k", 4); d.Remaining != 6 {
			t.Fatalf("Remaining = %d, want 6", d.Remaining)
		}
		set(Limit{PerMinute: 2})
		if d, _ := m.Allow(t.Context(), "k", 0); d.Remaining != 2 || d.Limit != 2 {
			t.Fatalf("after lowering: %+v, want Remaining 2 and Limit 2", d)
		}
		set(Limit{PerMinute: 120})
		if d, _ := m.Allow(t.Context(), "k", 3); d.Allowed || d.RetryAfter != 500*time.Millisecond {
			t.Fatalf("after raising: %+v, want refused for 500ms (2 held, 1 more at 2/s)", d)
		}
		set(Limit{})
		if d, _ := m.Allow(t.Context(), "k", 1000); !d.Allowed || m.Len() != 0 {
			t.Fatalf("unlimited: %+v, Len %d; want allowed and no bucket", d, m.Len())
		}
	})
}

// TestMemoryDropsFullBuckets: buckets idle long enough to be full go away
// at the next sweep, and a dropped key starts again full, as if it had been
// kept. A refund to a key without a bucket makes none.
func TestMemoryDropsFullBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(func(string) Limit { return Limit{PerMinute: 60} })
		for i := range 100 {
			_, _ = m.Allow(t.Context(), fmt.Sprint("key", i), 30)
		}
		if n := m.Len(); n != 100 {
			t.Fatalf("Len = %d, want 100", n)
		}
		time.Sleep(30 * time.Second) // full again, but no sweep is due
		_, _ = m.Allow(t.Context(), "key0", 60)
		if n := m.Len(); n != 100 {
			t.Fatalf("Len = %d before the sweep is due, want 100", n)
		}
		time.Sleep(30 * time.Second)
		d, _ := m.Allow(t.Context(), "other", 1)
		if n := m.Len(); n != 2 {
			t.Fatalf("Len = %d after the sweep, want 2 (key0, emptied 30s ago, and other)", n)
		}
		if d.Remaining != 59 {
			t.Errorf("new key: Remaining = %d, want 59", d.Remaining)
		}
		if d, _ := m.Allow(t.Context(), "key0", 0); d.Remaining != 30 {
			t.Errorf("key0 kept its level: Remaining = %d, want 30", d.Remaining)
		}
		if err := m.Adjust(t.Context(), "key5", -10); err != nil || m.Len() != 2 {
			t.Errorf("refund to a dropped key: err %v, Len %d; want nil, 2", err, m.Len())
		}
	})
}

// TestMemoryMaxKeys: the number of buckets never exceeds MaxKeys, however
// many keys are active.
func TestMemoryMaxKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &Memory{Limit: func(string) Limit { return Limit{PerMinute: 10} }, MaxKeys: 50}
		for i := range 1000 {
			if d, _ := m.Allow(t.Context(), fmt.Sprint("key", i), 1); !d.Allowed {
				t.Fatalf("key%d refused", i)
			}
			if n := m.Len(); n > 50 {
				t.Fatalf("Len = %d after %d keys, want <= 50", n, i+1)
			}
			if i%100 == 0 {
				time.Sleep(time.Second)
			}
		}
	})
}

// TestMemoryConcurrent: concurrent callers share the bucket exactly (run
// with -race). Time does not move in the bubble while nobody sleeps.
func TestMemoryConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory(func(k string) Limit { return Limit{PerMinute: 50} })
		var ok [2]atomic.Int64
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				key := fmt.Sprint("k", i%2)
				d, err := m.Allow(t.Context(), key, 1)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					ok[i%2].Add(1)
				}
				_ = m.Adjust(t.Context(), key, 0)
			})
		}
		wg.Wait()
		for i := range ok {
			if n := ok[i].Load(); n != 50 {
				t.Errorf("k%d: %d allowed, want exactly 50", i, n)
			}
		}
	})
}

func TestMemoryNegativeN(t *testing.T) {
	m := NewMemory(func(string) Limit { return Limit{PerMinute: 1} })
	if _, err := m.Allow(t.Context(), "k", -1); err == nil {
		t.Error("Allow(-1): no error")
	}
}

// TestMemoryZeroValue: a zero Memory is valid and limits nothing.
func TestMemoryZeroValue(t *testing.T) {
	var m Memory
	if d, err := m.Allow(t.Context(), "k", 5); err != nil || !d.Allowed {
		t.Errorf("Allow = %+v, %v; want allowed", d, err)
	}
	if err := m.Adjust(t.Context(), "k", 5); err != nil {
		t.Error(err)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(func(string) Limit { return Limit{PerMinute: math.MaxInt32} })
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("key", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = m.Allow(context.Background(), keys[i%len(keys)], 1)
			i++
		}
	})
}

// ExampleMemory reserves an estimate of tokens before a request and
// reconciles it with the real usage after the answer.
func ExampleMemory() {
	tpm := map[string]int{"team-a": 10_000}
	lim := NewMemory(func(key string) Limit { return Limit{PerMinute: tpm[key]} })
	ctx := context.Background()

	const estimate = 1500 // prompt bytes/4 + max_tokens
	d, _ := lim.Allow(ctx, "team-a", estimate)
	if !d.Allowed {
		fmt.Println("429, retry after", d.RetryAfter)
		return
	}
	fmt.Println("remaining after the reservation:", d.Remaining)

	const used = 420 // usage.total_tokens of the answer
	_ = lim.Adjust(ctx, "team-a", used-estimate)
	d, _ = lim.Allow(ctx, "team-a", 0)
	fmt.Println("remaining after reconciling:", d.Remaining)
	// Output:
	// remaining after the reservation: 8500
	// remaining after reconciling: 9580
}

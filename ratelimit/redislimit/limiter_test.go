// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/warmgate/warmgate/internal/redistest"
	"github.com/warmgate/warmgate/ratelimit"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // the tests that stop Redis make go-redis log every failed dial
	goleak.VerifyTestMain(m)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// newClient returns a client of srv, closed by t.Cleanup; configure, if
// not nil, changes its options first.
func newClient(t testing.TB, srv *redistest.Server, configure func(*redis.Options)) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(opt)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fullLimiter is what the conformance scenarios run against: Memory or a
// Redis Limiter.
type fullLimiter interface {
	ratelimit.Limiter
	ratelimit.Adjuster
	ratelimit.EachLimiter
}

// cstep is one call of a conformance scenario, after sleeping: AllowEach
// when each is set, AllowAll when takes is set, else Adjust when adjust is
// not 0, else Allow. setLimit, when set, first changes the limit of key (or,
// without key, of takes[0]'s key).
type cstep struct {
	sleep    time.Duration
	setLimit *ratelimit.Limit
	key      string
	n        int
	adjust   int
	takes    []ratelimit.Take
	want     ratelimit.Decision   // for Allow and AllowAll
	wantIdx  int                  // for AllowAll and AllowEach
	each     []ratelimit.Decision // for AllowEach
}

type scenario struct {
	name   string
	limits map[string]ratelimit.Limit // of the keys; others are unlimited
	steps  []cstep
}

// resetScenarios are conformance scenarios whose Decisions are compared
// whole, Reset included (scenarios leaves Reset out), and which call
// AllowEach.
var resetScenarios = []scenario{
	{"Reset is the time to a full bucket", map[string]ratelimit.Limit{"k": {PerMinute: 60}, "t": {PerMinute: 7, Burst: 3}}, []cstep{
		{key: "k", n: 0, want: allowed(60, 60)},
		{key: "k", n: 2, want: withReset(allowed(58, 60), 2*time.Second)},
		{sleep: 1500 * time.Millisecond, key: "k", n: 0, want: withReset(allowed(59, 60), 500*time.Millisecond)},
		{key: "k", n: 100, want: withReset(refused(59, 60, 500*time.Millisecond), 500*time.Millisecond)},
		{sleep: time.Second, key: "k", n: 100, want: withReset(allowed(0, 60), 100*time.Second)}, // 40 of debt
		{key: "t", n: 1, want: withReset(allowed(2, 7), 8571429*time.Microsecond)},
		{sleep: time.Hour, key: "k", n: 0, want: allowed(60, 60)},
	}},
	{"AllowEach reports every take", map[string]ratelimit.Limit{"rpm": {PerMinute: 3}, "tpm": {PerMinute: 600}}, []cstep{
		{takes: []ratelimit.Take{{Key: "rpm", N: 1}, {Key: "free", N: 5}, {Key: "tpm", N: 100}}, wantIdx: -1, each: []ratelimit.Decision{
			withReset(allowed(2, 3), 20*time.Second), {Allowed: true}, withReset(allowed(500, 600), 10*time.Second)}},
		{takes: []ratelimit.Take{{Key: "rpm", N: 1}, {Key: "tpm", N: 600}, {Key: "rpm", N: 1}}, wantIdx: 1, each: []ratelimit.Decision{
			withReset(refused(2, 3, 0), 20*time.Second), withReset(refused(500, 600, 10*time.Second), 10*time.Second),
			withReset(refused(2, 3, 0), 20*time.Second)}},
		{takes: []ratelimit.Take{{Key: "rpm", N: 1}, {Key: "rpm", N: 1}}, wantIdx: -1, each: []ratelimit.Decision{
			withReset(allowed(0, 3), time.Minute), withReset(allowed(0, 3), time.Minute)}},
		{takes: []ratelimit.Take{{Key: "rpm", N: 1}, {Key: "new", N: 1}}, wantIdx: 0, each: []ratelimit.Decision{
			withReset(refused(0, 3, 20*time.Second), time.Minute), {}}},
		{setLimit: lim(10, 0), takes: []ratelimit.Take{{Key: "new", N: 0}, {Key: "rpm", N: 1}, {Key: "tpm", N: 0}}, wantIdx: 1, each: []ratelimit.Decision{
			refused(10, 10, 0), withReset(refused(0, 3, 20*time.Second), time.Minute), withReset(refused(500, 600, 0), 10*time.Second)}},
		{takes: []ratelimit.Take{}, wantIdx: -1, each: []ratelimit.Decision{}},
	}},
	{"AllowEach: a key read after a refused take is reported under its new limit, and not changed", map[string]ratelimit.Limit{"a": {PerMinute: 1}, "b": {PerMinute: 6}}, []cstep{
		{key: "a", n: 1, want: withReset(allowed(0, 1), time.Minute)},
		{key: "b", n: 6, want: withReset(allowed(0, 6), time.Minute)},
		// b refilled half a token at 6 a minute, then 599.5 to go at 10 a second.
		{sleep: 5 * time.Second, setLimit: lim(600, 0), key: "b", takes: []ratelimit.Take{{Key: "a", N: 1}, {Key: "b", N: 0}}, wantIdx: 0, each: []ratelimit.Decision{
			withReset(refused(0, 1, 55*time.Second), 55*time.Second), withReset(refused(0, 600, 0), 59950*time.Millisecond)}},
		// Not stored with the new limit: b refills at 6 a minute until it
		// is next taken from, to 0.8 tokens after 8s.
		{sleep: 3 * time.Second, key: "b", n: 0, want: withReset(allowed(0, 600), 59920*time.Millisecond)},
		{sleep: 3 * time.Second, key: "b", n: 0, want: withReset(allowed(30, 600), 56920*time.Millisecond)},
	}},
}

func withReset(d ratelimit.Decision, reset time.Duration) ratelimit.Decision {
	d.Reset = reset
	return d
}

func allowed(remaining, limit int) ratelimit.Decision {
	return ratelimit.Decision{Allowed: true, Remaining: remaining, Limit: limit}
}

func refused(remaining, limit int, retry time.Duration) ratelimit.Decision {
	return ratelimit.Decision{Remaining: remaining, Limit: limit, RetryAfter: retry}
}

func lim(perMinute, burst int) *ratelimit.Limit {
	return &ratelimit.Limit{PerMinute: perMinute, Burst: burst}
}

// longKey is a key whose escaped form is hashed; longKey2 differs from it
// in the last byte only.
var (
	longKey  = strings.Repeat("é", 100) + "a"
	longKey2 = strings.Repeat("é", 100) + "b"
)

// scenarios is the conformance table: Memory and the Redis Limiter must
// return the same Decisions for the same calls at the same times.
var scenarios = []scenario{
	{"a minute's worth at once, then one every 60s/rpm", map[string]ratelimit.Limit{"k": {PerMinute: 3}}, []cstep{
		{key: "k", n: 1, want: allowed(2, 3)},
		{key: "k", n: 1, want: allowed(1, 3)},
		{key: "k", n: 1, want: allowed(0, 3)},
		{key: "k", n: 1, want: refused(0, 3, 20*time.Second)},
		{sleep: 19 * time.Second, key: "k", n: 1, want: refused(0, 3, time.Second)},
		{sleep: time.Second, key: "k", n: 1, want: allowed(0, 3)},
		{sleep: 60 * time.Second, key: "k", n: 0, want: allowed(3, 3)},
	}},
	{"refill stops at the burst", map[string]ratelimit.Limit{"k": {PerMinute: 60, Burst: 2}}, []cstep{
		{sleep: time.Hour, key: "k", n: 1, want: allowed(1, 60)},
		{key: "k", n: 1, want: allowed(0, 60)},
		{key: "k", n: 1, want: refused(0, 60, time.Second)},
		{sleep: 10 * time.Hour, key: "k", n: 0, want: allowed(2, 60)},
	}},
	{"a rate that does not divide a minute is exact", map[string]ratelimit.Limit{"k": {PerMinute: 7}}, []cstep{
		{key: "k", n: 7, want: allowed(0, 7)},
		{key: "k", n: 1, want: refused(0, 7, 8571429*time.Microsecond)},
		{sleep: 8571428 * time.Microsecond, key: "k", n: 1, want: refused(0, 7, time.Microsecond)},
		{sleep: time.Microsecond, key: "k", n: 1, want: allowed(0, 7)},
	}},
	{"refused requests take nothing", map[string]ratelimit.Limit{"k": {PerMinute: 10}}, []cstep{
		{key: "k", n: 8, want: allowed(2, 10)},
		{key: "k", n: 3, want: refused(2, 10, 6*time.Second)},
		{key: "k", n: 2, want: allowed(0, 10)},
	}},
	{"more than the burst: once the bucket is full, leaving debt", map[string]ratelimit.Limit{"k": {PerMinute: 60}}, []cstep{
		{key: "k", n: 1, want: allowed(59, 60)},
		{key: "k", n: 100, want: refused(59, 60, time.Second)},
		{sleep: time.Second, key: "k", n: 100, want: allowed(0, 60)},
		{key: "k", n: 0, want: refused(0, 60, 40*time.Second)},
		{key: "k", n: 1, want: refused(0, 60, 41*time.Second)},
		{sleep: 41 * time.Second, key: "k", n: 1, want: allowed(0, 60)},
	}},
	{"a refund gives back, up to the burst", map[string]ratelimit.Limit{"k": {PerMinute: 100}}, []cstep{
		{key: "k", n: 80, want: allowed(20, 100)},
		{key: "k", adjust: -50},
		{key: "k", n: 0, want: allowed(70, 100)},
		{key: "k", adjust: -1000},
		{key: "k", n: 0, want: allowed(100, 100)},
		{key: "other", adjust: -5}, // to a full bucket: nothing
		{key: "k", n: 1, want: allowed(99, 100)},
	}},
	{"an extra charge can leave debt", map[string]ratelimit.Limit{"k": {PerMinute: 100}}, []cstep{
		{key: "k", n: 10, want: allowed(90, 100)},
		{key: "k", adjust: 150},
		{key: "k", n: 1, want: refused(0, 100, 36600*time.Millisecond)},
		{sleep: 36600 * time.Millisecond, key: "k", n: 1, want: allowed(0, 100)},
		{key: "fresh", adjust: 30}, // an extra charge on a full bucket
	}},
	{"unlimited", nil, []cstep{
		{key: "k", n: 1 << 40, want: ratelimit.Decision{Allowed: true}},
		{key: "k", adjust: 1 << 40},
		{key: "k", n: 1, want: ratelimit.Decision{Allowed: true}},
	}},
	{"huge values are clamped, not overflowed", map[string]ratelimit.Limit{"k": {PerMinute: math.MaxInt, Burst: math.MaxInt}}, []cstep{
		{key: "k", n: math.MaxInt, want: allowed(0, math.MaxInt)},
		{key: "k", adjust: math.MaxInt},
		{key: "k", adjust: math.MaxInt},
		{key: "k", n: 1, want: refused(0, math.MaxInt, time.Minute+time.Microsecond)},
		{key: "k", n: 0, want: refused(0, math.MaxInt, time.Minute)},
		{key: "k", adjust: math.MinInt + 1},
		{key: "k", n: 0, want: allowed(0, math.MaxInt)},
		{key: "k", adjust: math.MinInt},
		{key: "k", n: 0, want: allowed(ratelimit.MaxTokens, math.MaxInt)},
		{key: "k", n: 12345, want: allowed(ratelimit.MaxTokens-12345, math.MaxInt)},
		{sleep: 3 * time.Microsecond, key: "k", n: 0, want: allowed(ratelimit.MaxTokens-12345+3*1145, math.MaxInt)},
	}},
	{"a rate above 60,000,000 per minute refills in parts of a token", map[string]ratelimit.Limit{"k": {PerMinute: 1_000_000_007}}, []cstep{
		{key: "k", n: 1_000_000_007, want: allowed(0, 1_000_000_007)},
		{sleep: time.Microsecond, key: "k", n: 0, want: allowed(16, 1_000_000_007)},
		{sleep: 3 * time.Microsecond, key: "k", n: 17, want: allowed(66-17, 1_000_000_007)},
		{key: "k", n: 100, want: refused(49, 1_000_000_007, 4*time.Microsecond)},
		{sleep: 59*time.Second + 999_999*time.Microsecond, key: "k", n: 0, want: allowed(1_000_000_007, 1_000_000_007)},
	}},
	{"a long debt at a slow rate", map[string]ratelimit.Limit{"k": {PerMinute: 1, Burst: 1}}, []cstep{
		{key: "k", adjust: 1 << 20},
		{key: "k", n: 0, want: refused(0, 1, (1<<20-1)*time.Minute)},
		{sleep: 1000 * time.Hour, key: "k", n: 0, want: refused(0, 1, (1<<20-1-60000)*time.Minute)},
		{sleep: 12345 * time.Microsecond, key: "k", n: 0, want: refused(0, 1, (1<<20-1-60000)*time.Minute-12345*time.Microsecond)},
		{key: "k", adjust: -(1 << 20)},
		{key: "k", n: 1, want: allowed(0, 1)},
	}},
	{"a new limit applies at once, the level carries over", map[string]ratelimit.Limit{"k": {PerMinute: 10}}, []cstep{
		{key: "k", n: 4, want: allowed(6, 10)},
		{setLimit: lim(2, 0), key: "k", n: 1, want: allowed(1, 2)},
		{setLimit: lim(120, 0), key: "k", n: 3, want: refused(1, 120, time.Second)},
		{sleep: 250 * time.Millisecond, key: "k", n: 3, want: refused(1, 120, 750*time.Millisecond)},
		{setLimit: lim(120, 1), key: "k", n: 3, want: allowed(0, 120)}, // lowered to a full bucket
		{setLimit: lim(10, 0), key: "k", n: 0, want: refused(0, 10, 12*time.Second)},
	}},
	{"a refused call refills with the old limit, then the new one", map[string]ratelimit.Limit{"k": {PerMinute: 6}}, []cstep{
		{key: "k", n: 6, want: allowed(0, 6)},
		{sleep: 5 * time.Second, setLimit: lim(600, 0), key: "k", n: 1, want: refused(0, 600, 50*time.Millisecond)},
		{sleep: 3 * time.Second, key: "k", n: 0, want: allowed(30, 600)},
	}},
	{"a refused AllowAll stores a new limit too", map[string]ratelimit.Limit{"k": {PerMinute: 6}, "x": {PerMinute: 1}}, []cstep{
		{key: "k", n: 6, want: allowed(0, 6)},
		{key: "x", n: 1, want: allowed(0, 1)},
		{sleep: 5 * time.Second, setLimit: lim(600, 0), takes: []ratelimit.Take{{Key: "k", N: 0}, {Key: "x", N: 1}},
			want: refused(0, 1, 55*time.Second), wantIdx: 1},
		{sleep: 3 * time.Second, key: "k", n: 0, want: allowed(30, 600)},
	}},
	{"AllowAll takes from all or none", map[string]ratelimit.Limit{"a": {PerMinute: 3}, "b": {PerMinute: 10}, "big": {PerMinute: 60}}, []cstep{
		{takes: []ratelimit.Take{{Key: "a", N: 1}, {Key: "b", N: 4}}, want: allowed(6, 10), wantIdx: -1},
		{takes: []ratelimit.Take{{Key: "a", N: 1}, {Key: "b", N: 7}, {Key: "a", N: 1}}, want: refused(6, 10, 6*time.Second), wantIdx: 1},
		{key: "a", n: 0, want: allowed(2, 3)},
		{takes: []ratelimit.Take{{Key: "a", N: 2}, {Key: "a", N: 1}}, want: refused(0, 3, 20*time.Second), wantIdx: 1},
		{takes: []ratelimit.Take{{Key: "a", N: 1}, {Key: "a", N: 1}}, want: allowed(0, 3), wantIdx: -1},
		{takes: []ratelimit.Take{{Key: "b", N: 1}, {Key: "free", N: 1 << 40}}, want: allowed(5, 10), wantIdx: -1},
		{takes: []ratelimit.Take{{Key: "free", N: 1}, {Key: "other", N: 5}}, want: ratelimit.Decision{Allowed: true}, wantIdx: -1},
		{takes: []ratelimit.Take{}, want: ratelimit.Decision{Allowed: true}, wantIdx: -1},
		{takes: []ratelimit.Take{{Key: "free", N: 1}, {Key: "big", N: 100}, {Key: "b", N: 1}}, want: allowed(4, 10), wantIdx: -1},
		{takes: []ratelimit.Take{{Key: "free", N: 1}, {Key: "big", N: 0}}, want: refused(0, 60, 40*time.Second), wantIdx: 1},
		{sleep: 20 * time.Second, takes: []ratelimit.Take{{Key: "a", N: 1}, {Key: "b", N: 1}}, want: allowed(6, 10), wantIdx: -1},
	}},
	{"any key is its own bucket", map[string]ratelimit.Limit{
		"a b": {PerMinute: 1}, "a:b": {PerMinute: 2}, "ключ": {PerMinute: 3}, "{tag}": {PerMinute: 4},
		"A": {PerMinute: 5}, "%41": {PerMinute: 6}, "": {PerMinute: 7}, longKey: {PerMinute: 8}, longKey2: {PerMinute: 9},
	}, []cstep{
		{key: "a b", n: 1, want: allowed(0, 1)},
		{key: "a:b", n: 1, want: allowed(1, 2)},
		{key: "ключ", n: 1, want: allowed(2, 3)},
		{key: "{tag}", n: 1, want: allowed(3, 4)},
		{key: "A", n: 1, want: allowed(4, 5)},
		{key: "%41", n: 1, want: allowed(5, 6)},
		{key: "", n: 1, want: allowed(6, 7)},
		{key: longKey, n: 1, want: allowed(7, 8)},
		{key: longKey2, n: 1, want: allowed(8, 9)},
		{key: "a b", n: 0, want: allowed(0, 1)},
		{key: longKey, n: 0, want: allowed(7, 8)},
	}},
}

// runScenario runs sc against l, with sleep to let time pass; withReset
// compares Decisions whole, else without their Reset.
func runScenario(t *testing.T, sc scenario, l fullLimiter, limits map[string]ratelimit.Limit, sleep func(time.Duration), withReset bool) {
	t.Helper()
	strip := func(d ratelimit.Decision) ratelimit.Decision {
		if !withReset {
			d.Reset = 0
		}
		return d
	}
	for i, s := range sc.steps {
		sleep(s.sleep)
		if s.setLimit != nil {
			key := s.key
			if key == "" && s.takes != nil {
				key = s.takes[0].Key
			}
			limits[key] = *s.setLimit
		}
		switch {
		case s.each != nil:
			each := make([]ratelimit.Decision, len(s.takes))
			idx, err := l.AllowEach(t.Context(), s.takes, each)
			if err != nil {
				t.Fatalf("step %d: AllowEach: %v", i, err)
			}
			for j := range each {
				each[j] = strip(each[j])
			}
			if !slices.Equal(each, s.each) || idx != s.wantIdx {
				t.Fatalf("step %d: AllowEach(%v) = %d, %+v; want %d, %+v", i, s.takes, idx, each, s.wantIdx, s.each)
			}
		case s.takes != nil:
			got, idx, err := l.AllowAll(t.Context(), s.takes)
			if err != nil {
				t.Fatalf("step %d: AllowAll: %v", i, err)
			}
			if got = strip(got); got != s.want || idx != s.wantIdx {
				t.Fatalf("step %d: AllowAll(%v) = %+v, %d; want %+v, %d", i, s.takes, got, idx, s.want, s.wantIdx)
			}
		case s.adjust != 0:
			if err := l.Adjust(t.Context(), s.key, s.adjust); err != nil {
				t.Fatalf("step %d: Adjust: %v", i, err)
			}
		default:
			got, err := l.Allow(t.Context(), s.key, s.n)
			if err != nil {
				t.Fatalf("step %d: Allow: %v", i, err)
			}
			if got = strip(got); got != s.want {
				t.Fatalf("step %d: Allow(%q, %d) = %+v, want %+v", i, s.key, s.n, got, s.want)
			}
		}
	}
}

// virtualClock is a Limiter's clock in the conformance tests: it moves only
// when the test sleeps, exactly, as synctest's clock does for Memory.
type virtualClock struct{ us atomic.Int64 }

func (c *virtualClock) now() int64            { return c.us.Load() }
func (c *virtualClock) sleep(d time.Duration) { c.us.Add(int64(d / time.Microsecond)) }
func newVirtualClock() *virtualClock {
	c := new(virtualClock)
	c.us.Store(1_750_000_000_000_000)
	return c
}
func copyLimits(m map[string]ratelimit.Limit) map[string]ratelimit.Limit {
	c := make(map[string]ratelimit.Limit, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// newVirtualLimiter returns a Limiter on c whose clock is clock instead of
// Redis's, and whose keys expire an hour late, as that clock does not move
// with Redis's.
func newVirtualLimiter(c redis.UniversalClient, limits map[string]ratelimit.Limit, prefix string, clock *virtualClock) *Limiter {
	l := New(c, func(k string) ratelimit.Limit { return limits[k] }, Options{Prefix: prefix, Timeout: -1})
	l.clock, l.slack = clock.now, int64(time.Hour/time.Millisecond)
	return l
}

// TestConformance runs every scenario against Memory (in a synctest bubble)
// and against the Redis Limiter (with a virtual clock moved by the same
// sleeps): both must give the Decisions of the table. It then checks that
// every key the Limiter left in Redis has a TTL.
func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	for i, sc := range append(slices.Clone(scenarios), resetScenarios...) {
		withReset := i >= len(scenarios)
		t.Run(sc.name, func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					limits := copyLimits(sc.limits)
					m := ratelimit.NewMemory(func(k string) ratelimit.Limit { return limits[k] })
					runScenario(t, sc, m, limits, time.Sleep, withReset)
				})
			})
			t.Run("redis", func(t *testing.T) {
				limits, clock := copyLimits(sc.limits), newVirtualClock()
				prefix := fmt.Sprintf("conf%d:", i)
				runScenario(t, sc, newVirtualLimiter(c, limits, prefix, clock), limits, clock.sleep, withReset)
				keys, err := c.Keys(t.Context(), prefix+"*").Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					if ttl := c.PTTL(t.Context(), k).Val(); ttl <= 0 {
						t.Errorf("key %q has no TTL (%v)", k, ttl)
					}
				}
			})
		})
	}
}

// TestConformanceRandom drives Memory and the Redis Limiter with the same
// long run of random calls (Allow, AllowAll, Adjust, limit changes, odd
// sleeps, sizes around the burst) and compares every Decision.
func TestConformanceRandom(t *testing.T) {
	type call struct {
		sleep    time.Duration
		limit    *ratelimit.Limit // new limit of limitKey
		limitKey string
		takes    []ratelimit.Take // one take and single: Allow
		single   bool
		each     bool // AllowEach rather than AllowAll
		adjust   int  // Adjust of takes[0].Key when not 0
	}
	type result struct {
		d    ratelimit.Decision
		idx  int
		each []ratelimit.Decision
	}
	keys := []string{"a", "b", "c", "d e", "free"}
	bursts := map[string]int{"a": 7, "b": 10, "d e": 100}
	rng := rand.New(rand.NewPCG(1, 2))
	var calls []call
	for range 3000 {
		var c call
		switch rng.IntN(4) {
		case 0:
			c.sleep = time.Duration(rng.Int64N(int64(5 * time.Second)))
		case 1:
			c.sleep = time.Duration(rng.Int64N(int64(time.Minute)))
		}
		c.sleep = c.sleep.Truncate(time.Microsecond)
		key := keys[rng.IntN(len(keys)-1)] // "free" is never limited
		if rng.IntN(40) == 0 && key != "c" {
			// A new rate; the bursts stay (see New on raised bursts).
			c.limit = &ratelimit.Limit{PerMinute: 1 + rng.IntN(200), Burst: bursts[key]}
			c.limitKey = key
		}
		n := func() int { return rng.IntN(3) * rng.IntN(60) }
		switch r := rng.IntN(10); {
		case r < 5:
			c.takes, c.single = []ratelimit.Take{{Key: key, N: n()}}, true
		case r < 8:
			for range 1 + rng.IntN(4) {
				c.takes = append(c.takes, ratelimit.Take{Key: keys[rng.IntN(len(keys))], N: n()})
			}
			c.each = rng.IntN(2) == 0
		default:
			c.takes, c.adjust = []ratelimit.Take{{Key: key}}, rng.IntN(200)-100
			if c.adjust == 0 {
				c.adjust = 1
			}
		}
		calls = append(calls, c)
	}
	initial := map[string]ratelimit.Limit{"a": {PerMinute: 7, Burst: 7}, "b": {PerMinute: 60, Burst: 10}, "c": {PerMinute: 100_000_000}, "d e": {PerMinute: 13, Burst: 100}}
	run := func(t *testing.T, l fullLimiter, limits map[string]ratelimit.Limit, sleep func(time.Duration)) []result {
		var out []result
		for i, c := range calls {
			sleep(c.sleep)
			if c.limit != nil {
				limits[c.limitKey] = *c.limit
			}
			var r result
			var err error
			switch {
			case c.adjust != 0:
				err = l.Adjust(t.Context(), c.takes[0].Key, c.adjust)
			case c.single:
				r.d, err = l.Allow(t.Context(), c.takes[0].Key, c.takes[0].N)
			case c.each:
				r.each = make([]ratelimit.Decision, len(c.takes))
				r.idx, err = l.AllowEach(t.Context(), c.takes, r.each)
				r.d.Allowed = r.idx < 0
			default:
				r.d, r.idx, err = l.AllowAll(t.Context(), c.takes)
			}
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			out = append(out, r)
		}
		return out
	}
	var want []result
	synctest.Test(t, func(t *testing.T) {
		limits := copyLimits(initial)
		want = run(t, ratelimit.NewMemory(func(k string) ratelimit.Limit { return limits[k] }), limits, time.Sleep)
	})
	srv := redistest.Start(t)
	limits, clock := copyLimits(initial), newVirtualClock()
	got := run(t, newVirtualLimiter(newClient(t, srv, nil), limits, "rand:", clock), limits, clock.sleep)
	refusals := 0
	for i := range want {
		if got[i].d != want[i].d || got[i].idx != want[i].idx || !slices.Equal(got[i].each, want[i].each) {
			t.Fatalf("call %d (%+v): Redis gave %+v, Memory %+v", i, calls[i], got[i], want[i])
		}
		if !want[i].d.Allowed && calls[i].adjust == 0 {
			refusals++
		}
	}
	if refusals < len(calls)/10 {
		t.Errorf("only %d refusals in %d calls: the scenario does not test much", refusals, len(calls))
	}
}

// TestRedisClock: with Redis's own clock, a refused call's RetryAfter is
// right, and the key is refilled after it.
func TestRedisClock(t *testing.T) {
	srv := redistest.Start(t)
	l := New(newClient(t, srv, nil), func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 6000, Burst: 1} }, Options{Timeout: -1})
	var d ratelimit.Decision
	for range 10 { // the first call is allowed; so is another if 10ms pass between two
		var err error
		if d, err = l.Allow(t.Context(), "k", 1); err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			break
		}
	}
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 10*time.Millisecond || d.Remaining != 0 || d.Limit != 6000 {
		t.Fatalf("Allow = %+v, want refused, RetryAfter in (0, 10ms]", d)
	}
	time.Sleep(d.RetryAfter)
	if d, err := l.Allow(t.Context(), "k", 1); err != nil || !d.Allowed {
		t.Fatalf("after RetryAfter: Allow = %+v, %v; want allowed", d, err)
	}
}

// TestRedisTTL: a bucket's key expires when the bucket would be full, and a
// full bucket is no key.
func TestRedisTTL(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	l := New(c, func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 60} }, Options{Prefix: "ttl:", Timeout: -1})
	ctx := t.Context()
	if _, err := l.Allow(ctx, "full", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(ctx, "a key", 30); err != nil {
		t.Fatal(err)
	}
	if keys := c.Keys(ctx, "ttl:*").Val(); len(keys) != 1 || keys[0] != "ttl:rl:a%20key" {
		t.Fatalf("keys = %q, want only ttl:rl:a%%20key", keys)
	}
	if ttl := c.PTTL(ctx, "ttl:rl:a%20key").Val(); ttl < 29*time.Second || ttl > 30*time.Second+5*time.Millisecond {
		t.Errorf("TTL = %v after taking 30 of 60 at 60/min, want about 30s", ttl)
	}
	if err := l.Adjust(ctx, "a key", 15); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, "ttl:rl:a%20key").Val(); ttl < 44*time.Second || ttl > 45*time.Second+5*time.Millisecond {
		t.Errorf("TTL = %v after taking 45, want about 45s", ttl)
	}
	if err := l.Adjust(ctx, "a key", -100); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, "ttl:rl:a%20key").Val(); n != 0 {
		t.Error("a bucket refunded to full is still a key")
	}
	if _, err := l.Allow(ctx, "short", 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n := c.Exists(ctx, "ttl:rl:short").Val(); n != 0 {
		t.Error("the key of a bucket that refilled in 1s is still there after 1.1s")
	}
}

// TestRedisTTLNotEarly: a bucket's key expires no earlier than the moment
// the bucket is full (else a key would spend early), and not much later:
// the expiry time (PEXPIRETIME, ms) is checked against the stored level,
// exactly, for odd rates, debts and huge values.
func TestRedisTTLNotEarly(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	tests := []struct {
		name   string
		lim    ratelimit.Limit
		n      int
		adjust int
	}{
		{"one of 7 per minute", ratelimit.Limit{PerMinute: 7}, 1, 0},
		{"all of 7 per minute", ratelimit.Limit{PerMinute: 7}, 7, 0},
		{"one of 60000 per minute", ratelimit.Limit{PerMinute: 60000}, 1, 0},
		{"a fast odd rate", ratelimit.Limit{PerMinute: 1_000_000_007, Burst: 3}, 2, 0},
		{"a debt", ratelimit.Limit{PerMinute: 13}, 13, 1000},
		{"a huge debt at 1 per minute", ratelimit.Limit{PerMinute: 1}, 1, math.MaxInt},
		{"huge values", ratelimit.Limit{PerMinute: math.MaxInt}, math.MaxInt, math.MaxInt},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			l := New(c, func(string) ratelimit.Limit { return tt.lim }, Options{Timeout: -1})
			key := fmt.Sprint("k", i)
			if d, err := l.Allow(ctx, key, tt.n); err != nil || !d.Allowed {
				t.Fatalf("Allow = %+v, %v", d, err)
			}
			if tt.adjust != 0 {
				if err := l.Adjust(ctx, key, tt.adjust); err != nil {
					t.Fatal(err)
				}
			}
			v, err := c.Get(ctx, l.bucketKey(key)).Result()
			if err != nil {
				t.Fatal(err)
			}
			var hi, lo, last, rate, burst int64
			if _, err := fmt.Sscan(v, &hi, &lo, &last, &rate, &burst); err != nil {
				t.Fatalf("stored %q: %v", v, err)
			}
			missing := (burst-hi)*unitsPerToken - lo
			fullAt := last + (missing+rate-1)/rate // µs
			expireAt, err := c.Do(ctx, "PEXPIRETIME", l.bucketKey(key)).Int64()
			if err != nil {
				t.Fatal(err)
			}
			if expireAt*1000 < fullAt {
				t.Errorf("the key expires at %d ms, before the bucket is full at %d µs", expireAt, fullAt)
			}
			if late := expireAt*1000 - fullAt; late > 4000+(fullAt-last)/100_000_000 {
				t.Errorf("the key expires %d µs after the bucket is full", late)
			}
		})
	}
}

// TestRedisNoScript: after SCRIPT FLUSH (or a restart), the scripts are
// loaded again by themselves.
func TestRedisNoScript(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	l := New(c, func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 10} }, Options{Timeout: -1})
	for i := range 3 {
		if err := c.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		if d, err := l.Allow(t.Context(), "k", 1); err != nil || d.Remaining != 9-2*i {
			t.Fatalf("Allow after SCRIPT FLUSH: %+v, %v; want Remaining %d", d, err, 9-2*i)
		}
		if err := c.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		if err := l.Adjust(t.Context(), "k", 1); err != nil {
			t.Fatalf("Adjust after SCRIPT FLUSH: %v", err)
		}
	}
}

// TestRedisTwoInstances: two Limiters with their own clients share a
// bucket exactly, under 300 concurrent calls.
func TestRedisTwoInstances(t *testing.T) {
	srv := redistest.Start(t)
	limit := func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 100} }
	ls := [2]*Limiter{
		New(newClient(t, srv, nil), limit, Options{Timeout: -1}),
		New(newClient(t, srv, nil), limit, Options{Timeout: -1}),
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range 300 {
		wg.Go(func() {
			d, err := ls[i%2].Allow(context.Background(), "shared", 1)
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// One more token refills every 600ms: exactly 100 unless the calls
	// took that long (a very loaded machine).
	wantMax := 100 + int64(elapsed/(600*time.Millisecond))
	if n := ok.Load(); n < 100 || n > wantMax {
		t.Errorf("%d allowed in %v, want 100 (at most %d)", n, elapsed, wantMax)
	}
}

// TestRedisAllowAllConcurrent: concurrent AllowAlls from two instances
// never take from one key without the other.
func TestRedisAllowAllConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	limits := map[string]ratelimit.Limit{"a": {PerMinute: 1, Burst: 1000}, "b": {PerMinute: 1, Burst: 30}}
	limit := func(k string) ratelimit.Limit { return limits[k] }
	c := newClient(t, srv, nil)
	ls := [2]*Limiter{New(c, limit, Options{Timeout: -1}), New(newClient(t, srv, nil), limit, Options{Timeout: -1})}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			d, _, err := ls[i%2].AllowAll(context.Background(), []ratelimit.Take{{Key: "a", N: 1}, {Key: "b", N: 1}})
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
		t.Errorf("%d allowed, want 30 (the burst of b)", n)
	}
	if d, _ := ls[0].Allow(t.Context(), "a", 0); d.Remaining != 970 {
		t.Errorf("a: Remaining = %d, want 970", d.Remaining)
	}
}

// TestRedisDown: with Redis stopped, every call fails within a bounded
// time, except for unlimited keys; after a restart on the same port, the
// same Limiter and Spend work again.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, func(o *redis.Options) {
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
		o.DialerRetries, o.DialerRetryTimeout = 1, 10*time.Millisecond
		o.MaxRetries = 1
	})
	limits := map[string]ratelimit.Limit{"k": {PerMinute: 10}}
	l := New(c, func(k string) ratelimit.Limit { return limits[k] }, Options{Timeout: time.Second})
	sp := NewSpend(c, Options{Timeout: time.Second, SpendCacheTTL: -1})
	ctx := t.Context()
	calls := []struct {
		name string
		call func() error
	}{
		{"Allow", func() error { _, err := l.Allow(ctx, "k", 1); return err }},
		{"AllowAll", func() error {
			_, _, err := l.AllowAll(ctx, []ratelimit.Take{{Key: "free", N: 1}, {Key: "k", N: 1}})
			return err
		}},
		{"Adjust", func() error { return l.Adjust(ctx, "k", 1) }},
		{"Ping", func() error { return l.Ping(ctx) }},
		{"Spent", func() error { _, _, err := sp.Spent(ctx, "k"); return err }},
		{"AddSpend", func() error { return sp.AddSpend(ctx, "k", 1) }},
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s with Redis up: %v", c.name, err)
		}
	}

	srv.Stop()
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		if err == nil {
			t.Errorf("%s with Redis down: no error", c.name)
		} else if !strings.Contains(err.Error(), "reachable") {
			t.Errorf("%s with Redis down: error %q does not say what to check", c.name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s with Redis down took %v, want under 2s", c.name, d)
		}
	}
	if d, err := l.Allow(ctx, "free", 1); err != nil || !d.Allowed {
		t.Errorf("Allow of an unlimited key with Redis down = %+v, %v; want allowed", d, err)
	}

	srv.Restart(t)
	for _, c := range calls {
		var err error
		for range 3 { // a connection broken by the restart may fail one call
			if err = c.call(); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("%s after the restart: %v", c.name, err)
		}
	}
}

// TestRedisTimeout: Options.Timeout bounds a call to a Redis that does not
// answer (paused), when the client honours ctx deadlines.
func TestRedisTimeout(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, func(o *redis.Options) { o.ContextTimeoutEnabled = true })
	l := New(c, func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 10} }, Options{Timeout: 50 * time.Millisecond})
	if err := l.Ping(t.Context()); err != nil { // a connection in the pool
		t.Fatal(err)
	}
	pauser := newClient(t, srv, nil)
	if err := pauser.Do(t.Context(), "CLIENT", "PAUSE", 5000, "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := l.Allow(t.Context(), "k", 1)
	elapsed := time.Since(start)
	if err == nil || elapsed > 300*time.Millisecond {
		t.Errorf("Allow against a paused Redis: %v after %v; want an error within 300ms", err, elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want one that wraps context.DeadlineExceeded", err)
	}
	t.Logf("error after %v: %v", elapsed, err)
}

func TestAllowNegative(t *testing.T) {
	l := New(nil, func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: 10} }, Options{})
	if _, err := l.Allow(t.Context(), "k", -1); err == nil {
		t.Error("Allow(-1): no error")
	}
	if _, idx, err := l.AllowAll(t.Context(), []ratelimit.Take{{Key: "k", N: 1}, {Key: "k", N: -1}}); err == nil || idx != -1 {
		t.Errorf("AllowAll with N -1: %d, %v; want -1 and an error", idx, err)
	}
}

// TestUnlimitedNeedsNoRedis: a nil limit function, like Memory's, limits
// nothing, and no call reaches the (absent) client.
func TestUnlimitedNeedsNoRedis(t *testing.T) {
	l := New(nil, nil, Options{})
	if d, err := l.Allow(t.Context(), "k", 5); err != nil || !d.Allowed {
		t.Errorf("Allow = %+v, %v; want allowed", d, err)
	}
	if d, idx, err := l.AllowAll(t.Context(), []ratelimit.Take{{Key: "k", N: 5}}); err != nil || !d.Allowed || idx != -1 {
		t.Errorf("AllowAll = %+v, %d, %v; want allowed", d, idx, err)
	}
	if err := l.Adjust(t.Context(), "k", 5); err != nil {
		t.Error(err)
	}
}

func TestEscapeKey(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"team-a", "team-a"},
		{"Team_A.1", "Team_A.1"},
		{"", ""},
		{"a b", "a%20b"},
		{"a:b", "a%3Ab"},
		{"{x}", "%7Bx%7D"},
		{"%41", "%2541"},
		{"#x", "%23x"},
		{"é", "%C3%A9"},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{strings.Repeat("a", 129), "#6f1bba8a3a3a6b2d9d0b3a9e1d3e5d42d6c3b66c5e1cf4ac2a5b5f6a5b3c1e2d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := escapeKey(tt.in)
			if strings.HasPrefix(tt.want, "#") {
				if !strings.HasPrefix(got, "#") || len(got) != 65 {
					t.Errorf("escapeKey(%d bytes) = %q, want # and a SHA-256", len(tt.in), got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("escapeKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzEscapeKey: escaped keys use only safe bytes, are short, and differ
// for different keys.
func FuzzEscapeKey(f *testing.F) {
	for _, s := range []string{"a", "a b", "%20", "{x}", "é", strings.Repeat("ab", 70)} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := escapeKey(a), escapeKey(b)
		if a != b && ea == eb {
			t.Errorf("escapeKey(%q) = escapeKey(%q) = %q", a, b, ea)
		}
		if len(ea) > maxKeyPart && len(ea) != 65 {
			t.Errorf("escapeKey(%q) is %d bytes long", a, len(ea))
		}
		for i := range len(ea) {
			if c := ea[i]; !safeByte(c) && c != '%' && !(i == 0 && c == '#') {
				t.Errorf("escapeKey(%q) = %q holds %q", a, ea, c)
			}
		}
	})
}

// BenchmarkAllow compares Memory with the Redis Limiter on a loopback
// redis-server: 64 keys, calls from GOMAXPROCS goroutines.
func BenchmarkAllow(b *testing.B) {
	limit := func(string) ratelimit.Limit { return ratelimit.Limit{PerMinute: math.MaxInt32} }
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("key", i)
	}
	bench := func(b *testing.B, l ratelimit.Limiter) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Allow(context.Background(), keys[i%len(keys)], 1); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	}
	b.Run("memory", func(b *testing.B) { bench(b, ratelimit.NewMemory(limit)) })
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		bench(b, New(newClient(b, srv, nil), limit, Options{Timeout: -1}))
	})
}

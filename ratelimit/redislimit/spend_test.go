// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/warmgate/warmgate/internal/redistest"
	"github.com/warmgate/warmgate/ratelimit"
)

// commandCounter is a go-redis hook that counts the commands sent, by
// name: the round trips of the code under test.
type commandCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func countCommands(c *redis.Client) *commandCounter {
	cc := &commandCounter{n: make(map[string]int)}
	c.AddHook(cc)
	return cc
}

func (cc *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (cc *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		cc.mu.Lock()
		cc.n[cmd.Name()]++
		cc.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (cc *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// take returns the count of name and resets it.
func (cc *commandCounter) take(name string) int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := cc.n[name]
	delete(cc.n, name)
	return n
}

// TestSpendConformance runs one table against MemorySpend and against
// Spend, with and without its cache: the same calls give the same totals.
func TestSpendConformance(t *testing.T) {
	type step struct {
		key        string
		add        float64 // AddSpend when not 0, else Spent
		day, month float64
	}
	steps := []step{
		{key: "a", day: 0, month: 0},
		{key: "a", add: 1.5},
		{key: "a", add: 0.25},
		{key: "a", day: 1.75, month: 1.75},
		{key: "a b", add: 2},
		{key: "a:b", add: 4},
		{key: "ключ", add: 8},
		{key: longKey, add: 16},
		{key: longKey2, day: 0, month: 0},
		{key: "a b", day: 2, month: 2},
		{key: "a:b", day: 4, month: 4},
		{key: "ключ", day: 8, month: 8},
		{key: longKey, day: 16, month: 16},
		{key: "a", add: 1e-6},
		{key: "a", day: 1.750001, month: 1.750001},
		{key: "a", add: 1e9},
		{key: "a", day: 1.000000001750001e9, month: 1.000000001750001e9},
	}
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	spenders := []struct {
		name string
		s    ratelimit.Spender
	}{
		{"memory", new(ratelimit.MemorySpend)},
		{"redis", NewSpend(c, Options{Prefix: "cached:"})},
		{"redis without cache", NewSpend(c, Options{Prefix: "uncached:", SpendCacheTTL: -1})},
	}
	for _, sp := range spenders {
		t.Run(sp.name, func(t *testing.T) {
			for i, st := range steps {
				if st.add != 0 {
					if err := sp.s.AddSpend(t.Context(), st.key, st.add); err != nil {
						t.Fatalf("step %d: AddSpend: %v", i, err)
					}
					continue
				}
				day, month, err := sp.s.Spent(t.Context(), st.key)
				if err != nil || day != st.day || month != st.month {
					t.Fatalf("step %d: Spent(%q) = %v, %v, %v; want %v, %v", i, st.key, day, month, err, st.day, st.month)
				}
			}
		})
	}
}

// TestSpendKeys: the totals are in the keys of the UTC day and month, with
// TTLs of about 48 hours and 32 days.
func TestSpendKeys(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	s := NewSpend(c, Options{})
	before := time.Now().UTC()
	if err := s.AddSpend(t.Context(), "team a", 0.5); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UTC()
	keys := c.Keys(t.Context(), "*").Val()
	want := func(t time.Time) []string {
		return []string{
			"warmgate:spend:day:" + t.Format("2006-01-02") + ":team%20a",
			"warmgate:spend:month:" + t.Format("2006-01") + ":team%20a",
		}
	}
	if !sameSet(keys, want(before)) && !sameSet(keys, want(after)) {
		t.Fatalf("keys = %q, want %q", keys, want(after))
	}
	for _, k := range keys {
		ttl := c.TTL(t.Context(), k).Val()
		wantTTL := dayTTL
		if strings.Contains(k, ":month:") {
			wantTTL = monthTTL
		}
		if ttl < wantTTL-time.Minute || ttl > wantTTL {
			t.Errorf("TTL of %s = %v, want %v", k, ttl, wantTTL)
		}
		if v := c.Get(t.Context(), k).Val(); v != "0.5" {
			t.Errorf("%s = %q, want 0.5", k, v)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// TestSpendCache: within SpendCacheTTL, Spent reads Redis at most once per
// key, however many callers; AddSpend needs no read to be seen; another
// instance's spend shows after the TTL.
func TestSpendCache(t *testing.T) {
	srv := redistest.Start(t)
	ca, cb := newClient(t, srv, nil), newClient(t, srv, nil)
	count := countCommands(ca)
	const ttl = 200 * time.Millisecond
	a, b := NewSpend(ca, Options{SpendCacheTTL: ttl}), NewSpend(cb, Options{SpendCacheTTL: ttl})
	ctx := t.Context()

	start := time.Now()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if day, month, err := a.Spent(ctx, "k"); err != nil || day != 0 || month != 0 {
				t.Errorf("Spent = %v, %v, %v; want 0, 0", day, month, err)
			}
		})
	}
	wg.Wait()
	for range 10 {
		_, _, _ = a.Spent(ctx, "k")
	}
	if time.Since(start) < ttl {
		if n := count.take("mget"); n != 1 {
			t.Errorf("60 Spent calls within the TTL read Redis %d times, want 1", n)
		}
	}

	if err := a.AddSpend(ctx, "k", 3); err != nil {
		t.Fatal(err)
	}
	if err := b.AddSpend(ctx, "k", 4); err != nil {
		t.Fatal(err)
	}
	count.take("mget")
	day, month, err := a.Spent(ctx, "k")
	if err != nil || day < 3 || month < 3 {
		t.Errorf("Spent after its own AddSpend = %v, %v, %v; want at least 3", day, month, err)
	}
	time.Sleep(ttl)
	if day, month, err := a.Spent(ctx, "k"); err != nil || day != 7 || month != 7 {
		t.Errorf("Spent after the TTL = %v, %v, %v; want 7, 7 (the other instance's 4 too)", day, month, err)
	}
	if err := a.AddSpend(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if day, _, _ := a.Spent(ctx, "k"); day != 8 {
		t.Errorf("Spent after AddSpend = %v, want 8", day)
	}
	if n := count.take("mget"); n > 2 {
		t.Errorf("%d reads, want at most 2", n)
	}

	// A key first seen by AddSpend is cached with the totals it returned.
	if err := a.AddSpend(ctx, "new", 2); err != nil {
		t.Fatal(err)
	}
	if day, _, _ := a.Spent(ctx, "new"); day != 2 {
		t.Errorf("Spent of a key just added to = %v, want 2", day)
	}
	if n := count.take("mget"); n != 0 && time.Since(start) < ttl {
		t.Errorf("Spent after AddSpend read Redis %d times, want 0", n)
	}
}

// TestSpendNoCache: with a negative SpendCacheTTL, every Spent reads Redis.
func TestSpendNoCache(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	count := countCommands(c)
	s := NewSpend(c, Options{SpendCacheTTL: -1})
	for range 5 {
		if _, _, err := s.Spent(t.Context(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if n := count.take("mget"); n != 5 {
		t.Errorf("5 Spent calls read Redis %d times, want 5", n)
	}
	if n := s.cacheLen(); n != 0 {
		t.Errorf("cache holds %d keys, want 0", n)
	}
}

// TestSpendCacheBounded: the cache drops keys not used within the TTL.
func TestSpendCacheBounded(t *testing.T) {
	srv := redistest.Start(t)
	s := NewSpend(newClient(t, srv, nil), Options{SpendCacheTTL: 10 * time.Millisecond})
	for i := range 100 {
		if _, _, err := s.Spent(t.Context(), fmt.Sprint("key", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.cacheLen(); n > 100 {
		t.Fatalf("cache holds %d keys, want at most 100", n)
	}
	time.Sleep(minSweepInterval)
	if _, _, err := s.Spent(t.Context(), "other"); err != nil {
		t.Fatal(err)
	}
	if n := s.cacheLen(); n != 1 {
		t.Errorf("cache holds %d keys after the sweep, want 1", n)
	}
}

func TestSpendRejectsNonFinite(t *testing.T) {
	s := NewSpend(nil, Options{}) // no call reaches the client
	for _, amount := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := s.AddSpend(t.Context(), "a", amount); err == nil || !strings.Contains(err.Error(), "finite") {
			t.Errorf("AddSpend(%v): %v, want an error", amount, err)
		}
	}
}

// TestSpendBadValue: a total that is not a number is an error that says
// which key to delete.
func TestSpendBadValue(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv, nil)
	s := NewSpend(c, Options{SpendCacheTTL: -1})
	day, _ := s.keys("k", time.Now())
	c.Set(t.Context(), day, "oops", 0)
	if _, _, err := s.Spent(t.Context(), "k"); err == nil || !strings.Contains(err.Error(), day) {
		t.Errorf("Spent with %s = oops: %v, want an error naming the key", day, err)
	}
}

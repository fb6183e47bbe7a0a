// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/warmgate/warmgate/ratelimit"
)

// DefaultSpendCacheTTL is how long a Spend trusts totals read from Redis
// when Options.SpendCacheTTL is 0: a budget check on every request then
// costs at most one round trip per key per second, and other instances'
// spend shows within a second.
const DefaultSpendCacheTTL = time.Second

// The lifetimes of the totals in Redis, renewed by every AddSpend: past its
// period a total is never read again. A day total lives two days and a
// month total 32 days, so that neither can expire within its period
// whatever the time of the last write, with a day to spare for clocks.
const (
	dayTTL   = 48 * time.Hour
	monthTTL = 32 * 24 * time.Hour
)

// Spend is a ratelimit.Spender whose totals live in Redis, shared by every
// Spend with the same Prefix on that Redis: one money budget for several
// gateway instances. Create it with NewSpend. It is safe for concurrent
// use; closing the client is the caller's job.
//
// Totals are floats added with INCRBYFLOAT, exact in Redis up to float
// rounding. Spent reads them through a local cache (see
// Options.SpendCacheTTL): at most one round trip per key per TTL, shared
// by concurrent callers. AddSpend always writes to Redis, in one round
// trip, and updates the cache with the totals Redis returns, so an
// instance sees its own spend at once, and other instances' spend at most
// one TTL late. N instances can therefore together overshoot a budget by
// what they spend in one TTL (besides what requests in flight spend, which
// no store prevents). A negative amount (a correction) lowers a cached
// total only at its next read.
type Spend struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	ttl     time.Duration // < 0: no cache

	mu        sync.Mutex
	cache     map[string]*spent
	nextSweep time.Time
}

// spent is the cached totals of one key.
type spent struct {
	day        string    // the UTC day they are for, "2006-01-02"
	dayTotal   float64   // what the key spent that day
	monthTotal float64   // and that month
	at         time.Time // when read from Redis; zero: never read
	adds       uint64    // AddSpends that updated the totals, to spot one during a read
	read       *read     // the read in flight, if any
}

// read is a read of one key's totals from Redis, which concurrent Spent
// calls wait for rather than reading too.
type read struct {
	done chan struct{} // closed when the read is over
	err  error         // its error, to share; nil if the reader's ctx ended
}

var _ ratelimit.Spender = (*Spend)(nil)

// NewSpend returns a Spend that keeps its totals in the Redis of client.
// opts.Prefix, Timeout and SpendCacheTTL apply.
func NewSpend(client redis.UniversalClient, opts Options) *Spend {
	ttl := opts.SpendCacheTTL
	if ttl == 0 {
		ttl = DefaultSpendCacheTTL
	}
	return &Spend{client: client, prefix: opts.prefix(), timeout: opts.timeout(), ttl: ttl, cache: make(map[string]*spent)}
}

// Spent returns what key spent in the current UTC day and month, from the
// cache if it read them less than SpendCacheTTL ago, else from Redis in one
// round trip (MGET). It returns an error when Redis could not be asked.
func (s *Spend) Spent(ctx context.Context, key string) (day, month float64, err error) {
	if s.ttl < 0 {
		return s.get(ctx, key, time.Now())
	}
	for {
		now := time.Now()
		today := dayOf(now)
		s.mu.Lock()
		e := s.cache[key]
		if e != nil && e.day == today && !e.at.IsZero() && now.Sub(e.at) < s.ttl {
			day, month = e.dayTotal, e.monthTotal
			s.mu.Unlock()
			return day, month, nil
		}
		if e != nil && e.day == today && e.read != nil {
			r := e.read
			s.mu.Unlock()
			select {
			case <-r.done:
				if r.err != nil {
					return 0, 0, r.err
				}
				continue // read again from the cache, or read Redis if that reader gave up
			case <-ctx.Done():
				return 0, 0, fmt.Errorf("redislimit: Spent: %w", ctx.Err())
			}
		}
		if e == nil || e.day != today {
			s.sweep(now)
			e = &spent{day: today}
			s.cache[key] = e
		}
		r := &read{done: make(chan struct{})}
		e.read = r
		adds := e.adds
		s.mu.Unlock()

		day, month, err = s.get(ctx, key, now)

		s.mu.Lock()
		e.read = nil
		if err == nil {
			if e.adds != adds { // an AddSpend returned totals during the read, maybe newer
				day, month = max(day, e.dayTotal), max(month, e.monthTotal)
			}
			e.dayTotal, e.monthTotal, e.at = day, month, now
		} else if ctx.Err() == nil {
			r.err = err // Redis failed: the waiters fail too, at once
		}
		close(r.done)
		s.mu.Unlock()
		return day, month, err
	}
}

// AddSpend adds amount to what key spent in the current UTC day and month,
// in Redis, in one round trip (a script: two INCRBYFLOATs and their
// EXPIREs), and updates the cache with the totals it returns. It returns an
// error for an amount that is not a finite number, or when Redis could not
// be asked; the amount is then not counted.
func (s *Spend) AddSpend(ctx context.Context, key string, amount float64) error {
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return fmt.Errorf("redislimit: AddSpend of %v: the amount must be a finite number; check the cost computation", amount)
	}
	now := time.Now()
	dayKey, monthKey := s.keys(key, now)
	ctx, cancel := withTimeout(ctx, s.timeout)
	defer cancel()
	res, err := addSpendScript.Run(ctx, s.client, []string{dayKey, monthKey},
		strconv.FormatFloat(amount, 'g', -1, 64), int64(dayTTL/time.Second), int64(monthTTL/time.Second)).StringSlice()
	if err != nil {
		return fmt.Errorf("redislimit: AddSpend: %w; check that Redis is up and reachable", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("redislimit: AddSpend: unexpected reply %q from the script", res)
	}
	day, err1 := strconv.ParseFloat(res[0], 64)
	month, err2 := strconv.ParseFloat(res[1], 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("redislimit: AddSpend: unexpected reply %q from the script", res)
	}
	if s.ttl < 0 {
		return nil
	}
	today := dayOf(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.cache[key]
	switch {
	case e == nil || e.day != today:
		// As fresh as a read: the totals as of just after this add.
		s.sweep(now)
		s.cache[key] = &spent{day: today, dayTotal: day, monthTotal: month, at: now}
	default:
		// Totals only grow (but for corrections): the larger is the newer,
		// whatever order concurrent replies arrive in. at is left alone,
		// so a read still comes within the TTL.
		e.dayTotal, e.monthTotal = max(e.dayTotal, day), max(e.monthTotal, month)
		e.adds++
	}
	return nil
}

// get reads key's totals from Redis.
func (s *Spend) get(ctx context.Context, key string, now time.Time) (day, month float64, err error) {
	dayKey, monthKey := s.keys(key, now)
	ctx, cancel := withTimeout(ctx, s.timeout)
	defer cancel()
	vals, err := s.client.MGet(ctx, dayKey, monthKey).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redislimit: Spent: %w; check that Redis is up and reachable", err)
	}
	var totals [2]float64
	for i, v := range vals {
		str, ok := v.(string)
		if !ok { // nil: nothing spent yet
			continue
		}
		if totals[i], err = strconv.ParseFloat(str, 64); err != nil {
			return 0, 0, fmt.Errorf("redislimit: Spent: %s holds %q, not a number: delete it", []string{dayKey, monthKey}[i], str)
		}
	}
	return totals[0], totals[1], nil
}

// keys returns the Redis keys of key's totals for the day and month of now,
// in UTC. The day is the local clock's, not Redis's: a script must name
// the keys it uses in KEYS (Redis Cluster routes by them), and the clocks
// of instances synchronised by NTP differ by milliseconds, which move at
// most a few milliseconds' spend across midnight.
func (s *Spend) keys(key string, now time.Time) (day, month string) {
	now = now.UTC()
	k := escapeKey(key)
	return s.prefix + "spend:day:" + now.Format(time.DateOnly) + ":" + k,
		s.prefix + "spend:month:" + now.Format("2006-01") + ":" + k
}

// minSweepInterval bounds how often sweep scans the cache, however short
// the TTL.
const minSweepInterval = 100 * time.Millisecond

// sweep drops the cache entries that are stale and not being read, at most
// once per TTL (and per minSweepInterval): the cache holds only the keys
// used lately. s.mu is held.
func (s *Spend) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	today := dayOf(now)
	for k, e := range s.cache {
		if e.read == nil && (e.day != today || now.Sub(e.at) >= s.ttl) {
			delete(s.cache, k)
		}
	}
	s.nextSweep = now.Add(max(s.ttl, minSweepInterval))
}

// cacheLen returns the number of keys in the cache, for tests.
func (s *Spend) cacheLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cache)
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// DefaultMaxKeys is Memory's bound on the number of buckets when MaxKeys is
// 0: about 10 MB at most, and far more keys than are active within a minute
// on one instance.
const DefaultMaxKeys = 100_000

// MaxTokens bounds a limit, a request's units and an adjustment; larger
// values are clamped to it. It keeps the bucket's arithmetic within int64.
const MaxTokens = 1 << 36

// unitsPerToken is the resolution of a bucket: a token is this many units,
// the number of microseconds in a minute. A bucket of PerMinute tokens per
// minute then gains exactly PerMinute units per microsecond: refill and
// RetryAfter are exact integer arithmetic, with no drift from rounding.
const unitsPerToken = int64(time.Minute / time.Microsecond)

// sweepInterval is how often Memory drops the buckets that have refilled:
// with limits per minute, a bucket idle for a minute is full again.
const sweepInterval = time.Minute

// errNegative is returned by Allow for a negative n.
var errNegative = errors.New("ratelimit: Allow with a negative n")

// errEachLength is returned by AllowEach when each is not as long as takes.
var errEachLength = errors.New("ratelimit: AllowEach needs one Decision per Take")

// Limit is the rate of one key.
type Limit struct {
	// PerMinute is how many units the key regains per minute, spread evenly
	// (one every 60s/PerMinute). 0 or less means unlimited.
	PerMinute int
	// Burst is how many units the key can hold, hence spend at once after a
	// pause. 0 means PerMinute: a full minute's worth.
	Burst int
}

func (l Limit) burst() int64 {
	if l.Burst > 0 {
		return int64(min(l.Burst, MaxTokens))
	}
	return int64(min(l.PerMinute, MaxTokens))
}

func (l Limit) rate() int64 { return int64(min(l.PerMinute, MaxTokens)) }

// Memory is an in-memory Limiter, Adjuster and MultiLimiter: a token
// bucket per key, whose limit the Limit function gives. A key's bucket
// starts full. Create
// it with NewMemory or as a struct literal; the fields must not change once
// it is in use.
//
// Memory needs no goroutine and no Close. Its memory is bounded: a bucket
// that has refilled is the same as no bucket, so buckets idle long enough
// to be full are dropped (checked once a minute), and beyond MaxKeys an
// arbitrary bucket is dropped to make room, which can let that key spend
// early: set MaxKeys above the number of keys active within a refill
// period.
//
// All keys share one mutex. The work under it is a map lookup and a few
// integer operations, far below the cost of the requests it guards.
//
// Time is read with time.Now, so tests use testing/synctest.
type Memory struct {
	// Limit returns the limit of key. It is called under Memory's lock, on
	// every Allow, AllowAll take and Adjust, so it must be fast and must not
	// call Memory. nil, or a Limit with PerMinute <= 0, means unlimited.
	// When a key's limit changes, its bucket keeps its level, capped at the
	// new Burst.
	Limit func(key string) Limit
	// MaxKeys bounds the number of buckets; 0 means DefaultMaxKeys.
	MaxKeys int

	mu         sync.Mutex
	buckets    map[string]*bucket
	nextSweep  time.Time
	lastForced time.Time // last sweep forced by a full map
}

// NewMemory returns a Memory whose keys have the limits limit returns.
func NewMemory(limit func(key string) Limit) *Memory {
	return &Memory{Limit: limit}
}

var (
	_ Limiter      = (*Memory)(nil)
	_ Adjuster     = (*Memory)(nil)
	_ MultiLimiter = (*Memory)(nil)
	_ EachLimiter  = (*Memory)(nil)
)

// Allow takes n units from key's bucket if it holds at least n, or, when n
// is more than the bucket can ever hold (Burst), if it is full: such a
// request is let through once the key has saved up all it can, and leaves
// its bucket in debt. n == 0 takes nothing and reports whether the key is
// in debt. It never returns an error except for a negative n; ctx is not
// used.
func (m *Memory) Allow(_ context.Context, key string, n int) (Decision, error) {
	if n < 0 {
		return Decision{}, errNegative
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	lim := m.limit(key)
	if lim.rate() <= 0 {
		delete(m.buckets, key)
		return Decision{Allowed: true}, nil
	}
	return m.bucket(key, lim, now, true).allow(n), nil
}

// AllowAll takes every Take's N from its key if each key allows it, by the
// rule of Allow, else takes nothing, all under one lock: see
// [MultiLimiter]. It never returns an error except for a negative N; ctx
// is not used.
func (m *Memory) AllowAll(_ context.Context, takes []Take) (Decision, int, error) {
	return m.allowAll(takes, nil)
}

// AllowEach is AllowAll that also reports every take's key in each: see
// [EachLimiter]. It never returns an error except for a negative N or an
// each of another length than takes; ctx is not used.
func (m *Memory) AllowEach(_ context.Context, takes []Take, each []Decision) (int, error) {
	if len(each) != len(takes) {
		return -1, errEachLength
	}
	_, i, err := m.allowAll(takes, each)
	return i, err
}

// allowAll is AllowAll, filling each when it is not nil.
func (m *Memory) allowAll(takes []Take, each []Decision) (Decision, int, error) {
	for _, t := range takes {
		if t.N < 0 {
			return Decision{}, -1, errNegative
		}
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// undo holds the level of each bucket touched, as of before its takes,
	// to put back if a later take is refused.
	type saved struct {
		b     *bucket
		level int64
	}
	var undo []saved
	all := Decision{Allowed: true}
	for i, t := range takes {
		lim := m.limit(t.Key)
		if lim.rate() <= 0 {
			delete(m.buckets, t.Key)
			continue
		}
		b := m.bucket(t.Key, lim, now, true)
		if !slices.ContainsFunc(undo, func(s saved) bool { return s.b == b }) {
			undo = append(undo, saved{b, b.level})
		}
		d := b.allow(t.N)
		if !d.Allowed {
			for _, s := range undo {
				s.b.level = s.level
			}
			m.report(takes, each, now, false)
			if each != nil {
				each[i].RetryAfter = d.RetryAfter
			}
			return d, i, nil
		}
		all.Remaining, all.Limit, all.Reset = d.Remaining, d.Limit, d.Reset
	}
	m.report(takes, each, now, true)
	return all, -1, nil
}

// report fills each, when not nil, with the state of every take's key at
// now; allowed says whether the takes were taken. It changes no bucket: a
// key not reached before a refused take is read as it would be (refilled,
// then under its current limit) from a copy; a key without a bucket has a
// full one. m.mu is held.
func (m *Memory) report(takes []Take, each []Decision, now time.Time, allowed bool) {
	if each == nil {
		return
	}
	for i, t := range takes {
		d := Decision{Allowed: allowed}
		if lim := m.limit(t.Key); lim.rate() > 0 {
			b := bucket{lim: lim, last: now}
			if cur := m.buckets[t.Key]; cur != nil {
				b = *cur
				b.refill(now)
				if b.lim != lim {
					b.lim = lim
					b.level = min(b.level, b.capacity())
				}
			} else {
				b.level = b.capacity()
			}
			d.Limit, d.Remaining, d.Reset = lim.PerMinute, b.remaining(), b.reset()
		}
		each[i] = d
	}
}

// Adjust takes delta more units from key's bucket (delta > 0), possibly
// leaving it in debt, or gives -delta back (delta < 0), up to its Burst. It
// never returns an error; ctx is not used.
func (m *Memory) Adjust(_ context.Context, key string, delta int) error {
	if delta == 0 {
		return nil
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	lim := m.limit(key)
	if lim.rate() <= 0 {
		delete(m.buckets, key)
		return nil
	}
	// No bucket is a full one: nothing to give back to it.
	b := m.bucket(key, lim, now, delta > 0)
	if b == nil {
		return nil
	}
	if delta > 0 {
		b.take(int64(delta))
	} else {
		refund := int64(MaxTokens)
		if delta > -MaxTokens { // -delta would overflow for math.MinInt
			refund = int64(-delta)
		}
		b.level = min(b.level+refund*unitsPerToken, b.capacity())
	}
	return nil
}

// Len returns the number of buckets held: keys that spent recently.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

func (m *Memory) limit(key string) Limit {
	if m.Limit == nil {
		return Limit{}
	}
	return m.Limit(key)
}

// bucket returns key's bucket brought up to now with limit lim, making a
// full one if there is none and create is set (else it returns nil). It
// also sweeps full buckets when a sweep is due. m.mu is held.
func (m *Memory) bucket(key string, lim Limit, now time.Time, create bool) *bucket {
	if !now.Before(m.nextSweep) {
		m.sweep(now)
	}
	b := m.buckets[key]
	if b == nil {
		if !create {
			return nil
		}
		m.makeRoom(now)
		b = &bucket{lim: lim, last: now}
		b.level = b.capacity()
		if m.buckets == nil {
			m.buckets = make(map[string]*bucket)
		}
		m.buckets[key] = b
		return b
	}
	b.refill(now)
	if b.lim != lim {
		b.lim = lim
		b.level = min(b.level, b.capacity())
	}
	return b
}

// sweep drops every bucket that is full at now. m.mu is held.
func (m *Memory) sweep(now time.Time) {
	for k, b := range m.buckets {
		b.refill(now)
		if b.level >= b.capacity() {
			delete(m.buckets, k)
		}
	}
	m.nextSweep = now.Add(sweepInterval)
}

// makeRoom makes sure one more bucket fits under MaxKeys: by a sweep (at
// most once a second while the map stays full), else by dropping an
// arbitrary bucket. m.mu is held.
func (m *Memory) makeRoom(now time.Time) {
	maxKeys := m.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if len(m.buckets) < maxKeys {
		return
	}
	if now.Sub(m.lastForced) >= time.Second {
		m.lastForced = now
		m.sweep(now)
	}
	for k := range m.buckets { // map order is unspecified: any one will do
		if len(m.buckets) < maxKeys {
			break
		}
		delete(m.buckets, k)
	}
}

// bucket is one key's token bucket, in units (see unitsPerToken).
type bucket struct {
	lim   Limit
	level int64     // may be negative: debt from Adjust or an oversize Allow
	last  time.Time // the time level is as of
}

func (b *bucket) capacity() int64 { return b.lim.burst() * unitsPerToken }

// allow takes n tokens if the bucket holds them, or, when n is more than
// the burst, if it is full, and returns the Decision. The bucket is
// refilled up to now.
func (b *bucket) allow(n int) Decision {
	rate := b.lim.rate()
	need := min(int64(min(n, MaxTokens)), b.lim.burst()) * unitsPerToken
	d := Decision{Limit: b.lim.PerMinute}
	if b.level >= need {
		b.take(int64(n))
		d.Allowed = true
	} else {
		// Exact: after this long, refill has added at least need-level.
		d.RetryAfter = time.Duration((need-b.level+rate-1)/rate) * time.Microsecond
	}
	d.Remaining, d.Reset = b.remaining(), b.reset()
	return d
}

// remaining is the whole tokens the bucket holds; 0 in debt.
func (b *bucket) remaining() int { return int(max(b.level, 0) / unitsPerToken) }

// reset is how long the bucket takes to refill to its capacity, rounded
// up to the microsecond; 0 when it is full.
func (b *bucket) reset() time.Duration {
	missing, rate := b.capacity()-b.level, b.lim.rate()
	if missing <= 0 || rate <= 0 {
		return 0
	}
	return time.Duration((missing+rate-1)/rate) * time.Microsecond
}

// take removes n tokens, bounding the debt so that the level stays far from
// int64's limits.
func (b *bucket) take(n int64) {
	b.level = max(b.level-min(n, MaxTokens)*unitsPerToken, -MaxTokens*unitsPerToken)
}

// refill adds what the time since last brings, up to capacity. Time is
// counted in whole microseconds and last advances by exactly what was
// counted, so nothing is lost between calls.
func (b *bucket) refill(now time.Time) {
	d := now.Sub(b.last)
	if d <= 0 {
		return
	}
	missing, rate := b.capacity()-b.level, b.lim.rate()
	us := int64(d / time.Microsecond)
	if missing <= 0 || us >= (missing+rate-1)/rate {
		b.level, b.last = b.capacity(), now
		return
	}
	b.level += us * rate
	b.last = b.last.Add(time.Duration(us) * time.Microsecond)
}

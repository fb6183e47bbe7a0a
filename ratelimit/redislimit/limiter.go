// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package redislimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/warmgate/warmgate/ratelimit"
)

// DefaultPrefix starts every key when Options.Prefix is "": it names the
// application, so that warmgate's keys are apart from others in a shared
// Redis.
const DefaultPrefix = "warmgate:"

// DefaultTimeout bounds each call when Options.Timeout is 0. A Redis on the
// same network answers in about a millisecond; one that takes 100ms is in
// trouble, and the request it guards should not wait longer to learn it.
const DefaultTimeout = 100 * time.Millisecond

// unitsPerToken is ratelimit's resolution: a token is this many units, the
// number of µs in a minute, so a bucket of PerMinute tokens per minute
// gains PerMinute units per µs.
const unitsPerToken = int64(time.Minute / time.Microsecond)

// maxKeyPart bounds the length of the escaped key in a Redis key name;
// longer keys are hashed.
const maxKeyPart = 128

// errNegative is returned by Allow and AllowAll for a negative n.
var errNegative = errors.New("redislimit: Allow with a negative n")

// errEachLength is returned by AllowEach when each is not as long as takes.
var errEachLength = errors.New("redislimit: AllowEach needs one Decision per Take")

// Options configures a Limiter or a Spend. The zero value is valid.
type Options struct {
	// Prefix starts the name of every Redis key; "" means DefaultPrefix.
	// Limiters with the same Prefix on one Redis share their buckets: that
	// is how gateway instances share a budget, so limits of different kinds
	// (requests and tokens per minute) need different Prefixes, or keys
	// that say their kind. With Redis Cluster, put a hash tag in Prefix
	// ("{warmgate}:"): the keys of one AllowAll, and a Spend's day and month
	// keys, must be in one hash slot.
	Prefix string
	// Timeout bounds each call to Redis, within ctx's own deadline; 0 means
	// DefaultTimeout, a negative value no bound but ctx's. The client
	// applies it to socket reads and writes only with
	// redis.Options.ContextTimeoutEnabled; otherwise its ReadTimeout and
	// WriteTimeout do, and Timeout bounds the rest (pool waits, retries).
	Timeout time.Duration
	// SpendCacheTTL is how long a Spend keeps a key's totals read from
	// Redis before it reads them again; 0 means DefaultSpendCacheTTL, a
	// negative value no cache (a round trip per Spent).
	SpendCacheTTL time.Duration
}

func (o Options) prefix() string {
	if o.Prefix == "" {
		return DefaultPrefix
	}
	return o.Prefix
}

func (o Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Limiter is a ratelimit.Limiter, Adjuster and MultiLimiter whose token
// buckets live in Redis, shared by every Limiter with the same Prefix on
// that Redis: one budget for several gateway instances. Its decisions are
// those of ratelimit.Memory, given the same calls at the same times; the
// package documentation tells how.
//
// Create it with New. It is safe for concurrent use and holds no resources
// of its own: closing the client is the caller's job.
type Limiter struct {
	client  redis.UniversalClient
	limit   func(key string) ratelimit.Limit
	prefix  string
	timeout time.Duration

	// clock, set by this package's tests only, replaces Redis's TIME: it
	// returns µs since the epoch. slack is then added to every TTL, in ms.
	clock func() int64
	slack int64
}

var (
	_ ratelimit.Limiter      = (*Limiter)(nil)
	_ ratelimit.Adjuster     = (*Limiter)(nil)
	_ ratelimit.MultiLimiter = (*Limiter)(nil)
	_ ratelimit.EachLimiter  = (*Limiter)(nil)
)

// New returns a Limiter that keeps its buckets in the Redis of client,
// with the limits that limit returns. limit is called on every Allow,
// AllowAll and Adjust, for every key, so it must be fast; nil, or a Limit
// with PerMinute <= 0, means unlimited: such keys are allowed without a
// call to Redis, so they keep working while Redis is down.
//
// When a key's limit changes, its bucket keeps its level, capped at the
// new Burst, as in ratelimit.Memory, with two differences, both where
// Memory's behaviour depends on when it drops buckets: a full bucket is no
// key, so a key whose Burst is raised while its bucket is full starts full
// at the new Burst (Memory keeps the old level until its sweep, within a
// minute); and the bucket of a key that becomes unlimited stays until its
// TTL (Memory drops it), so a limit removed and restored within that time
// finds the level it left.
func New(client redis.UniversalClient, limit func(key string) ratelimit.Limit, opts Options) *Limiter {
	return &Limiter{client: client, limit: limit, prefix: opts.prefix(), timeout: opts.timeout()}
}

// Allow takes n units from key's bucket if it holds at least n, or, when n
// is more than Burst, if it is full, leaving it in debt: the rule of
// ratelimit.Memory, in one script call (one round trip). It returns an
// error for a negative n, or when Redis could not be asked.
func (l *Limiter) Allow(ctx context.Context, key string, n int) (ratelimit.Decision, error) {
	if n < 0 {
		return ratelimit.Decision{}, errNegative
	}
	lim := l.limitOf(key)
	if rateOf(lim) <= 0 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	d, _, err := l.allow(ctx, []ratelimit.Take{{Key: key, N: n}}, []ratelimit.Limit{lim}, []int{0}, nil)
	return d, err
}

// AllowAll takes every Take's N from its key if each key allows it, by the
// rule of Allow, else takes nothing, atomically, in one script call (one
// round trip whatever the number of takes): see ratelimit.MultiLimiter.
// Unlimited keys are left out of the call; if all are, there is no call.
func (l *Limiter) AllowAll(ctx context.Context, takes []ratelimit.Take) (ratelimit.Decision, int, error) {
	return l.allowAll(ctx, takes, nil)
}

// AllowEach is AllowAll that also reports every take's key in each, from
// the same script call: see ratelimit.EachLimiter. It returns an error for
// a negative N, an each of another length than takes, or when Redis could
// not be asked.
func (l *Limiter) AllowEach(ctx context.Context, takes []ratelimit.Take, each []ratelimit.Decision) (int, error) {
	if len(each) != len(takes) {
		return -1, errEachLength
	}
	_, i, err := l.allowAll(ctx, takes, each)
	return i, err
}

// allowAll is AllowAll, filling each when it is not nil.
func (l *Limiter) allowAll(ctx context.Context, takes []ratelimit.Take, each []ratelimit.Decision) (ratelimit.Decision, int, error) {
	var (
		limited []ratelimit.Take
		lims    []ratelimit.Limit
		index   []int // the index in takes of each of limited
	)
	for i, t := range takes {
		if t.N < 0 {
			return ratelimit.Decision{}, -1, errNegative
		}
		lim := l.limitOf(t.Key)
		if rateOf(lim) <= 0 {
			continue
		}
		limited, lims, index = append(limited, t), append(lims, lim), append(index, i)
	}
	clear(each)
	var all ratelimit.Decision
	refused := -1
	if len(limited) == 0 {
		all = ratelimit.Decision{Allowed: true}
	} else {
		var err error
		if all, refused, err = l.allow(ctx, limited, lims, index, each); err != nil {
			return ratelimit.Decision{}, -1, err
		}
	}
	for i := range each {
		if each[i].Limit == 0 { // an unlimited take: allow did not fill it
			each[i] = ratelimit.Decision{Allowed: refused < 0}
		}
	}
	return all, refused, nil
}

// allow runs allowScript for takes of limited keys, whose limits are lims
// and whose indexes in the caller's slice are index; it fills each (the
// caller's, when not nil) at those indexes.
func (l *Limiter) allow(ctx context.Context, takes []ratelimit.Take, lims []ratelimit.Limit, index []int, each []ratelimit.Decision) (ratelimit.Decision, int, error) {
	keys := make([]string, len(takes))
	args := make([]any, 2, 2+3*len(takes))
	args[0], args[1] = l.clockArgs()
	for i, t := range takes {
		keys[i] = l.bucketKey(t.Key)
		args = append(args, min(int64(t.N), ratelimit.MaxTokens), rateOf(lims[i]), burstOf(lims[i]))
	}
	ctx, cancel := l.context(ctx)
	defer cancel()
	res, err := allowScript.Run(ctx, l.client, keys, args...).Int64Slice()
	if err != nil {
		return ratelimit.Decision{}, -1, fmt.Errorf("redislimit: Allow: %w; check that Redis is up and reachable", err)
	}
	if len(res) != 3+2*len(takes) || res[0] < 0 || res[0] > int64(len(takes)) {
		return ratelimit.Decision{}, -1, fmt.Errorf("redislimit: Allow: unexpected reply %v from the script", res)
	}
	level := res[1]*unitsPerToken + res[2]
	allowed := res[0] == 0
	if each != nil {
		for j := range takes {
			lv := res[3+2*j]*unitsPerToken + res[4+2*j]
			each[index[j]] = ratelimit.Decision{Allowed: allowed, Remaining: remaining(lv), Limit: lims[j].PerMinute, Reset: reset(lv, lims[j])}
		}
	}
	if allowed {
		last := lims[len(lims)-1]
		return ratelimit.Decision{Allowed: true, Remaining: remaining(level), Limit: last.PerMinute, Reset: reset(level, last)}, -1, nil
	}
	i := int(res[0] - 1)
	lim := lims[i]
	rate := rateOf(lim)
	need := min(int64(min(takes[i].N, ratelimit.MaxTokens)), burstOf(lim)) * unitsPerToken
	d := ratelimit.Decision{
		Remaining: remaining(level),
		// Exact: after this long, refill has added at least need-level.
		RetryAfter: time.Duration((need-level+rate-1)/rate) * time.Microsecond,
		Limit:      lim.PerMinute,
		Reset:      reset(level, lim),
	}
	if each != nil {
		each[index[i]].RetryAfter = d.RetryAfter
	}
	return d, index[i], nil
}

// Adjust takes delta more units from key's bucket (delta > 0), possibly
// leaving it in debt, or gives -delta back (delta < 0), up to its Burst, in
// one script call. It returns an error when Redis could not be asked.
func (l *Limiter) Adjust(ctx context.Context, key string, delta int) error {
	if delta == 0 {
		return nil
	}
	lim := l.limitOf(key)
	if rateOf(lim) <= 0 {
		return nil
	}
	n := min(int64(delta), ratelimit.MaxTokens)
	if delta < -ratelimit.MaxTokens { // also keeps -delta from overflowing
		n = -ratelimit.MaxTokens
	}
	now, slack := l.clockArgs()
	ctx, cancel := l.context(ctx)
	defer cancel()
	err := adjustScript.Run(ctx, l.client, []string{l.bucketKey(key)}, now, slack, n, rateOf(lim), burstOf(lim)).Err()
	if err != nil {
		return fmt.Errorf("redislimit: Adjust: %w; check that Redis is up and reachable", err)
	}
	return nil
}

// Ping checks that Redis answers, within Options.Timeout: a readiness
// check.
func (l *Limiter) Ping(ctx context.Context) error {
	ctx, cancel := l.context(ctx)
	defer cancel()
	if err := l.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redislimit: Redis does not answer PING: %w; check that it is up and reachable", err)
	}
	return nil
}

func (l *Limiter) limitOf(key string) ratelimit.Limit {
	if l.limit == nil {
		return ratelimit.Limit{}
	}
	return l.limit(key)
}

// bucketKey returns the Redis key of key's bucket.
func (l *Limiter) bucketKey(key string) string {
	return l.prefix + "rl:" + escapeKey(key)
}

// clockArgs returns the scripts' first two arguments: the time that
// replaces TIME ("" for none) and the TTL slack.
func (l *Limiter) clockArgs() (now any, slack int64) {
	if l.clock == nil {
		return "", 0
	}
	return l.clock(), l.slack
}

func (l *Limiter) context(ctx context.Context) (context.Context, context.CancelFunc) {
	return withTimeout(ctx, l.timeout)
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d < 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// rateOf returns the units a bucket of lim gains per µs: PerMinute,
// clamped as ratelimit.Memory clamps it; 0 or less means unlimited.
func rateOf(lim ratelimit.Limit) int64 {
	return int64(min(lim.PerMinute, ratelimit.MaxTokens))
}

// burstOf returns the tokens a bucket of lim holds, clamped as
// ratelimit.Memory clamps it.
func burstOf(lim ratelimit.Limit) int64 {
	if lim.Burst > 0 {
		return int64(min(lim.Burst, ratelimit.MaxTokens))
	}
	return rateOf(lim)
}

// remaining returns the whole tokens of a level in units; 0 in debt.
func remaining(level int64) int {
	return int(max(level, 0) / unitsPerToken)
}

// reset returns how long a bucket of lim at level (in units) takes to
// refill to its burst, rounded up to the µs; 0 when it is full.
func reset(level int64, lim ratelimit.Limit) time.Duration {
	missing, rate := burstOf(lim)*unitsPerToken-level, rateOf(lim)
	if missing <= 0 || rate <= 0 {
		return 0
	}
	return time.Duration((missing+rate-1)/rate) * time.Microsecond
}

// escapeKey returns key in a form that is safe in a Redis key name and
// distinct for distinct keys: bytes other than ASCII letters, digits, '.',
// '_' and '-' are written %XX (so no ':', '{', '}', space or '%' is left,
// and names stay readable in redis-cli); an escaped key longer than
// maxKeyPart is replaced by '#' and the hex SHA-256 of key, which no
// escaped key starts with.
func escapeKey(key string) string {
	if len(key) <= maxKeyPart && !strings.ContainsFunc(key, func(r rune) bool { return r >= 0x80 || !safeByte(byte(r)) }) {
		return key
	}
	var b strings.Builder
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(key) && b.Len() <= maxKeyPart; i++ {
		if c := key[i]; safeByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	if b.Len() > maxKeyPart {
		sum := sha256.Sum256([]byte(key))
		return "#" + hex.EncodeToString(sum[:])
	}
	return b.String()
}

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

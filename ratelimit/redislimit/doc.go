// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package redislimit keeps ratelimit's token buckets and spend totals in
// Redis, so that several gateway instances share one budget per key. It is
// the only package of warmgate that imports a Redis client (go-redis v9);
// it takes a redis.UniversalClient, so a single server, Sentinel or
// Cluster will do, and never closes it.
//
// # Rate limits
//
// [Limiter] implements ratelimit.Limiter, Adjuster, MultiLimiter and
// EachLimiter with the semantics of ratelimit.Memory, to the unit: the
// same integer token bucket (a token is 60,000,000 units; a bucket of
// PerMinute tokens gains PerMinute units per µs), the same debt, the same
// rule for a request larger than the burst, the same exact RetryAfter,
// Remaining and Reset. Given
// the same calls at the same times, it returns the same Decisions (but for
// two corner cases of changed limits, see [New]); the tests run one table
// of scenarios, and a long random run, against both.
//
// Data model. Each key's bucket is one Redis string,
//
//	<Prefix>rl:<key>  =  "hi lo last rate burst"
//
// where the level is hi tokens plus lo units (Lua's numbers are doubles:
// two parts keep the arithmetic exact), last is the time in µs the level
// is as of, and rate and burst are the limit it was refilled with. <key>
// is the caller's key escaped: ASCII letters, digits, '.', '_' and '-'
// stay, every other byte becomes %XX, and an escaped key longer than 128
// bytes becomes '#' and its SHA-256 in hex. So any key (spaces, colons,
// braces, unicode) maps to its own Redis key and cannot reach another's or
// a Cluster hash tag. A full bucket is no key: each write sets a TTL
// (PEXPIRE, with SET PX) of the time the bucket needs to refill, and a
// bucket that is full is deleted. Redis holds only the buckets of keys
// that spent within their refill time, at about 120 bytes each.
//
// Limiters with the same Prefix share the buckets of equal keys. So that
// requests per minute and tokens per minute of one client do not share a
// bucket, either give each kind of limit its own Prefix, or (better) use
// one Limiter whose keys name their kind, "rpm:team-a" and "tpm:team-a",
// and check both with one AllowAll: one round trip per request.
//
// Atomicity and round trips. Every Allow, AllowAll, AllowEach and Adjust is one Lua
// script call: EVALSHA, or EVAL when Redis does not know the script yet
// (after a restart or SCRIPT FLUSH), which go-redis's Script.Run does. A
// script runs atomically, so concurrent callers on any number of
// instances cannot both take the last token, and an AllowAll of any
// number of takes is one round trip that takes from all its keys or from
// none. With Redis Cluster, the keys of one AllowAll must be in one hash
// slot: put a hash tag in Options.Prefix, such as "{warmgate}:".
//
// Clock. The scripts read the time with Redis's TIME, never the caller's
// clock: instances whose clocks disagree still agree on every bucket,
// because one clock (the Redis server's) dates every refill. If that clock
// steps back (a failover to a replica whose clock is behind), buckets
// simply do not refill until it catches up, as in Memory.
//
// Exactness across instances. The buckets are exact: with rpm 100, 100
// requests pass per minute in total, however they are spread over
// instances and however many race. What is not shared is the limit: each
// instance passes its own Limit to the script, so instances must be
// configured alike (a changed limit applies from each instance's first
// call with it). go-redis may retry a script call whose reply was lost,
// which can take twice: a rare overcount, never an undercount.
//
// # Spend budgets
//
// [Spend] implements ratelimit.Spender: for each key, a day total and a
// month total, floats added with INCRBYFLOAT:
//
//	<Prefix>spend:day:2006-01-02:<key>   TTL 48h
//	<Prefix>spend:month:2006-01:<key>    TTL 32 days
//
// AddSpend adds to both in one script call and renews their TTLs; Spent
// reads both with one MGET, through a local cache of Options.SpendCacheTTL
// (default 1s). The UTC day and month are those of the local clock, not
// Redis's (see [Spend] for why, and how exact budgets are across
// instances).
//
// # Failures
//
// Every method returns an error when Redis cannot answer, within
// Options.Timeout (default 100ms) if the client's own timeouts allow it;
// the caller decides whether to fail open or closed. Nothing needs
// rebuilding after Redis comes back: go-redis reconnects by itself, and
// Script.Run reloads the scripts. Unlimited keys never call Redis, so they
// keep working while it is down.
package redislimit

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package ratelimit limits how fast each key (a client, a team, an API key
// name) may spend a budget: requests per minute, tokens per minute.
//
// [Limiter] is the one-method interface the gateway calls before it sends a
// request upstream. [Memory] is the single-instance implementation: one
// token bucket per key, in memory, with bounded size. A shared implementation
// (Redis) satisfies the same interfaces, so that several gateway instances
// share one budget.
//
// Token limits (TPM) cannot be known before the answer: the caller reserves
// an estimate with Allow and, when the real usage is known, corrects it with
// [Adjuster.Adjust] (a refund when the estimate was too high, an extra charge
// that may leave the bucket in debt when it was too low).
//
// [MultiLimiter] checks several keys at once, all or nothing (a request
// counts against its API key and its team, say): one round trip for a
// shared store. [EachLimiter] does too, and reports every key's state
// (Remaining, Reset), for rate-limit headers.
//
// [Spender] keeps money budgets: what each key spent in the current UTC day
// and month. [MemorySpend] is its single-instance implementation.
package ratelimit

import (
	"context"
	"time"
)

// Limiter decides whether key may spend n units (1 for a request, an
// estimate for tokens) now. Allow takes the units when it allows them.
//
// An error means the limiter could not decide (a store was unreachable); the
// Decision is then meaningless and the caller chooses to fail open or
// closed. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, n int) (Decision, error)
}

// Adjuster corrects what an earlier Allow took from key: a positive delta
// takes that many more units (even past zero: the key is then in debt and
// refused until the debt is refilled), a negative one gives units back, up
// to the bucket's capacity. It is how token limits reconcile an estimate
// with the real usage.
type Adjuster interface {
	Adjust(ctx context.Context, key string, delta int) error
}

// Take is one part of an AllowAll: N units from Key.
type Take struct {
	Key string
	N   int
}

// MultiLimiter takes from several keys at once, all or nothing: one round
// trip for a shared store.
type MultiLimiter interface {
	// AllowAll takes every Take's N from its key if each key allows it
	// (the same rule as Allow), else takes nothing. The takes are judged in
	// order, as if by one Allow each, so two takes from one key add up.
	//
	// It returns the Decision of the first Take that was refused and its
	// index, or, when all were allowed, a Decision with Allowed true (with
	// the Remaining and Limit of the last take whose key is limited) and
	// index -1. With an error, the index is -1 and nothing was taken.
	AllowAll(ctx context.Context, takes []Take) (Decision, int, error)
}

// EachLimiter is a MultiLimiter that also reports the state of every
// take's key, not only the refused one's, in the same call (one round trip
// for a shared store): what rate-limit response headers, such as OpenAI's
// x-ratelimit-remaining-requests and -tokens, need.
type EachLimiter interface {
	MultiLimiter
	// AllowEach is AllowAll that also fills each[i] with the state of
	// takes[i]'s key as the call left it: its Limit, Remaining and Reset
	// (after every take when all were allowed; unchanged when one was
	// refused, as nothing was taken). Allowed is set as for the whole call,
	// RetryAfter on the refused take only. each must be as long as takes.
	// It returns the index of the refused take, or -1.
	AllowEach(ctx context.Context, takes []Take, each []Decision) (int, error)
}

// Spender keeps the money each key spent in the current UTC day and month:
// the store behind daily and monthly budgets. The caller checks Spent
// before a request and adds the request's cost with AddSpend after it, so
// concurrent requests can together overshoot a budget by what they cost.
//
// An error means the store could not be read or written; the caller
// chooses to fail open or closed. Implementations are safe for concurrent
// use.
type Spender interface {
	// Spent returns what key spent in the current UTC day and month.
	Spent(ctx context.Context, key string) (day, month float64, err error)
	// AddSpend adds amount to what key spent in the current UTC day and
	// month. A negative amount (a correction) takes it back.
	AddSpend(ctx context.Context, key string, amount float64) error
}

// Decision is the outcome of one Allow.
type Decision struct {
	// Allowed reports whether the units were taken.
	Allowed bool
	// Remaining is how many whole units the key has left after this
	// decision (0 when it is in debt).
	Remaining int
	// RetryAfter is, when not Allowed, how long until the same request would
	// be allowed if nothing else spends from the key meanwhile; 0 when
	// Allowed.
	RetryAfter time.Duration
	// Limit is the key's limit per minute; 0 means the key is unlimited
	// (and Remaining means nothing).
	Limit int
	// Reset is how long until the key's bucket is full again (back to
	// its initial state) if nothing more is spent from it; 0 when it is
	// full, or the key is unlimited.
	Reset time.Duration
}

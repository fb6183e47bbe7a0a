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
}

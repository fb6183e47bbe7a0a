// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what went wrong with an attempt. The gateway maps kinds to HTTP
// statuses in one place; retry decisions are made from kinds, never strings.
type Kind int

// Kinds of attempt failure.
const (
	KindUnknown       Kind = iota
	KindDial               // TCP connect failed (nothing was sent)
	KindDNS                // the host name did not resolve
	KindTLS                // TLS handshake or certificate verification failed
	KindPoolExhausted      // no connection became free within PoolWait
	KindStaleConn          // the upstream provably did not run the request: it refused it, or a connection that waited idle died before the request was written or right after it (twice the dial time, 100ms to 1s)
	KindConnReset          // the connection failed before an answer; once the request was written the upstream may have run it
	KindHeaderTimeout      // no response headers within FirstByte
	KindStreamIdle         // the body went silent longer than StreamIdle
	KindNoUpstream         // no upstream was available to try: circuits open, or cooling down after a 429
	KindTruncated          // the body ended early
	KindCanceled           // the caller canceled or its deadline passed
)

var kindNames = [...]string{"unknown", "dial", "dns", "tls", "pool_exhausted", "stale_conn",
	"conn_reset", "header_timeout", "stream_idle", "no_upstream", "truncated", "canceled"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Sentinel errors, matched with errors.Is against an *Error.
var (
	ErrNoUpstream      = errors.New("upstream: no upstream available")
	ErrPoolExhausted   = errors.New("upstream: connection pool exhausted")
	ErrStreamIdle      = errors.New("upstream: stream idle timeout")
	ErrHeaderTimeout   = errors.New("upstream: timed out waiting for response headers")
	ErrStreamTruncated = errors.New("upstream: stream truncated")
)

// Error is the error returned by Pool.Do and by reads of a response body
// when the upstream, not the caller, failed. An answer with an error status
// is not an Error: Do returns it as a response, after its retries.
type Error struct {
	Kind     Kind
	Upstream string // name of the upstream of the last attempt; "" for KindNoUpstream
	// Attempt is the 1-based number of the attempt that failed; for
	// KindNoUpstream, of the attempt that could not be made (1: none was).
	Attempt int
	// RetryAfter, for KindNoUpstream, is how long until an upstream may be
	// tried again: the first circuit to let a probe through, or the first
	// 429 cooldown to end; 0 when that is not known (no upstream at all).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Kind == KindNoUpstream {
		return "no upstream available: every upstream that serves this request failed recently (circuit open) or is cooling down after a 429; try again shortly"
	}
	msg := "upstream " + e.Upstream + ": "
	switch e.Kind {
	case KindPoolExhausted:
		msg += "no free connection within the pool wait (raise pool.max_conns or timeouts.pool_wait)"
	case KindHeaderTimeout:
		msg += "no response headers within timeouts.first_byte"
	case KindStreamIdle:
		msg += "stream went silent longer than timeouts.stream_idle"
	default:
		msg += e.Kind.String()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the package's sentinels by kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNoUpstream:
		return e.Kind == KindNoUpstream
	case ErrPoolExhausted:
		return e.Kind == KindPoolExhausted
	case ErrStreamIdle:
		return e.Kind == KindStreamIdle
	case ErrHeaderTimeout:
		return e.Kind == KindHeaderTimeout
	case ErrStreamTruncated:
		return e.Kind == KindTruncated
	}
	return false
}

// ErrRedirectElsewhere is returned (wrapped) by Pool.Do for a redirect
// follow-up aimed at a host that is neither one of the pool's upstreams nor
// the host of the request that was redirected: the pool would otherwise send
// it to its own upstream, with the upstream's credentials. Pool.Client does
// not follow such redirects: the caller gets the 3xx response instead.
var ErrRedirectElsewhere = errors.New("upstream: a redirect to another host is not followed through the pool")

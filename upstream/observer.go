// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"time"
)

// Observer receives what happens in the pool, for metrics and tracing. It
// is called on the request path, so implementations must be fast and must
// not block. The Prometheus implementation lives in internal/metrics; the
// library imports no metrics package.
type Observer interface {
	// Attempt is called once per attempt when its outcome is known: at
	// response headers for a success, or at failure.
	Attempt(AttemptInfo)
	// Retry is called when a failed attempt is followed by another.
	Retry(upstream string, reason RetryReason)
	// BodyDone is called when a successful response's body ends.
	BodyDone(BodyInfo)
}

// AttemptInfo describes one attempt.
type AttemptInfo struct {
	Upstream string
	Attempt  int  // 1-based
	Kind     Kind // KindUnknown on success (any status)
	Status   int  // 0 when no response
	Reused   bool // the connection was reused
	NewConn  bool // a connection was dialed for this attempt
	Proto    string
	DNS      time.Duration // zero when not done for this attempt
	Connect  time.Duration
	TLS      time.Duration
	PoolWait time.Duration // time from asking for a connection to getting one
	// Exhausted is true when the attempt gave up waiting for a connection.
	Exhausted bool
	FirstByte time.Duration // request start to response headers
	// Start is when the attempt began, before it asked for a connection;
	// Start+FirstByte is when its response headers came (or it failed).
	Start time.Time
	// Warm is true for the pool's own warm-up requests (Prewarm, keep-warm,
	// Pool.Warm): their connections and handshakes are real, but they are
	// no caller's request.
	Warm bool
	// Context is the context of the request given to Pool.Do, so that an
	// Observer can relate the attempt to its request: the tracer reads the
	// request's span from it. Observers read it during the call and do not
	// keep it. Nil in an AttemptInfo not made by a Pool.
	Context context.Context
}

// BodyInfo describes the end of a response body.
type BodyInfo struct {
	Upstream string
	Bytes    int64
	Duration time.Duration // response headers to end of body
	Err      error         // nil at a clean end or a close by the caller
}

// NopObserver ignores everything.
type NopObserver struct{}

// Attempt implements Observer.
func (NopObserver) Attempt(AttemptInfo) {}

// Retry implements Observer.
func (NopObserver) Retry(string, RetryReason) {}

// BodyDone implements Observer.
func (NopObserver) BodyDone(BodyInfo) {}

// Observers returns an Observer that passes every event to each of obs, in
// order: metrics and the dashboard, say. Nil entries are skipped. With no
// observer left it returns NopObserver{}, with one it returns that one.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return NopObserver{}
	case 1:
		return list[0]
	}
	return list
}

// multiObserver fans events out to several observers.
type multiObserver []Observer

// Attempt implements Observer.
func (m multiObserver) Attempt(a AttemptInfo) {
	for _, o := range m {
		o.Attempt(a)
	}
}

// Retry implements Observer.
func (m multiObserver) Retry(upstream string, reason RetryReason) {
	for _, o := range m {
		o.Retry(upstream, reason)
	}
}

// BodyDone implements Observer.
func (m multiObserver) BodyDone(b BodyInfo) {
	for _, o := range m {
		o.BodyDone(b)
	}
}

// warmObserver reports the pool's warm-up attempts to an Observer, marked
// Warm; their bodies are the pool's own, so BodyDone is not reported.
type warmObserver struct{ Observer }

// Attempt implements Observer.
func (w warmObserver) Attempt(a AttemptInfo) {
	a.Warm = true
	w.Observer.Attempt(a)
}

// BodyDone implements Observer.
func (warmObserver) BodyDone(BodyInfo) {}

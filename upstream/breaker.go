// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerSettings configure an upstream's circuit breaker: after enough
// failures the upstream is skipped for OpenTimeout, then one probe request
// decides whether it is healthy again. Zero values take the defaults.
type BreakerSettings struct {
	// ConsecutiveFailures opens the circuit. Default 5: one bad minute of a
	// busy upstream, not one unlucky request.
	ConsecutiveFailures int
	// FailureRatio opens the circuit when at least MinRequests were seen in
	// Window and this share of them failed. Default 0.5.
	FailureRatio float64
	// MinRequests is the sample needed before FailureRatio applies.
	// Default 20.
	MinRequests int
	// Window is the rolling window of FailureRatio. Default 60s.
	Window time.Duration
	// OpenTimeout is how long an open circuit skips the upstream before a
	// probe. Default 30s.
	OpenTimeout time.Duration
	// Disable turns the breaker off: the upstream is always tried.
	Disable bool
}

func (b *BreakerSettings) applyDefaults() {
	if b.ConsecutiveFailures <= 0 {
		b.ConsecutiveFailures = 5
	}
	if b.FailureRatio <= 0 || b.FailureRatio > 1 {
		b.FailureRatio = 0.5
	}
	if b.MinRequests <= 0 {
		b.MinRequests = 20
	}
	if b.Window <= 0 {
		b.Window = 60 * time.Second
	}
	if b.OpenTimeout <= 0 {
		b.OpenTimeout = 30 * time.Second
	}
}

// CircuitState is a breaker's state, as in warmgate_upstream_circuit_state.
type CircuitState int

// Circuit states.
const (
	CircuitClosed   CircuitState = 0 // requests flow
	CircuitHalfOpen CircuitState = 1 // one probe request is allowed
	CircuitOpen     CircuitState = 2 // the upstream is skipped
)

func (s CircuitState) String() string {
	return [...]string{"closed", "half-open", "open"}[s]
}

// outcome is what an attempt reports to its upstream's breaker.
type outcome int

const (
	outcomeOK       outcome = iota // the upstream answered well
	outcomeFault                   // the upstream failed
	outcomeExcluded                // says nothing of the upstream's health
)

// The errors the breaker is told, by outcome.
var (
	errUpstreamFault = errors.New("upstream fault")
	errExcluded      = errors.New("excluded from the breaker's counts")
)

// newBreaker makes an upstream's breaker; openUntil gets, each time the
// circuit opens, when it will let a probe through (unix nanos), which
// gobreaker does not tell.
func newBreaker(name string, s BreakerSettings, openUntil *atomic.Int64) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	if s.Disable {
		return nil
	}
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1, // one probe in half-open
		Interval:     s.Window,
		BucketPeriod: s.Window / 10, // rolling window
		Timeout:      s.OpenTimeout,
		IsExcluded:   func(err error) bool { return err == errExcluded },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				// Read after gobreaker's own clock: never before its expiry.
				openUntil.Store(time.Now().Add(s.OpenTimeout).UnixNano())
			}
		},
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if int(c.ConsecutiveFailures) >= s.ConsecutiveFailures {
				return true
			}
			return int(c.Requests) >= s.MinRequests &&
				float64(c.TotalFailures) >= s.FailureRatio*float64(c.Requests)
		},
	})
}

// circuit returns the breaker's state; closed when there is no breaker.
func (u *Upstream) circuit() CircuitState {
	if u.cb == nil {
		return CircuitClosed
	}
	switch u.cb.State() {
	case gobreaker.StateOpen:
		return CircuitOpen
	case gobreaker.StateHalfOpen:
		return CircuitHalfOpen
	}
	return CircuitClosed
}

// Available reports whether the upstream may be tried now: its circuit is
// not open and it is not cooling down after a 429.
func (u *Upstream) Available() bool {
	if time.Now().UnixNano() < u.cooldownUntil.Load() {
		return false
	}
	return u.circuit() != CircuitOpen
}

// probeAfterHalfOpen is how long an upstream whose half-open circuit has
// its one probe out is reported to need (retryIn): the probe's answer
// decides, and it is usually quick.
const probeAfterHalfOpen = time.Second

// retryIn is how long from now until u may be tried again: 0 if it may now,
// else until its circuit lets a probe through or its 429 cooldown ends,
// whichever is later.
func (u *Upstream) retryIn(now time.Time) time.Duration {
	var d time.Duration
	if cu := u.cooldownUntil.Load(); cu > now.UnixNano() {
		d = time.Duration(cu - now.UnixNano())
	}
	switch u.circuit() {
	case CircuitOpen:
		if ou := u.openUntil.Load(); ou > now.UnixNano() {
			d = max(d, time.Duration(ou-now.UnixNano()))
		}
	case CircuitHalfOpen:
		if u.cb.Counts().Requests > 0 { // the probe is out
			d = max(d, probeAfterHalfOpen)
		}
	}
	return d
}

// coolDown skips the upstream until d from now (a 429's Retry-After).
// CoolDown makes the pool avoid u for d, as after a 429 with Retry-After:
// other upstreams serving the same model take its traffic, and u is tried
// only when none can. A longer cooldown already in effect stays. The
// gateway uses it for an upstream that another instance found dead.
func (u *Upstream) CoolDown(d time.Duration) { u.coolDown(d) }

func (u *Upstream) coolDown(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := u.cooldownUntil.Load()
		if cur >= until || u.cooldownUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// allow asks the breaker for permission to send an attempt; done reports
// its outcome, exactly once. ok is false while the circuit is open or its
// half-open probe is already out.
func (u *Upstream) allow() (done func(outcome), ok bool) {
	if u.cb == nil {
		return func(outcome) {}, true
	}
	d, err := u.cb.Allow()
	if err != nil {
		return nil, false
	}
	return func(o outcome) {
		switch o {
		case outcomeFault:
			d(errUpstreamFault)
		case outcomeExcluded:
			d(errExcluded)
		default:
			d(nil)
		}
	}, true
}

// outcomeOf says whether an attempt's result counts for or against the
// upstream: connection failures, timeouts, broken bodies and 5xx count
// against it; the caller's cancel, our own full pool, a stale keep-alive
// connection, 4xx and 429 (handled by a cooldown) say nothing of its health.
func outcomeOf(kind Kind, status int) outcome {
	switch kind {
	case KindDial, KindDNS, KindTLS, KindConnReset, KindHeaderTimeout, KindStreamIdle, KindTruncated:
		return outcomeFault
	case KindUnknown:
		switch {
		case status >= 500:
			return outcomeFault
		case status >= 400:
			return outcomeExcluded
		}
		return outcomeOK
	}
	return outcomeExcluded
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RetryReason says why an attempt was retried. The names are the values of
// the reason label of warmgate_upstream_retries_total.
type RetryReason int

// Retry reasons.
const (
	ReasonStaleConn RetryReason = iota // the connection died before the upstream could run the request (KindStaleConn), or after with a replayable request
	ReasonConnect                      // dial, DNS, TLS or pool wait failed: nothing was sent
	ReasonStatus429                    // the upstream rate-limited us
	ReasonStatus5xx                    // the upstream answered 500/502/503/504, or Anthropic's 529
	ReasonTimeout                      // no response headers within FirstByte
	numRetryReasons
)

func (r RetryReason) String() string {
	return [...]string{"stale_conn", "connect", "status_429", "status_5xx", "timeout"}[r]
}

// RetryReasons lists every RetryReason, for declaring a series per reason
// before the first retry.
func RetryReasons() []RetryReason {
	r := make([]RetryReason, numRetryReasons)
	for i := range r {
		r[i] = RetryReason(i)
	}
	return r
}

// Causes set on an attempt's context by its timers, so that classify can
// tell a timer from the caller's cancel.
var (
	errPoolWait   = errors.New("pool wait elapsed")
	errFirstByte  = errors.New("first byte timeout")
	errStreamIdle = errors.New("stream idle timeout")
	errPoolClosed = errors.New("upstream: pool closed")
)

// failure is what an attempt knew when its transport failed: the facts
// classify needs to tell a connection that was dead before the request
// reached the upstream from one that failed while the upstream may have
// been running it.
type failure struct {
	// cause is what cut the attempt's context (a timer's error, or the
	// caller's cancel); nil when nothing did.
	cause error
	// waited says the connection was open before the attempt asked for one
	// (reused, or dialed earlier and left idle), so the server may have
	// closed it while it was idle.
	waited       bool
	gotFirstByte bool
	// wrote says the whole request was written; afterWrite is the time from
	// the end of that write to the failure.
	wrote      bool
	afterWrite time.Duration
	// window is the connection's staleWindow.
	window time.Duration
}

// Bounds of staleWindow.
const (
	minStaleWindow = 100 * time.Millisecond
	maxStaleWindow = time.Second
)

// staleWindow is how soon after a request was written a failure still
// proves that the server dropped the connection without running the
// request: a server that closed an idle connection as the request went out
// has its FIN or RST reach us about one round trip after the write. It is
// twice the time the connection took to dial (about one round trip), at
// least minStaleWindow (for timer and scheduling slop) and at most
// maxStaleWindow. A failure later than that may come from an upstream that
// worked on the request: it is KindConnReset.
func staleWindow(dial time.Duration) time.Duration {
	return min(max(2*dial, minStaleWindow), maxStaleWindow)
}

// classify turns a transport error into a Kind. It is the only place where
// an error's text is looked at, and only for errors the stdlib does not type.
//
// KindStaleConn means the upstream provably did not run the request, so it
// may be sent again whatever its method: the server refused it unprocessed
// (refusedUnprocessed), or the connection had waited idle (f.waited) and
// failed before the request was fully written or within f.window after.
// A connection that fails later, or that was dialed for this attempt, may
// have carried the request to an upstream that ran it: KindConnReset.
func classify(err error, f failure) Kind {
	switch {
	case errors.Is(f.cause, errPoolWait):
		return KindPoolExhausted
	case errors.Is(f.cause, errFirstByte):
		return KindHeaderTimeout
	case errors.Is(f.cause, errStreamIdle):
		return KindStreamIdle
	case f.cause != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return KindDNS
	}
	var (
		certErr   *tls.CertificateVerificationError
		recErr    tls.RecordHeaderError
		alertErr  tls.AlertError
		hostErr   x509.HostnameError
		authErr   x509.UnknownAuthorityError
		invalidEr x509.CertificateInvalidError
	)
	// A TLS failure once the request was written is a broken connection,
	// not a failed handshake: the upstream may have run the request.
	if !f.wrote && (errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &alertErr) ||
		errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invalidEr) ||
		strings.Contains(err.Error(), "TLS handshake timeout")) { // untyped in net/http
		return KindTLS
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return KindDial
	}
	switch {
	case f.gotFirstByte:
		return KindConnReset
	case refusedUnprocessed(err):
		return KindStaleConn
	case f.waited && (!f.wrote || f.afterWrite <= f.window):
		return KindStaleConn
	}
	return KindConnReset
}

// idleDrop reports whether a KindStaleConn failure shows the server
// dropping a connection that had waited idle: the evidence the upstream's
// idle timeout is learned from. A refused stream says nothing of idleness.
func idleDrop(err error, f failure) bool {
	return f.waited && !strings.Contains(err.Error(), "REFUSED_STREAM")
}

// refusedUnprocessed reports whether err says the server did not process
// the request. net/http's errors for these are untyped:
//   - "http: server closed idle connection": an HTTP/1.1 connection closed
//     by the server before the request was handed to it;
//   - REFUSED_STREAM: an HTTP/2 server refused the stream (RFC 9113 8.7);
//   - net/http's "graceful shutdown GOAWAY" error: an HTTP/2 GOAWAY whose
//     last stream id is below ours.
//
// net/http retries the last two itself, a few times, before they reach us.
func refusedUnprocessed(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server closed idle connection") ||
		strings.Contains(msg, "REFUSED_STREAM") ||
		strings.Contains(msg, "received Server's graceful shutdown GOAWAY")
}

// retryable reports whether an attempt that failed with kind may be sent
// again, and why. wrote says whether the request was written; replayable
// whether it may be run twice (a safe method, an Idempotency-Key, or
// RetryPolicy.AssumeIdempotent).
func retryable(kind Kind, wrote, replayable bool) (RetryReason, bool) {
	switch kind {
	case KindDial, KindDNS, KindTLS, KindPoolExhausted:
		return ReasonConnect, true
	case KindStaleConn:
		return ReasonStaleConn, true
	case KindHeaderTimeout:
		return ReasonTimeout, true
	case KindConnReset:
		if !wrote {
			return ReasonConnect, true
		}
		return ReasonStaleConn, replayable
	}
	return 0, false
}

// statusOverloaded is the status of Anthropic's overloaded_error: the API is
// over capacity for everyone, not rate-limiting this key. It is retried
// and counted against the upstream like a 503.
const statusOverloaded = 529

// retryableStatus reports whether an upstream status may be retried.
func retryableStatus(code int) (RetryReason, bool) {
	switch code {
	case http.StatusTooManyRequests:
		return ReasonStatus429, true
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, statusOverloaded:
		return ReasonStatus5xx, true
	}
	return 0, false
}

// backoff returns a full-jitter wait before retry number n (1-based):
// uniform in [0, min(max, base*2^(n-1))].
func backoff(p *RetryPolicy, n int) time.Duration {
	ceil := p.Base
	for i := 1; i < n && ceil < p.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.Max)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// parseRetryAfter reads a Retry-After header in seconds or HTTP-date form
// (and OpenAI's retry-after-ms). ok is false when absent or invalid.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if ms := h.Get("Retry-After-Ms"); ms != "" {
		if f, err := strconv.ParseFloat(ms, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > 1<<31 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// budget caps retries at a fraction of requests over a sliding window, so a
// failing upstream sees at most (1+ratio)× its normal load, not attempts×.
type budget struct {
	ratio float64
	floor int // retries always allowed per window, so low traffic can retry

	mu      sync.Mutex
	buckets [10]struct{ sec, reqs, retries int64 }
}

const budgetWindow = 10 // seconds; one bucket per second

func (b *budget) bucket(now time.Time) *struct{ sec, reqs, retries int64 } {
	sec := now.Unix()
	bk := &b.buckets[sec%budgetWindow]
	if bk.sec != sec {
		bk.sec, bk.reqs, bk.retries = sec, 0, 0
	}
	return bk
}

// request records one request.
func (b *budget) request(now time.Time) {
	b.mu.Lock()
	b.bucket(now).reqs++
	b.mu.Unlock()
}

// allow reports whether one more retry fits, and records it if so.
func (b *budget) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	var reqs, retries int64
	sec := now.Unix()
	for i := range b.buckets {
		if bk := &b.buckets[i]; sec-bk.sec < budgetWindow {
			reqs += bk.reqs
			retries += bk.retries
		}
	}
	if float64(retries) >= b.ratio*float64(reqs)+float64(b.floor) {
		return false
	}
	b.bucket(now).retries++
	return true
}

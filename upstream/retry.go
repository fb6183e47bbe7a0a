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
	ReasonStaleConn RetryReason = iota // a connection that waited idle (reused, or dialed earlier) died before answering
	ReasonConnect                      // dial, DNS, TLS or pool wait failed: nothing was sent
	ReasonStatus429                    // the upstream rate-limited us
	ReasonStatus5xx                    // the upstream answered 500/502/503/504
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
	errNoDemand   = errors.New("upstream: dial not needed: no request waits for a connection")
)

// classify turns a transport error into a Kind. It is the only place where
// an error's text is looked at, and only for errors the stdlib does not type.
// waited says the connection was open before the attempt asked for one
// (reused, or dialed earlier and left idle): a failure on it before any
// response byte is a connection the server dropped while it was idle.
func classify(err error, cause error, waited, gotFirstByte bool) Kind {
	switch {
	case errors.Is(cause, errPoolWait):
		return KindPoolExhausted
	case errors.Is(cause, errFirstByte):
		return KindHeaderTimeout
	case errors.Is(cause, errStreamIdle):
		return KindStreamIdle
	case cause != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
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
	if errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &alertErr) ||
		errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invalidEr) ||
		strings.Contains(err.Error(), "TLS handshake timeout") { // untyped in net/http
		return KindTLS
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return KindDial
	}
	if waited && !gotFirstByte {
		return KindStaleConn
	}
	return KindConnReset
}

// retryable reports whether an attempt that failed with kind may be sent
// again, and why. wrote says whether request bytes reached the wire;
// replayable whether the method is safe to repeat after being processed.
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

// retryableStatus reports whether an upstream status may be retried.
func retryableStatus(code int) (RetryReason, bool) {
	switch code {
	case http.StatusTooManyRequests:
		return ReasonStatus429, true
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
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

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config describes one upstream: a base URL with its credentials and the
// tuning of its connection pool. The zero value of every tuning field takes
// the default documented on it; Name and BaseURL are required.
type Config struct {
	// Name identifies the upstream in stats, metrics and logs.
	Name string
	// BaseURL is the API root, e.g. "https://api.openai.com/v1". A request
	// path such as "/chat/completions" is appended to it. Its query and
	// fragment are dropped, and a user:password in it is not sent (put
	// credentials in Header); Stats shows it without them.
	BaseURL string
	// Header is set on every attempt (e.g. Authorization). It is never logged.
	Header http.Header
	// Prepare, if set, is called on every attempt's outgoing request, after
	// its URL (BaseURL plus the request's path) and headers (the caller's,
	// then Header) are set and before it is sent: the hook of an upstream
	// that needs more than fixed headers, such as a header default the
	// caller may override, a URL of its own, or a signature (fresh on every
	// attempt). It may replace headers (Set, Del: the values may be shared
	// with the caller's request) and the URL; it must not read Body
	// (GetBody gives a copy). An error fails the attempt, not retried
	// (KindUnknown); it must not hold secrets. Default nil: none.
	Prepare func(*http.Request) error
	// Weight scales this upstream's share among equals. Default 1.
	Weight int
	// Priority orders failover tiers: lower is tried first. Default 0.
	Priority int

	// MaxConns caps connections to this upstream (HTTP/1.1 and HTTP/2
	// alike) for generations (chat, completions, responses). Short calls
	// (embeddings, models, ...) get their own reserve of MaxConns/8 (at
	// least 2) on a separate pool, so streams filling the pool never make
	// them wait. Default 0: unlimited, as AI calls are long and a low cap
	// turns into queueing; set it to protect a small self-hosted server.
	MaxConns int
	// MaxIdle caps idle connections kept for reuse. Default: MaxConns, or 256
	// when MaxConns is unlimited. The stdlib default of 2 is the most common
	// cause of handshake storms in gateways.
	MaxIdle int
	// IdleTimeout closes a connection idle this long. Default 90s, below the
	// 120s-350s that providers' load balancers use; it is lowered further
	// when the server advertises a shorter Keep-Alive timeout.
	IdleTimeout time.Duration
	// Prewarm is the number of connections opened at start and kept warm
	// while the upstream is idle. Default 0.
	Prewarm int
	// DisableHTTP2 forces HTTP/1.1. By default HTTP/2 is negotiated by ALPN
	// over TLS (plain http:// upstreams always use HTTP/1.1).
	DisableHTTP2 bool
	// MaxStreamsPerConn caps the requests one HTTP/2 connection carries at
	// once: past it the pool opens another connection rather than pile
	// more streams on a busy one. Default 80, a fifth under the 100
	// streams providers usually allow (SETTINGS_MAX_CONCURRENT_STREAMS), so
	// that a connection is never at the server's limit, where a new stream
	// waits or is refused. A server allowing fewer still gets no more than
	// it allows (the pool opens another connection then). With MaxConns set
	// the hard cap wins: streams per connection are then bounded by the
	// server's limit only.
	MaxStreamsPerConn int
	// MaxConnAge, when set, retires connections older than this (with up to
	// 10% jitter) once they are idle. Default 0: no limit.
	MaxConnAge time.Duration

	// Timeouts bounds each phase of an attempt.
	Timeouts Timeouts
	// Retry is the retry policy.
	Retry RetryPolicy
	// Breaker configures the circuit breaker.
	Breaker BreakerSettings
	// TLS configures certificate verification. Nil uses the system roots.
	TLS *tls.Config
	// DialContext, when set, opens the pool's connections instead of a TCP
	// dial to BaseURL's host (TLS, when BaseURL is https, still runs over
	// what it returns). Use it to reach an upstream on a unix socket
	// (BaseURL then names any host, such as "http://localhost", and the
	// function dials the socket whatever addr it is given), or to dial
	// through a custom dialer. Timeouts.Connect bounds it through ctx;
	// Timeouts.KeepAlive does not apply to its connections. A proxy from
	// the environment (HTTPS_PROXY and the like) is dialed with it too.
	// Default nil: a TCP dial with keep-alive probes.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// proxy, when set, replaces the proxy from the environment (tests: the
	// environment's is read once per process and skips loopback).
	proxy func(*http.Request) (*url.URL, error)
}

// Timeouts bounds each phase of an attempt separately, so that a slow
// generation is not confused with a dead network.
type Timeouts struct {
	// Connect bounds the TCP connect. Default 10s: long enough for a slow
	// path, short enough to fail over.
	Connect time.Duration
	// TLS bounds the TLS handshake. Default 10s (the stdlib's value).
	TLS time.Duration
	// FirstByte bounds the wait for response headers after the request was
	// sent (for streams: the first token). Default 120s: model latency varies.
	FirstByte time.Duration
	// StreamIdle is the longest silence allowed between two reads of a
	// response body. Default 60s.
	StreamIdle time.Duration
	// PoolWait bounds the wait for a connection when MaxConns are all busy.
	// Default 30s. Past it the attempt fails with KindPoolExhausted.
	PoolWait time.Duration
	// KeepAlive is the TCP keep-alive probe interval. Default 30s, so that
	// NATs dropping idle flows after 350s never see a silent connection.
	KeepAlive time.Duration
	// H2PingInterval is how long an HTTP/2 connection may be silent before
	// it is sent a PING. Default 15s.
	H2PingInterval time.Duration
	// H2PingTimeout is how long a PING may go unanswered before the
	// connection is closed and its requests fail. Default 10s: a dead
	// connection is replaced within 25s, not the OS's 15 minutes.
	H2PingTimeout time.Duration
}

// RetryPolicy bounds retries so that they cannot turn into a storm.
type RetryPolicy struct {
	// Attempts is the total number of attempts, first included. Default 3.
	Attempts int
	// Base is the first backoff ceiling; it doubles per retry. Default 250ms.
	Base time.Duration
	// Max caps the backoff. Default 8s.
	Max time.Duration
	// Budget caps retries at this fraction of requests over a sliding
	// window of 10s (plus a floor of 10 retries per window). Default 0.2.
	Budget float64
	// MaxRetryAfter is the longest Retry-After honoured. Default 30s.
	MaxRetryAfter time.Duration
	// AssumeIdempotent resends a request whose connection failed after it
	// was sent and before any answer, as if it carried an Idempotency-Key.
	// Such an upstream may have run the request: sent again, it runs (and
	// bills) twice. Default false: only a request with an Idempotency-Key
	// header or a safe method (GET, HEAD, OPTIONS, TRACE) is resent then. A
	// request the upstream provably did not run is resent either way (see
	// KindStaleConn). Set it for an upstream where running a request twice
	// costs nothing that matters, such as a self-hosted model.
	AssumeIdempotent bool
}

func (c *Config) applyDefaults() {
	if c.Weight <= 0 {
		c.Weight = 1 // equal share unless told otherwise
	}
	if c.MaxIdle <= 0 {
		c.MaxIdle = c.MaxConns // every connection may be kept warm
		if c.MaxIdle <= 0 {
			// stdlib's 2 makes every burst re-handshake; 64 still churned
			// under bursts of a few hundred requests (bench suite, open
			// loop), and an idle connection costs far less than a handshake.
			c.MaxIdle = 256
		}
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 90 * time.Second // stdlib default, under common LB idle timeouts
	}
	if c.MaxStreamsPerConn <= 0 {
		c.MaxStreamsPerConn = 80 // see MaxStreamsPerConn
	}
	t := &c.Timeouts
	if t.Connect <= 0 {
		t.Connect = 10 * time.Second
	}
	if t.TLS <= 0 {
		t.TLS = 10 * time.Second
	}
	if t.FirstByte <= 0 {
		t.FirstByte = 120 * time.Second
	}
	if t.StreamIdle <= 0 {
		t.StreamIdle = 60 * time.Second
	}
	if t.PoolWait <= 0 {
		t.PoolWait = 30 * time.Second
	}
	if t.KeepAlive <= 0 {
		t.KeepAlive = 30 * time.Second
	}
	if t.H2PingInterval <= 0 {
		t.H2PingInterval = 15 * time.Second
	}
	if t.H2PingTimeout <= 0 {
		t.H2PingTimeout = 10 * time.Second
	}
	c.Breaker.applyDefaults()
	r := &c.Retry
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.Base <= 0 {
		r.Base = 250 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 8 * time.Second
	}
	if r.Budget <= 0 {
		r.Budget = 0.2
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 30 * time.Second
	}
}

// parseBase validates BaseURL and returns it without a trailing slash.
func parseBase(c *Config) (*url.URL, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("upstream: config has no Name")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		// Not %w: url.Error's text holds the URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("upstream %q: invalid BaseURL: %v", c.Name, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: BaseURL %q must be an absolute http:// or https:// URL", c.Name, redacted(u))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// WithDefaults returns c with every zero setting replaced by its default, as
// New applies them: what a pool built from c will actually use.
func (c Config) WithDefaults() Config {
	c.applyDefaults()
	return c
}

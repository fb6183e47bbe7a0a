// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for the zero Options, each with its reason.
const (
	// DefaultPath is cheap on every OpenAI-compatible API, and answers
	// (even 401 without a key) without touching a model.
	DefaultPath = "/models"
	// DefaultSamples gives a stable p50 and a usable p90 in a few seconds
	// against a distant endpoint.
	DefaultSamples = 10
	// DefaultIdleMax is above every client default the recommendations
	// compare with (Go's 90s is the longest), so "no idle timeout found"
	// means no client default can race the server.
	DefaultIdleMax = 2 * time.Minute
	// DefaultMaxRequests catches the common per-connection caps (nginx's
	// keepalive_requests was 100 before 1.19.10; many proxies use 100)
	// while staying a light load: a few seconds of small GETs.
	DefaultMaxRequests = 200
	// DefaultDialTimeout and DefaultTLSHandshakeTimeout bound a dead or
	// black-holed endpoint; the stdlib uses 30s and 10s.
	DefaultDialTimeout         = 10 * time.Second
	DefaultTLSHandshakeTimeout = 10 * time.Second
	// DefaultRequestTimeout bounds each request, connection included.
	DefaultRequestTimeout = 30 * time.Second
)

// minIdleGap is the shortest idle gap worth measuring: below it a server
// effectively does not keep connections alive for a client that pauses at
// all, and timers on both sides are no longer precise.
const minIdleGap = 100 * time.Millisecond

// Options configure a probe. Only URL is required; every zero value takes
// the default named after it.
type Options struct {
	// URL is the endpoint's base URL, e.g. "https://api.openai.com/v1";
	// http:// works too (no TLS fields then).
	URL string
	// Path is appended to URL for every request; "" means DefaultPath.
	Path string
	// APIKey, if set, is sent as "Authorization: Bearer APIKey". It never
	// appears in the Report.
	APIKey string
	// Header is set on every request, after APIKey's Authorization: an
	// API's own credentials and version headers (Anthropic's x-api-key and
	// anthropic-version: see internal/provider's ProbeHeader). It never
	// appears in the Report.
	Header http.Header
	// Prepare, if set, is called on every request after its headers are
	// set: a kind whose requests are signed one by one (kind bedrock: see
	// internal/provider's Prepare) signs it there, and may map its URL.
	// Its errors end the probe.
	Prepare func(*http.Request) error
	// Samples is the number of requests on new connections, and again on
	// one reused connection; 0 means DefaultSamples.
	Samples int
	// IdleMax is the longest idle gap tested; 0 means DefaultIdleMax and a
	// negative value skips the idle timeout search.
	IdleMax time.Duration
	// MaxRequests is the most requests sent on one connection to find a
	// per-connection cap; 0 means DefaultMaxRequests and a negative value
	// skips that test.
	MaxRequests int
	// RootCAs are the CAs trusted; nil means the system roots (which honour
	// SSL_CERT_FILE and SSL_CERT_DIR).
	RootCAs *x509.CertPool
	// HTTP1 probes as an HTTP/1.1 client even when the server offers h2
	// (what Python's httpx and Node's https module speak by default).
	HTTP1 bool
	// Resolver resolves the host; nil means net.DefaultResolver.
	Resolver *net.Resolver
	// DialTimeout, TLSHandshakeTimeout and RequestTimeout bound one
	// connection's phases and one request; 0 means the Default… constants.
	DialTimeout         time.Duration
	TLSHandshakeTimeout time.Duration
	RequestTimeout      time.Duration
	// Progress, if set, is told how the probe advances. It is called from
	// Run's goroutine only, and should return quickly.
	Progress func(Progress)
}

// Progress is one step of a running probe, for a progress bar.
type Progress struct {
	// Phase is "cold", "resumption", "warm", "max-requests" or "idle".
	Phase string
	// Detail says what is being measured now, for humans.
	Detail string
	// Done and Total count requests, or for "idle" milliseconds; Total
	// may grow as the search narrows.
	Done, Total int64
}

// prober is one Run: the options with defaults applied, and the parsed URL.
type prober struct {
	o        Options
	target   string // URL + Path
	hostPort string // host:port, with the scheme's default port
	https    bool
	connIDs  atomic.Int64 // numbers every connection dialled in this run
}

func newProber(o Options) (*prober, error) {
	if o.URL == "" {
		return nil, errors.New("probe: no URL")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("probe: invalid URL %q: %w", o.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("probe: URL %q: the scheme must be http or https", o.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("probe: URL %q has no host", o.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("probe: URL %q: put credentials in the key, not the URL", u.Redacted())
	}
	setDefault(&o.Path, DefaultPath)
	setDefault(&o.Samples, DefaultSamples)
	setDefault(&o.IdleMax, DefaultIdleMax)
	setDefault(&o.MaxRequests, DefaultMaxRequests)
	setDefault(&o.DialTimeout, DefaultDialTimeout)
	setDefault(&o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	setDefault(&o.RequestTimeout, DefaultRequestTimeout)
	if o.Samples < 0 {
		return nil, fmt.Errorf("probe: samples must be at least 1, got %d", o.Samples)
	}
	if o.IdleMax > 0 && o.IdleMax < minIdleGap {
		return nil, fmt.Errorf("probe: idle-max must be at least %v, got %v", minIdleGap, o.IdleMax)
	}

	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	query := u.RawQuery // kept after the path: some gateways take api-version=…
	u.RawQuery, u.Fragment = "", ""
	target := strings.TrimRight(u.String(), "/") + "/" + strings.TrimLeft(o.Path, "/")
	if query != "" {
		target += "?" + query
	}
	return &prober{
		o:        o,
		target:   target,
		hostPort: net.JoinHostPort(u.Hostname(), port),
		https:    u.Scheme == "https",
	}, nil
}

func setDefault[T time.Duration | int | string](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Run probes the endpoint and returns what it measured. A request that
// fails outright (the first one, typically, when the endpoint cannot be
// reached) ends it with an *Error naming the phase; a connection that the
// server closed is a measurement, not an error. It returns ctx's error when
// ctx ends, and leaves no connection or goroutine behind.
func Run(ctx context.Context, o Options) (*Report, error) {
	p, err := newProber(o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &Report{URL: p.target, Addr: p.hostPort}

	if err := p.cost(ctx, r); err != nil {
		return nil, err
	}
	if p.o.MaxRequests > 0 && r.KeepAlive {
		if err := p.maxRequests(ctx, r); err != nil {
			return nil, err
		}
	}
	r.Idle.Max = max(p.o.IdleMax, 0)
	switch {
	case p.o.IdleMax < 0:
		r.Idle.Skipped = "turned off"
	case !r.KeepAlive:
		r.Idle.Skipped = "the server does not keep connections alive"
	default:
		if err := p.idle(ctx, r); err != nil {
			return nil, err
		}
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func (p *prober) progress(pr Progress) {
	if p.o.Progress != nil {
		p.o.Progress(pr)
	}
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

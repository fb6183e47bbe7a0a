// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Pool sends requests to a set of upstreams with retries and failover. It
// is safe for concurrent use. A Pool is also an http.RoundTripper; note
// that, unlike http.Transport, it interprets status codes: 429 and 5xx
// answers are retried (within the policy) before one is returned.
type Pool struct {
	ups    []*Upstream
	shared *shared
}

// shared is the state every view of a Pool (see Only) has in common.
type shared struct {
	all       []*Upstream
	obs       Observer
	budget    budget
	maxReplay int64
	closeOnce sync.Once
}

// Option configures New.
type Option func(*shared)

// WithObserver sends pool events to o (metrics, tracing).
func WithObserver(o Observer) Option { return func(s *shared) { s.obs = o } }

// WithMaxReplayBody bounds how much of a request body without GetBody is
// buffered so that it can be replayed. Default 32 MiB.
func WithMaxReplayBody(n int64) Option { return func(s *shared) { s.maxReplay = n } }

// New builds a Pool over the upstreams described by cfgs.
func New(cfgs []Config, opts ...Option) (*Pool, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("upstream: New needs at least one Config")
	}
	s := &shared{obs: NopObserver{}, maxReplay: 32 << 20}
	for _, o := range opts {
		o(s)
	}
	seen := make(map[string]bool, len(cfgs))
	for _, c := range cfgs {
		if seen[c.Name] {
			return nil, fmt.Errorf("upstream: two upstreams are named %q; names must be unique", c.Name)
		}
		seen[c.Name] = true
		u, err := newUpstream(c)
		if err != nil {
			return nil, err
		}
		s.all = append(s.all, u)
	}
	s.budget = budget{ratio: s.all[0].cfg.Retry.Budget, floor: 10}
	for _, u := range s.all {
		u.obs = s.obs
		u.startKeeper()
	}
	return &Pool{ups: s.all, shared: s}, nil
}

// Only returns a view of the pool limited to the named upstreams, in the
// given order. The view shares connections, counters and the retry budget
// with p. Unknown names are ignored; an empty view fails every request with
// KindNoUpstream.
func (p *Pool) Only(names ...string) *Pool {
	v := &Pool{shared: p.shared}
	for _, n := range names {
		for _, u := range p.shared.all {
			if u.cfg.Name == n {
				v.ups = append(v.ups, u)
			}
		}
	}
	return v
}

// Upstreams returns the upstreams of this view.
func (p *Pool) Upstreams() []*Upstream { return p.ups }

// Stats returns a snapshot of every upstream of this view.
func (p *Pool) Stats() []Stats {
	out := make([]Stats, len(p.ups))
	for i, u := range p.ups {
		out[i] = u.Stats()
	}
	return out
}

// Client returns an *http.Client that sends through the pool. It has no
// overall Timeout, which would cut long streams: bound requests with a
// context deadline instead.
//
// It follows a redirect (up to 10) only when the target stays with the
// pool: on the host of the request that was redirected, or under one of the
// pool's upstreams' base URLs. A redirect to another host is not followed:
// the caller gets the 3xx response, Location included, and decides. The
// pool sends every request to its own upstreams with their credentials
// (Config.Header), so following it would replay the request onto the
// upstream rather than reach the other host; sending it to the other host
// would hand that host a request meant for the upstream.
func (p *Pool) Client() *http.Client {
	return &http.Client{Transport: p, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("upstream: stopped after 10 redirects")
		}
		if !p.redirectStays(req.URL, via[len(via)-1].URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// redirectStays reports whether a redirect to "to", from a request aimed at
// "from", stays with the pool: on from's host, or under the base URL of one
// of the view's upstreams.
func (p *Pool) redirectStays(to, from *url.URL) bool {
	if to.Host == "" || from != nil && strings.EqualFold(to.Host, from.Host) {
		return true
	}
	for _, u := range p.ups {
		if strings.EqualFold(u.base.Host, to.Host) && underPath(to.Path, u.base.Path) {
			return true
		}
	}
	return false
}

// requestURL is the URL of the request that got resp, nil if unknown.
func requestURL(resp *http.Response) *url.URL {
	if resp.Request == nil {
		return nil
	}
	return resp.Request.URL
}

// underPath reports whether path is base or below it, segment-wise.
func underPath(path, base string) bool {
	rest, ok := strings.CutPrefix(path, base)
	return ok && (rest == "" || rest[0] == '/' || base == "")
}

// RoundTrip implements http.RoundTripper by calling Do. See Do for
// redirects to other hosts.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) { return p.Do(req) }

// Close stops the pool's background work and closes idle connections of
// every upstream. Requests in flight finish normally; their connections
// close when they end. Close the root pool, not a view made by Only.
func (p *Pool) Close() error {
	p.shared.closeOnce.Do(func() {
		for _, u := range p.shared.all {
			u.close()
		}
	})
	return nil
}

// Do sends req to one of the pool's upstreams, retrying and failing over
// as the retry policy allows. req's URL may be absolute (an SDK built it
// against one upstream's base URL) or just a path relative to the base URL
// ("/chat/completions"); a relative path's escaped form (URL.RawPath) and
// query are kept. On success the response is the upstream's, any
// status included, with a body that enforces StreamIdle; read errors from
// it are *Error values. On failure the error is an *Error.
//
// A redirect follow-up made by an http.Client (req.Response set) whose
// target is neither on the host of the redirected request nor under one of
// the pool's upstreams fails with ErrRedirectElsewhere, unsent: the pool
// would send it to its upstream, not to the host named.
func (p *Pool) Do(req *http.Request) (*http.Response, error) {
	if req.Response != nil && !p.redirectStays(req.URL, requestURL(req.Response)) {
		return nil, fmt.Errorf("%w: the upstream redirected to %s://%s; the pool sends only to its upstreams (Pool.Client returns such a redirect to the caller)",
			ErrRedirectElsewhere, req.URL.Scheme, req.URL.Host)
	}
	ctx := req.Context()
	req, err := p.replayable(req)
	if err != nil {
		return nil, err
	}
	rel := p.relPath(req.URL)
	cls := classOf(rel)
	idempotent := isReplayable(req)
	p.shared.budget.request(time.Now())

	var tried, blocked []*Upstream
	attempts := 0  // set from the first upstream's policy
	fresh := false // the previous attempt, to u, found a stale connection
	u := p.pick(nil, nil)
	for n := 1; ; {
		if u == nil {
			return nil, &Error{Kind: KindNoUpstream, Attempt: n, Err: ErrNoUpstream, RetryAfter: p.retryIn()}
		}
		if attempts == 0 {
			attempts = u.cfg.Retry.Attempts
		}
		tried = append(tried, u)
		done, ok := u.allow()
		if !ok { // open circuit, or its one probe is out: not an attempt
			blocked = append(blocked, u)
			u = p.pick(tried, blocked)
			continue
		}
		resp, a, err := u.attempt(req, rel, cls, n, fresh, p.shared.obs, done)

		// Decide whether the outcome is final, and why not if it is not.
		var reason RetryReason
		var retryAfter time.Duration
		if err == nil {
			r, ok := retryableStatus(resp.StatusCode)
			if !ok || n >= attempts {
				return resp, nil
			}
			reason = r
			retryAfter, _ = parseRetryAfter(resp.Header, time.Now())
			if r == ReasonStatus429 && retryAfter > 0 {
				u.coolDown(retryAfter) // other upstreams take its traffic meanwhile
			}
		} else {
			r, ok := retryable(err.Kind, a.finalWrote, idempotent || u.cfg.Retry.AssumeIdempotent)
			if !ok || n >= attempts || ctx.Err() != nil {
				return nil, err
			}
			reason = r
		}
		next := p.pick(tried, blocked)
		var wait time.Duration
		switch {
		case next == nil:
			return result(resp, err)
		case next != u || reason == ReasonStaleConn:
			wait = 0 // another upstream, or a fresh connection: no reason to wait
		case retryAfter > u.cfg.Retry.MaxRetryAfter || exceedsDeadline(ctx, retryAfter):
			return resp, nil // the upstream asked for longer than we may wait: pass its answer on
		default:
			wait = max(backoff(&u.cfg.Retry, n), retryAfter)
		}
		if exceedsDeadline(ctx, wait) || !p.shared.budget.allow(time.Now()) {
			return result(resp, err)
		}
		if resp != nil {
			drain(resp.Body)
		}
		u.stats.retries[reason].Add(1)
		p.shared.obs.Retry(u.cfg.Name, reason)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, &Error{Kind: KindCanceled, Upstream: u.cfg.Name, Attempt: n, Err: ctx.Err()}
			case <-t.C:
			}
		}
		fresh = next == u && reason == ReasonStaleConn
		u, n = next, n+1
	}
}

// result returns an attempt's outcome as Do's: the response, or the error.
func result(resp *http.Response, err *Error) (*http.Response, error) {
	if resp != nil {
		return resp, nil
	}
	return nil, err
}

// exceedsDeadline reports whether waiting d would pass ctx's deadline.
func exceedsDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// drain reads a little of a body being discarded so that its HTTP/1.1
// connection can be reused, then closes it.
func drain(b io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, b, 64<<10)
	_ = b.Close()
}

// pick chooses the next upstream, in order of preference: one not yet
// tried and available (circuit not open, not cooling down after a 429) and
// not marked slow (see markSlow); one tried already but available and not
// slow (a retry); the same two with slow ones allowed; one cooling down but
// with its circuit not open, since the retry waits for its Retry-After
// anyway. Among the candidates it takes the lowest Priority tier, then the
// better of two distinct weighted random choices by in-flight requests per
// weight (P2C), which spreads load by weight without herding onto the
// momentarily least-loaded one. It returns nil when no upstream may be
// tried. Upstreams in blocked (their breaker said no during this request)
// are never picked.
func (p *Pool) pick(tried, blocked []*Upstream) *Upstream {
	now := time.Now().UnixNano()
	rules := [...]func(u *Upstream) bool{
		func(u *Upstream) bool { return !contains(tried, u) && u.Available() && !u.slow(now) },
		func(u *Upstream) bool { return u.Available() && !u.slow(now) },
		func(u *Upstream) bool { return !contains(tried, u) && u.Available() },
		func(u *Upstream) bool { return u.Available() },
		func(u *Upstream) bool { return u.circuit() != CircuitOpen },
	}
	var best []*Upstream
	for _, ok := range rules {
		tier := 0
		for _, u := range p.ups {
			if !ok(u) || contains(blocked, u) {
				continue
			}
			switch {
			case len(best) == 0 || u.cfg.Priority < tier:
				best, tier = append(best[:0], u), u.cfg.Priority
			case u.cfg.Priority == tier:
				best = append(best, u)
			}
		}
		if len(best) > 0 {
			break
		}
	}
	if len(best) == 0 {
		return nil
	}
	return p2c(best, rand.IntN)
}

// p2c is the power of two choices: it draws two distinct candidates, each
// with probability proportional to its Weight, and returns the one with
// fewer requests in flight per weight. Two draws with replacement would
// pick the same upstream half the time with two candidates, sending it
// traffic however busy it is. intn is rand.IntN, or a test's.
func p2c(ups []*Upstream, intn func(int) int) *Upstream {
	if len(ups) == 1 {
		return ups[0]
	}
	a := weighted(ups, nil, intn)
	b := weighted(ups, a, intn)
	if b.score() < a.score() {
		return b
	}
	return a // on a tie (e.g. both idle) the weighted draw decides
}

// retryIn is how long until one of the view's upstreams may be tried
// again (Error.RetryAfter of KindNoUpstream); 0 when none says.
func (p *Pool) retryIn() time.Duration {
	now := time.Now()
	var d time.Duration
	for _, u := range p.ups {
		if r := u.retryIn(now); r > 0 && (d == 0 || r < d) {
			d = r
		}
	}
	return d
}

// weighted draws one upstream other than skip with probability
// proportional to its Weight.
func weighted(ups []*Upstream, skip *Upstream, intn func(int) int) *Upstream {
	total := 0
	for _, u := range ups {
		if u != skip {
			total += u.cfg.Weight
		}
	}
	r := intn(total)
	var last *Upstream
	for _, u := range ups {
		if u == skip {
			continue
		}
		if r -= u.cfg.Weight; r < 0 {
			return u
		}
		last = u
	}
	return last
}

func contains(s []*Upstream, u *Upstream) bool {
	for _, x := range s {
		if x == u {
			return true
		}
	}
	return false
}

// relPath returns the request path relative to an upstream base URL: an
// absolute URL aimed at one of the pool's upstreams loses that base path.
func (p *Pool) relPath(u *url.URL) string {
	if u.Host != "" {
		for _, up := range p.shared.all {
			if up.base.Host == u.Host && strings.HasPrefix(u.Path, up.base.Path) {
				return u.Path[len(up.base.Path):]
			}
		}
	}
	return u.Path
}

// replayable makes sure the request body can be sent again: it buffers a
// body that has no GetBody (bounded by maxReplay) into a shallow copy.
func (p *Pool) replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(io.LimitReader(req.Body, p.shared.maxReplay+1))
	if err != nil {
		return nil, fmt.Errorf("upstream: reading request body: %w", err)
	}
	if int64(len(b)) > p.shared.maxReplay {
		return nil, fmt.Errorf("upstream: request body over %d bytes cannot be buffered for retries", p.shared.maxReplay)
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r2.ContentLength = int64(len(b))
	return r2, nil
}

// isReplayable reports whether a request may be repeated after the
// upstream may have processed it: safe methods, or an Idempotency-Key (or
// X-Idempotency-Key) header, as net/http judges it.
func isReplayable(r *http.Request) bool {
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	if _, ok := r.Header["Idempotency-Key"]; ok {
		return true
	}
	_, ok := r.Header["X-Idempotency-Key"]
	return ok
}

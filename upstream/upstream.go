// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"net/url"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Upstream is one endpoint with its own connections and counters. It is
// created by New and shared by every Pool view of it.
type Upstream struct {
	cfg     Config
	obs     Observer // the pool's, for warm-up attempts
	base    *url.URL
	shown   string // base without its credentials, for Stats
	classes [numClasses]*class

	inflight atomic.Int64
	stats    counters
	keep     keeper

	cb            *gobreaker.TwoStepCircuitBreaker[struct{}] // nil when disabled
	cooldownUntil atomic.Int64                               // unix nanos; skipped until then (429)
	slowUntil     atomic.Int64                               // unix nanos; avoided until then (see markSlow)
	slowMarks     atomic.Int64                               // slow marks since the last answer
	openUntil     atomic.Int64                               // unix nanos; when the open circuit lets a probe through
}

// counters are the live numbers behind Stats. All are atomics so that the
// hot path never takes a lock to count.
type counters struct {
	opened, closed, open, active atomic.Int64
	openedH1, openedH2           atomic.Int64
	reused                       atomic.Int64
	requests, failures           atomic.Int64
	retries                      [numRetryReasons]atomic.Int64
	poolWaits, poolExhausted     atomic.Int64
	poolWaitNanos                atomic.Int64
	expired, serverClosedIdle    atomic.Int64
	warmStatus                   atomic.Int64
	dns, connect, tls            phase
}

// phase accumulates handshake phase durations.
type phase struct{ count, nanos atomic.Int64 }

func (p *phase) add(d time.Duration) {
	p.count.Add(1)
	p.nanos.Add(int64(d))
}

func (p *phase) avg() time.Duration {
	n := p.count.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(p.nanos.Load() / n)
}

func newUpstream(c Config) (*Upstream, error) {
	c.applyDefaults()
	base, err := parseBase(&c)
	if err != nil {
		return nil, err
	}
	u := &Upstream{cfg: c, obs: NopObserver{}, base: base, shown: redacted(base)}
	u.cb = newBreaker(c.Name, c.Breaker, &u.openUntil)
	u.classes[classLong] = newClass(u, c.MaxConns)
	u.classes[classShort] = newClass(u, shortConns(c.MaxConns))
	return u, nil
}

// Name is the upstream's configured name.
func (u *Upstream) Name() string { return u.cfg.Name }

// Stats is a point-in-time copy of one upstream's connection and request
// counters. Counters are totals since start; Open, Active, Idle and InFlight
// are current values.
type Stats struct {
	Name string `json:"name"`
	// BaseURL is the upstream's base URL with its userinfo, if any,
	// redacted: a password, or a user name alone (some APIs take the key
	// as the user name), reads "xxxxx".
	BaseURL string `json:"base_url"`

	Opened   int64 `json:"connections_opened"`    // new TCP connections dialed
	OpenedH1 int64 `json:"connections_opened_h1"` // of which first used for HTTP/1.1
	OpenedH2 int64 `json:"connections_opened_h2"` // of which first used for HTTP/2
	Closed   int64 `json:"connections_closed"`
	Reused   int64 `json:"connections_reused"` // requests that got an existing connection
	Open     int64 `json:"connections_open"`
	Active   int64 `json:"connections_active"` // open connections serving a request
	Idle     int64 `json:"connections_idle"`   // open connections with nothing to do

	InFlight int64            `json:"in_flight"`
	Requests int64            `json:"requests"` // attempts sent
	Failures int64            `json:"failures"` // attempts that failed
	Retries  map[string]int64 `json:"retries"`  // by reason

	PoolWaits     int64         `json:"pool_waits"` // attempts that waited for a connection
	PoolWaitAvg   time.Duration `json:"pool_wait_avg_ns"`
	PoolExhausted int64         `json:"pool_exhausted"`

	DNSAvg     time.Duration `json:"dns_avg_ns"`
	ConnectAvg time.Duration `json:"connect_avg_ns"`
	TLSAvg     time.Duration `json:"tls_avg_ns"`
	TLSCount   int64         `json:"tls_handshakes"`

	// IdleTimeout is the idle timeout in effect: the configured one, or
	// less once the server showed or said a shorter one.
	IdleTimeout time.Duration `json:"idle_timeout_ns"`
	// LearnedIdleTimeout is the server's idle timeout as learned from
	// Keep-Alive headers, idle connections it closed, or stale reuses; 0
	// until something was learned.
	LearnedIdleTimeout time.Duration `json:"learned_idle_timeout_ns"`
	// Expired counts idle connections closed by the pool before the server
	// could (idle timeout in effect or MaxConnAge).
	Expired int64 `json:"connections_expired"`
	// ServerClosedIdle counts idle connections the server closed.
	ServerClosedIdle int64 `json:"server_closed_idle"`

	// Circuit is the breaker's state: closed, half-open or open.
	Circuit CircuitState `json:"circuit_state"`
	// CooldownUntil is when a 429 cooldown ends; zero when none.
	CooldownUntil time.Time `json:"cooldown_until,omitzero"`
	// SlowUntil is when the upstream stops being avoided after an attempt
	// waited far past its usual time to first byte, unless it answers
	// sooner; zero when it is not.
	SlowUntil time.Time `json:"slow_until,omitzero"`

	// WarmStatus is the HTTP status of the last warm-up request (GET
	// <base>/models); 0 until one was answered. A 404 there usually means
	// a wrong base path.
	WarmStatus int `json:"warm_status,omitempty"`
}

// Stats returns a copy of the upstream's counters.
func (u *Upstream) Stats() Stats {
	c := &u.stats
	s := Stats{
		Name:          u.cfg.Name,
		BaseURL:       u.shown,
		Opened:        c.opened.Load(),
		OpenedH1:      c.openedH1.Load(),
		OpenedH2:      c.openedH2.Load(),
		Closed:        c.closed.Load(),
		Reused:        c.reused.Load(),
		Open:          c.open.Load(),
		Active:        c.active.Load(),
		InFlight:      u.inflight.Load(),
		Requests:      c.requests.Load(),
		Failures:      c.failures.Load(),
		Retries:       make(map[string]int64, numRetryReasons),
		PoolWaits:     c.poolWaits.Load(),
		PoolExhausted: c.poolExhausted.Load(),
		DNSAvg:        c.dns.avg(),
		ConnectAvg:    c.connect.avg(),
		TLSAvg:        c.tls.avg(),
		TLSCount:      c.tls.count.Load(),
		IdleTimeout:   u.idleTimeout(),

		Expired:          c.expired.Load(),
		ServerClosedIdle: c.serverClosedIdle.Load(),
		WarmStatus:       int(c.warmStatus.Load()),
	}
	s.Circuit = u.circuit()
	if cu := u.cooldownUntil.Load(); cu > time.Now().UnixNano() {
		s.CooldownUntil = time.Unix(0, cu)
	}
	if su := u.slowUntil.Load(); su > time.Now().UnixNano() {
		s.SlowUntil = time.Unix(0, su)
	}
	u.keep.learnedM.Lock()
	s.LearnedIdleTimeout = u.keep.learned
	u.keep.learnedM.Unlock()
	if s.PoolWaits > 0 {
		s.PoolWaitAvg = time.Duration(c.poolWaitNanos.Load() / s.PoolWaits)
	}
	s.Idle = max(s.Open-s.Active, 0)
	for r := RetryReason(0); r < numRetryReasons; r++ {
		s.Retries[r.String()] = c.retries[r].Load()
	}
	return s
}

// redacted is u as shown in stats and errors: credentials in its userinfo
// replaced by "xxxxx".
func redacted(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	if _, ok := u.User.Password(); ok {
		c.User = url.UserPassword(u.User.Username(), "xxxxx")
	} else {
		c.User = url.User("xxxxx")
	}
	return c.String()
}

// score is the load-aware selection key: requests in flight per unit of
// weight. Lower is better.
func (u *Upstream) score() float64 {
	return float64(u.inflight.Load()) / float64(u.cfg.Weight)
}

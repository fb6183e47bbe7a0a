// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"math"
	"strconv"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// Snapshot is the JSON of GET /api/pools: everything the page draws.
type Snapshot struct {
	Time time.Time `json:"time"`
	// WindowSeconds is how many seconds the per-second series cover when
	// the gateway has run that long.
	WindowSeconds int        `json:"window_seconds"`
	Gateway       Gateway    `json:"gateway"`
	Upstreams     []Upstream `json:"upstreams"`
	Keys          KeyUsage   `json:"keys"`
	// Answers are what API clients got, by status class, the gateway's
	// own refusals included (answers.go).
	Answers Answers `json:"answers"`
}

// Gateway are the totals over every upstream since the gateway started.
type Gateway struct {
	// Version is the gateway's build: version, commit and Go version, as
	// `warmgate version` prints them.
	Version       string    `json:"version"`
	Started       time.Time `json:"started"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	// Requests counts requests relayed to an upstream (first attempts);
	// requests the gateway answered itself (401, 404, ...) are not in it.
	Requests uint64 `json:"requests"`
	// Attempts counts attempts, retries and failovers included.
	Attempts uint64 `json:"attempts"`
	// Errors counts failed attempts, error answers (4xx, 5xx) and response
	// bodies that broke.
	Errors            uint64  `json:"errors"`
	Retries           uint64  `json:"retries"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	// RequestsSeries and ErrorsSeries are per second, oldest first, ending
	// with the last complete second (as Upstream.Window).
	RequestsSeries []uint32 `json:"requests_series"`
	ErrorsSeries   []uint32 `json:"errors_series"`
}

// Upstream is one upstream: the pool's live Stats (connections open,
// active and idle, opened and reused since start, idle timeouts, pool
// exhausted, ...; the fields of upstream.Stats, flattened) and what the
// dashboard saw of its traffic.
type Upstream struct {
	upstream.Stats
	// Protocol is the protocol of its connections: "h2", "http/1.1", both
	// ("h2 + http/1.1"), or "" before the first one.
	Protocol   string `json:"protocol"`
	Window     Window `json:"window"`
	LastMinute Minute `json:"last_minute"`
	Total      Total  `json:"total"`
}

// Window are per-second series of one upstream for sparklines, oldest
// first. The last entry is the last complete second, which ended at End.
type Window struct {
	Seconds int       `json:"seconds"` // entries in each series
	End     time.Time `json:"end"`
	// Requests are attempts sent to the upstream, retries included.
	Requests []uint32 `json:"requests"`
	// NewConnections are attempts that got a connection used for the
	// first time, Reused those that got one used before.
	NewConnections []uint32 `json:"new_connections"`
	Reused         []uint32 `json:"reused"`
	// ReuseRatio is Reused/(Reused+NewConnections), null in a second in
	// which nothing got a connection.
	ReuseRatio ratios   `json:"reuse_ratio"`
	Errors     []uint32 `json:"errors"`
}

// Minute is the last 60 seconds of one upstream, the second in progress
// included.
type Minute struct {
	Requests          uint64  `json:"requests"`
	RequestsPerSecond float64 `json:"requests_per_second"` // over the last 10 complete seconds
	// NewConnections is the number of connections opened (first used) in
	// the minute: the "opened per minute" figure.
	NewConnections uint64 `json:"new_connections"`
	Reused         uint64 `json:"reused"`
	// ReuseRatio is null when nothing got a connection in the minute.
	ReuseRatio *float64          `json:"reuse_ratio"`
	FirstByte  Latency           `json:"first_byte"` // attempt start to response headers
	Body       Latency           `json:"body"`       // response headers to end of body
	PoolWait   Latency           `json:"pool_wait"`
	TLS        Latency           `json:"tls_handshake"`
	Errors     map[string]uint64 `json:"errors"`  // by kind; only kinds seen
	Retries    map[string]uint64 `json:"retries"` // by reason; only reasons seen
}

// Latency are percentiles over samples in log-spaced buckets (within
// 12.5%); 0 means under a microsecond, null that there was no sample.
type Latency struct {
	Count int64    `json:"count"`
	P50Ms *float64 `json:"p50_ms"`
	P99Ms *float64 `json:"p99_ms"`
}

// Total is one upstream since the dashboard started.
type Total struct {
	Requests       uint64            `json:"requests"`
	NewConnections uint64            `json:"new_connections"`
	Reused         uint64            `json:"reused"`
	ReuseRatio     *float64          `json:"reuse_ratio"`
	Errors         map[string]uint64 `json:"errors"`
	Retries        map[string]uint64 `json:"retries"`
}

// KeyUsage is per-key data. Recorded is false: the dashboard itself
// records no per-key usage (the page reads it from the usage ledger,
// /api/usage). Limits are the client keys that have an rpm or tpm, with
// what they use of them now; LimitsError says why they could not be read
// (Redis down), and Limits is then empty.
type KeyUsage struct {
	Recorded    bool       `json:"recorded"`
	Limits      []KeyLimit `json:"limits"`
	LimitsError string     `json:"limits_error,omitempty"`
}

// KeyLimit is one client key's rate limits, as its x-ratelimit-* headers
// would tell them now; RPM or TPM is null when the key has no such limit.
type KeyLimit struct {
	Name string    `json:"name"`
	RPM  *LimitUse `json:"rpm"`
	TPM  *LimitUse `json:"tpm"`
}

// LimitUse is one limit: Limit per minute, Remaining now, Used the rest
// (spent and not refilled yet, so at most Limit), and ResetSeconds until
// the key has all of it again (more than 60 while the key is in debt).
type LimitUse struct {
	Limit        int     `json:"limit"`
	Remaining    int     `json:"remaining"`
	Used         int     `json:"used"`
	ResetSeconds float64 `json:"reset_seconds"`
}

// ratios marshal as a JSON array with null for NaN.
type ratios []float64

// MarshalJSON implements json.Marshaler.
func (r ratios) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(r)*6)
	b = append(b, '[')
	for i, v := range r {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'f', 4, 64)
	}
	return append(b, ']'), nil
}

// Snapshot returns the dashboard's current view. It is cheap enough to
// call every second: a few thousand additions per upstream.
func (d *Dashboard) Snapshot() Snapshot {
	now := time.Now()
	cur := int64(now.Sub(d.start) / time.Second)
	first, last := span(cur-1, windowSeconds)
	n := int(max(last-first+1, 0))
	g := Gateway{
		Version:        d.version,
		Started:        d.start.UTC(),
		UptimeSeconds:  now.Sub(d.start).Seconds(),
		RequestsSeries: make([]uint32, n),
		ErrorsSeries:   make([]uint32, n),
	}
	snap := Snapshot{Time: now.UTC(), WindowSeconds: windowSeconds, Upstreams: []Upstream{}, Keys: KeyUsage{Limits: []KeyLimit{}}}
	var stats []upstream.Stats
	if p := d.pool.Load(); p != nil {
		stats = p.Stats()
	}
	var recent uint64
	for _, st := range stats {
		s := d.lookup(st.Name)
		if s == nil {
			s = &series{} // nothing recorded yet
		}
		v := s.view(cur, first, n)
		v.window.End = d.start.Add(time.Duration(cur) * time.Second).UTC()
		snap.Upstreams = append(snap.Upstreams, Upstream{Stats: st, Protocol: protocol(st.OpenedH1, st.OpenedH2),
			Window: v.window, LastMinute: v.minute, Total: v.total})

		g.Requests += v.total.Requests
		g.Attempts += v.attempts
		g.Errors += v.errors
		g.Retries += v.retries
		for i := range n {
			g.RequestsSeries[i] += v.relayed[i]
			g.ErrorsSeries[i] += v.window.Errors[i]
		}
		recent += v.relayedRecent
	}
	g.RequestsPerSecond = rate(recent, cur)
	snap.Gateway = g
	snap.Answers = d.answersView(cur, first, n)
	return snap
}

// view is what a snapshot takes from one series.
type view struct {
	window Window
	minute Minute
	total  Total
	// Since start: attempts, errors and retries of every kind.
	attempts, errors, retries uint64
	// relayed are first attempts per second of the window; relayedRecent
	// those of the last rateSeconds complete seconds.
	relayed       []uint32
	relayedRecent uint64
}

// view sums the series for a snapshot taken in second cur: the window of n
// complete seconds starting at first, the last minute (cur included), the
// rate seconds and the totals.
func (s *series) view(cur, first int64, n int) view {
	v := view{
		window: Window{
			Seconds:        n,
			Requests:       make([]uint32, n),
			NewConnections: make([]uint32, n),
			Reused:         make([]uint32, n),
			ReuseRatio:     make(ratios, n),
			Errors:         make([]uint32, n),
		},
		relayed: make([]uint32, n),
	}
	var minute, recent counts
	var fb, pw, tl, body histogram
	mFirst, _ := span(cur, minuteSeconds)
	rFirst, rLast := span(cur-1, rateSeconds)

	s.mu.Lock()
	for i := range n {
		sec := first + int64(i)
		b := &s.secs[sec%ringSeconds]
		if b.at != sec {
			v.window.ReuseRatio[i] = math.NaN()
			continue
		}
		w := &v.window
		w.Requests[i], w.NewConnections[i], w.Reused[i] = b.attempts, b.newConns, b.reused
		w.Errors[i] = b.errorTotal()
		v.relayed[i] = b.requests
		r, ok := ratio(uint64(b.reused), uint64(b.newConns))
		if !ok {
			r = math.NaN()
		}
		w.ReuseRatio[i] = r
	}
	for sec := mFirst; sec <= cur; sec++ {
		if b := &s.secs[sec%ringSeconds]; b.at == sec {
			minute.add(&b.counts)
		}
		if l := &s.lats[sec%minuteSeconds]; l.at == sec {
			fb.add(&l.firstByte)
			pw.add(&l.poolWait)
			tl.add(&l.tl)
			body.add(&l.body)
		}
	}
	for sec := rFirst; sec <= rLast; sec++ {
		if b := &s.secs[sec%ringSeconds]; b.at == sec {
			recent.add(&b.counts)
		}
	}
	t := s.total
	s.mu.Unlock()

	v.minute = Minute{
		Requests:          uint64(minute.attempts),
		RequestsPerSecond: rate(uint64(recent.attempts), cur),
		NewConnections:    uint64(minute.newConns),
		Reused:            uint64(minute.reused),
		ReuseRatio:        ratioPtr(uint64(minute.reused), uint64(minute.newConns)),
		FirstByte:         latency(&fb),
		Body:              latency(&body),
		PoolWait:          latency(&pw),
		TLS:               latency(&tl),
		Errors:            named(minute.errors[:], errorSlotName),
		Retries:           named(minute.retries[:], retryName),
	}
	v.relayedRecent = uint64(recent.requests)
	v.total = Total{
		Requests:       t.requests,
		NewConnections: t.newConns,
		Reused:         t.reused,
		ReuseRatio:     ratioPtr(t.reused, t.newConns),
		Errors:         named(t.errors[:], errorSlotName),
		Retries:        named(t.retries[:], retryName),
	}
	v.attempts = t.attempts
	for _, e := range t.errors {
		v.errors += e
	}
	for _, r := range t.retries {
		v.retries += r
	}
	return v
}

func retryName(i int) string { return upstream.RetryReason(i).String() }

// named maps the non-zero counts to their slot names.
func named[T uint32 | uint64](c []T, name func(int) string) map[string]uint64 {
	m := map[string]uint64{}
	for i, v := range c {
		if v != 0 {
			m[name(i)] += uint64(v)
		}
	}
	return m
}

func ratioPtr(reused, fresh uint64) *float64 {
	r, ok := ratio(reused, fresh)
	if !ok {
		return nil
	}
	return &r
}

// latency reads the percentiles of h, in milliseconds.
func latency(h *histogram) Latency {
	l := Latency{Count: h.count()}
	if p, ok := h.quantile(0.50); ok {
		l.P50Ms = ms(p)
	}
	if p, ok := h.quantile(0.99); ok {
		l.P99Ms = ms(p)
	}
	return l
}

func ms(d time.Duration) *float64 {
	v := math.Round(float64(d)/1e3) / 1e3 // µs precision
	return &v
}

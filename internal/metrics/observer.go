// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/warmgate/warmgate/upstream"
)

var _ upstream.Observer = (*Metrics)(nil)

// maxReason bounds the retry reasons cached per upstream.
const maxReason = 16

// upstreamSeries are the cached children of one upstream's per-attempt
// series, so that the Observer methods skip label hashing.
type upstreamSeries struct {
	name                string
	codes               *codeCounters
	retries             [maxReason]atomic.Pointer[prometheus.Counter] // by reason, filled on first use
	dns, connect, tls   prometheus.Observer
	poolWait, firstByte prometheus.Observer
	streamBytes         prometheus.Counter
}

func (m *Metrics) newUpstreamSeries(name string) *upstreamSeries {
	s := &upstreamSeries{
		name:        name,
		codes:       newCodeCounters(m.upRequests, name),
		dns:         m.handshake.WithLabelValues(name, "dns"),
		connect:     m.handshake.WithLabelValues(name, "connect"),
		tls:         m.handshake.WithLabelValues(name, "tls"),
		poolWait:    m.poolWait.WithLabelValues(name),
		firstByte:   m.firstByte.WithLabelValues(name),
		streamBytes: m.streamBytes.WithLabelValues(name),
	}
	return s
}

// retry returns the retries counter for reason.
func (s *upstreamSeries) retry(vec *prometheus.CounterVec, reason upstream.RetryReason) prometheus.Counter {
	if reason < 0 || reason >= maxReason {
		return vec.WithLabelValues(s.name, reason.String())
	}
	return load(&s.retries[reason], func() prometheus.Counter { return vec.WithLabelValues(s.name, reason.String()) })
}

func (m *Metrics) series(name string) *upstreamSeries { return m.ups.get(name, m.newUpstreamSeries) }

// Attempt implements upstream.Observer. It counts the attempt by status or
// failure kind and records its handshake phases, pool wait and time to
// first byte.
func (m *Metrics) Attempt(a upstream.AttemptInfo) {
	s := m.series(a.Upstream)
	if a.Warm {
		// The pool's own warm-up: its handshakes count with the rest; its
		// status and timings are no client's.
		s.handshakes(a)
		return
	}
	if a.Status != 0 {
		s.codes.forStatus(a.Status).Inc()
		s.firstByte.Observe(a.FirstByte.Seconds())
	} else {
		s.codes.forKind(int(a.Kind), a.Kind.String()).Inc()
	}
	s.handshakes(a)
	switch {
	case a.Reused || a.NewConn:
		s.poolWait.Observe(a.PoolWait.Seconds())
	case a.Exhausted:
		// It never got a connection: it waited from the start of the
		// attempt until it gave up, which is what FirstByte measures for
		// a failed attempt. Leaving it out would hide the worst waits.
		s.poolWait.Observe(a.FirstByte.Seconds())
	}
}

// Retry implements upstream.Observer: it counts the retry by reason.
func (m *Metrics) Retry(name string, reason upstream.RetryReason) {
	m.series(name).retry(m.retries, reason).Inc()
}

// BodyDone implements upstream.Observer: it counts the body's bytes.
func (m *Metrics) BodyDone(b upstream.BodyInfo) {
	if b.Bytes > 0 {
		m.series(b.Upstream).streamBytes.Add(float64(b.Bytes))
	}
}

// handshakes observes a's connection set-up phases, those it went through.
func (s *upstreamSeries) handshakes(a upstream.AttemptInfo) {
	if a.DNS > 0 {
		s.dns.Observe(a.DNS.Seconds())
	}
	if a.Connect > 0 {
		s.connect.Observe(a.Connect.Seconds())
	}
	if a.TLS > 0 {
		s.tls.Observe(a.TLS.Seconds())
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"errors"
	"sync"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// series is one upstream's history: a ring of per-second counts covering
// the window, a ring of per-second latency histograms covering the last
// minute, and totals since start. One mutex guards it; every operation
// under it is a few array writes.
type series struct {
	mu    sync.Mutex
	secs  [ringSeconds]second
	lats  [minuteSeconds]latencies
	total totals
}

// totals are counts since the dashboard started.
type totals struct {
	requests, attempts, newConns, reused uint64
	errors                               [errorSlots]uint64
	retries                              [retrySlots]uint64
}

// at returns the counts of second sec, emptied first if the slot still
// holds an older second. s.mu must be held.
func (s *series) at(sec int64) *second {
	b := &s.secs[sec%ringSeconds]
	if b.at != sec {
		*b = second{at: sec}
	}
	return b
}

// latAt is at for the latency ring.
func (s *series) latAt(sec int64) *latencies {
	l := &s.lats[sec%minuteSeconds]
	if l.at != sec {
		*l = latencies{at: sec}
	}
	return l
}

// attempt records one attempt that happened in second sec.
func (s *series) attempt(sec int64, a *upstream.AttemptInfo) {
	slot := errorSlot(a.Kind, a.Status)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, l := s.at(sec), s.latAt(sec)
	b.attempts++
	s.total.attempts++
	if a.Attempt <= 1 {
		b.requests++
		s.total.requests++
	}
	switch {
	case a.Reused:
		b.reused++
		s.total.reused++
	case a.NewConn:
		b.newConns++
		s.total.newConns++
	}
	if slot >= 0 {
		b.errors[slot]++
		s.total.errors[slot]++
	}
	if a.Status != 0 {
		l.firstByte.observe(a.FirstByte)
	}
	switch {
	case a.Reused || a.NewConn:
		l.poolWait.observe(a.PoolWait)
	case a.Exhausted:
		// It never got a connection: it waited from the start of the
		// attempt until it gave up (as internal/metrics counts it).
		l.poolWait.observe(a.FirstByte)
	}
	if a.TLS > 0 {
		l.tl.observe(a.TLS)
	}
}

// retry records one retry in second sec.
func (s *series) retry(sec int64, r upstream.RetryReason) {
	if r < 0 || int(r) >= retrySlots {
		return
	}
	s.mu.Lock()
	s.at(sec).retries[r]++
	s.total.retries[r]++
	s.mu.Unlock()
}

// bodyDone records a response body that ended in second sec after d; one
// that broke (err != nil) counts as an error of its kind.
func (s *series) bodyDone(sec int64, d time.Duration, err error) {
	slot := -1
	if err != nil {
		slot = int(upstream.KindTruncated)
		var ue *upstream.Error
		if errors.As(err, &ue) {
			slot = errorSlot(ue.Kind, 0)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latAt(sec).body.observe(d)
	if slot >= 0 {
		s.at(sec).errors[slot]++
		s.total.errors[slot]++
	}
}

// observer is the Dashboard's upstream.Observer.
type observer struct{ d *Dashboard }

var _ upstream.Observer = observer{}

// Attempt implements upstream.Observer.
func (o observer) Attempt(a upstream.AttemptInfo) {
	if a.Warm {
		return // the pool's own warm-up; its connections show in Stats
	}
	o.d.series(a.Upstream).attempt(o.d.second(), &a)
}

// Retry implements upstream.Observer.
func (o observer) Retry(name string, r upstream.RetryReason) {
	o.d.series(name).retry(o.d.second(), r)
}

// BodyDone implements upstream.Observer: it records how long the body
// took (a stream's generation time), and a body that ended in an error as
// an error of its upstream (truncated, stream idle).
func (o observer) BodyDone(b upstream.BodyInfo) {
	o.d.series(b.Upstream).bodyDone(o.d.second(), b.Duration, b.Err)
}

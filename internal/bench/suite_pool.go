// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptrace"
	"time"
)

// runThrough is Run with every request sent through rt (the suite's warm
// upstream.Pool client) instead of a client of Run's own. It runs a closed
// loop only. Connections are counted from the requests' trace: ConnectDone
// for TCP, TLSHandshakeDone for TLS.
func runThrough(ctx context.Context, o Options, rt http.RoundTripper) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Rate > 0 {
		return nil, errors.New("bench: runThrough runs a closed loop only")
	}
	c := &client{
		tr: &http.Transport{}, // unused: close() closes its (no) idle connections
		hc: &http.Client{
			Transport:     rt,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.trace = &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				c.dials.Add(1)
			}
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				c.handshakes.Add(1)
			}
		},
	}
	defer c.close()
	s := newSender(o, c)
	rec := newRecorder(nil)
	var before *mockStats
	if !o.NoServerStats {
		before = fetchStats(ctx, o)
	}
	start := closedLoop(ctx, o, s, rec)
	elapsed := time.Since(start)

	// As in Run.
	r := &rec.r
	r.Target = s.url
	r.Interrupted = ctx.Err() != nil
	r.DurationSeconds = elapsed.Seconds()
	if r.DurationSeconds > 0 {
		r.ThroughputRPS = float64(r.Requests) / r.DurationSeconds
	}
	r.Mode, r.Concurrency = "closed", o.Concurrency
	r.Latency = summarize(r.lat)
	if r.first.TotalCount() > 0 {
		fc := summarize(r.first)
		r.FirstChunk = &fc
	}
	r.ClientNewConnections = c.dials.Load()
	r.ClientTLSHandshakes = c.handshakes.Load()
	if before != nil && ctx.Err() == nil {
		if after := fetchStats(ctx, o); after != nil {
			r.Server = after.since(before, o.StatsURL)
		}
	}
	return r, nil
}

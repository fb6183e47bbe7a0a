// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// interruptedStatsTimeout bounds the stats fetch after Ctrl-C: the user
// is waiting, and a target that made them press it may not answer.
const interruptedStatsTimeout = time.Second

// Run sends the requests o describes and returns what it measured. It
// stops at o.Requests, at o.Duration (requests in flight then finish) or
// when ctx ends; in the last case the Result holds what was measured so
// far, with Interrupted set and the cut-short requests in Canceled.
//
// progress, if not nil, is called after every finished request with the
// number finished so far. The calls are serialized, so it needs no lock,
// but it must be quick: requests wait for it.
//
// The error is non-nil only for invalid Options; a target that fails every
// request gives a Result full of errors.
func Run(ctx context.Context, o Options, progress func(done int)) (*Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	conns := o.Concurrency
	if o.Rate > 0 {
		conns = o.MaxInFlight
	}
	c := newClient(o, conns)
	defer c.close()
	s := newSender(o, c)
	rec := newRecorder(progress)

	var before *mockStats
	if !o.NoServerStats {
		before = fetchStats(ctx, o)
	}

	var start time.Time
	if o.Rate > 0 {
		start = openLoop(ctx, o, s, rec)
	} else {
		start = closedLoop(ctx, o, s, rec)
	}
	elapsed := time.Since(start)

	r := &rec.r // every request is done: no more writers
	r.Target = s.url
	r.Interrupted = ctx.Err() != nil
	r.DurationSeconds = elapsed.Seconds()
	if r.DurationSeconds > 0 {
		r.ThroughputRPS = float64(r.Requests) / r.DurationSeconds
	}
	if o.Rate > 0 {
		r.Mode, r.RateRPS, r.MaxInFlight = "open", o.Rate, o.MaxInFlight
	} else {
		r.Mode, r.Concurrency = "closed", o.Concurrency
	}
	r.Latency = summarize(r.lat)
	if r.first.TotalCount() > 0 {
		fc := summarize(r.first)
		r.FirstChunk = &fc
	}
	r.ClientNewConnections = c.dials.Load()
	r.ClientTLSHandshakes = c.handshakes.Load()
	if before != nil {
		sctx := ctx
		if ctx.Err() != nil {
			// Interrupted: one quick look still completes the report.
			var cancel context.CancelFunc
			sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), interruptedStatsTimeout)
			defer cancel()
		}
		if after := fetchStats(sctx, o); after != nil {
			r.Server = after.since(before, o.StatsURL)
		}
	}
	return r, nil
}

// closedLoop runs o.Concurrency workers, each sending its next request as
// soon as its previous one has finished, until o.Requests have been sent,
// o.Duration has passed or ctx ends. It returns the start time.
func closedLoop(ctx context.Context, o Options, s *sender, rec *recorder) time.Time {
	start := time.Now()
	var deadline time.Time
	if o.Duration > 0 {
		deadline = start.Add(o.Duration)
	}
	var issued atomic.Int64
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !deadline.IsZero() && !now.Before(deadline) {
					return
				}
				if o.Requests > 0 && issued.Add(1) > int64(o.Requests) {
					return
				}
				rec.record(s.send(ctx, now))
			}
		})
	}
	wg.Wait()
	return start
}

// openLoop starts request i at start + i/o.Rate, each on its own goroutine,
// whether or not earlier ones have finished, until o.Requests have been
// scheduled, o.Duration has passed or ctx ends. A request's latency runs
// from its scheduled start: when this loop wakes late, the overdue requests
// go out at once and their wait counts. An arrival that finds
// o.MaxInFlight requests in flight is dropped and counted. It returns the
// start time.
func openLoop(ctx context.Context, o Options, s *sender, rec *recorder) time.Time {
	start := time.Now()
	var (
		wg       sync.WaitGroup
		inflight atomic.Int64
		timer    *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for i := 0; o.Requests == 0 || i < o.Requests; i++ {
		at := schedule(start, i, o.Rate)
		if o.Duration > 0 && at.Sub(start) >= o.Duration {
			break
		}
		if wait := time.Until(at); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		if inflight.Load() >= int64(o.MaxInFlight) {
			rec.drop()
			continue
		}
		inflight.Add(1)
		wg.Go(func() {
			defer inflight.Add(-1)
			rec.record(s.send(ctx, at))
		})
	}
	wg.Wait()
	return start
}

// schedule is the i-th arrival's start time at rate requests per second,
// computed from the start (not from the previous arrival) so that rounding
// never accumulates into drift.
func schedule(start time.Time, i int, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

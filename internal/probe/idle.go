// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Idle search parameters.
const (
	// firstIdleGap starts the growing gaps: 1s, 2s, 4s, … IdleMax.
	firstIdleGap = time.Second
	// bisectLanes is how many gaps a narrowing round tests at once. Nine
	// cut a doubling bracket [g, 2g] into tenths, within 10% of g in one
	// round, at the price of nine short-lived connections.
	bisectLanes = 9
	// maxBisectRounds bounds the search when the bracket starts at 0 (a
	// timeout under the first gap) or the server is inconsistent.
	maxBisectRounds = 4
	// progressInterval is how often a waiting round reports progress.
	progressInterval = 200 * time.Millisecond
)

// idle finds how long the server keeps an idle connection open. Each gap
// gets its own client and connection: warm it, wait the gap, send again;
// the gaps of a round run concurrently, so a round lasts about its
// shortest fatal gap, not the sum of its gaps.
func (p *prober) idle(ctx context.Context, r *Report) error {
	start := time.Now()
	res := &r.Idle
	limit := p.o.IdleMax

	// Progress is in milliseconds of the search; the total is a guess that
	// firms up as the bracket narrows.
	estimate := limit + limit/2
	report := func(detail string) {
		done := time.Since(start)
		p.progress(Progress{Phase: "idle", Detail: detail,
			Done: done.Milliseconds(), Total: max(estimate, done).Milliseconds()})
	}

	gaps := growingGaps(limit)
	for round := 1; ; round++ {
		detail := fmt.Sprintf("idle timeout: %d connections idle %v to %v", len(gaps), gaps[0], gaps[len(gaps)-1])
		probes, err := p.idleRound(ctx, round, gaps, func() { report(detail) })
		if err != nil {
			return err
		}
		res.Probes = append(res.Probes, probes...)
		lo, hi, inconsistent := bracket(res.Probes)
		res.Survived, res.Closed, res.Inconsistent = lo, hi, inconsistent
		if hi == 0 || precise(lo, hi) || round > maxBisectRounds {
			break
		}
		gaps = spread(lo, hi, bisectLanes)
		estimate = time.Since(start) + hi + hi/2
	}
	if res.Closed > 0 {
		res.Found = true
		res.Timeout = ((res.Survived + res.Closed) / 2).Round(time.Millisecond)
	}
	res.Elapsed = time.Since(start)
	report("idle timeout: done")
	return nil
}

// idleRound tests the gaps concurrently and returns their probes in gap
// order. Once a gap fails, longer gaps of the round are cancelled: they
// would fail too and only cost time. Every lane has ended when it returns.
func (p *prober) idleRound(ctx context.Context, round int, gaps []time.Duration, tick func()) ([]IdleProbe, error) {
	type result struct {
		i   int
		pr  IdleProbe
		err error
	}
	results := make(chan result, len(gaps)) // buffered: lanes never block
	cancels := make([]context.CancelFunc, len(gaps))
	for i, gap := range gaps {
		lctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		go func() {
			pr, err := p.idleLane(lctx, gap)
			pr.Round = round
			results <- result{i, pr, err}
		}()
	}
	cancelAll := func() {
		for _, c := range cancels {
			c()
		}
	}
	defer cancelAll()

	t := time.NewTicker(progressInterval)
	defer t.Stop()
	got := make([]*IdleProbe, len(gaps))
	var firstErr error
	for pending := len(gaps); pending > 0; {
		select {
		case res := <-results:
			pending--
			switch {
			case res.err == nil:
				got[res.i] = &res.pr
				if !res.pr.Survived {
					for j := range gaps {
						if gaps[j] > res.pr.Gap {
							cancels[j]()
						}
					}
				}
			case errors.Is(res.err, context.Canceled) && ctx.Err() == nil:
				// cancelled above: a longer gap than one that failed
			case firstErr == nil:
				firstErr = res.err
				cancelAll()
			}
		case <-t.C:
			tick()
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	var probes []IdleProbe
	for _, pr := range got {
		if pr != nil {
			probes = append(probes, *pr)
		}
	}
	return probes, nil
}

// idleLane opens a connection, leaves it idle for gap, and reports whether
// a request after the gap reused it. Only a failure to open the connection
// is an error.
func (p *prober) idleLane(ctx context.Context, gap time.Duration) (IdleProbe, error) {
	pr := IdleProbe{Gap: gap}
	c := p.newClient(nil, false)
	defer c.close()
	warm, err := p.do(ctx, c)
	if err != nil {
		return pr, err
	}
	if err := sleep(ctx, gap); err != nil {
		return pr, err
	}
	s, err := p.do(ctx, c)
	switch {
	case err != nil && ctx.Err() != nil:
		return pr, ctx.Err()
	case err != nil:
		pr.Outcome = "error: " + err.Error()
	case s.Reused && s.Dials == 0 && s.ConnID == warm.ConnID:
		pr.Survived, pr.Outcome = true, "reused"
	default:
		pr.Outcome = "new connection"
	}
	return pr, nil
}

// growingGaps are the first round's gaps: firstIdleGap doubling up to
// limit, and limit itself.
func growingGaps(limit time.Duration) []time.Duration {
	var gaps []time.Duration
	for g := min(firstIdleGap, limit); g < limit; g *= 2 {
		gaps = append(gaps, g)
	}
	return append(gaps, limit)
}

// spread returns n gaps evenly inside (lo, hi), to the millisecond.
func spread(lo, hi time.Duration, n int) []time.Duration {
	var gaps []time.Duration
	for i := 1; i <= n; i++ {
		g := (lo + (hi-lo)*time.Duration(i)/time.Duration(n+1)).Round(time.Millisecond)
		if g > lo && g < hi && (len(gaps) == 0 || g > gaps[len(gaps)-1]) {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) == 0 { // a bracket under n ms wide: its middle
		gaps = append(gaps, (lo+hi)/2)
	}
	return gaps
}

// bracket returns the shortest gap a connection did not survive (hi, 0 if
// none), the longest gap below it that one did survive (lo), and whether a
// longer gap survived than hi (the server is not a plain timeout).
func bracket(probes []IdleProbe) (lo, hi time.Duration, inconsistent bool) {
	for _, p := range probes {
		if !p.Survived && (hi == 0 || p.Gap < hi) {
			hi = p.Gap
		}
	}
	for _, p := range probes {
		switch {
		case !p.Survived:
		case hi == 0 || p.Gap < hi:
			lo = max(lo, p.Gap)
		default:
			inconsistent = true
		}
	}
	return lo, hi, inconsistent
}

// precise reports whether the bracket [lo, hi] is narrow enough: within
// 10% of lo, so its middle is within 5% of the true timeout; or, with no
// survivor, below the shortest gap worth measuring.
func precise(lo, hi time.Duration) bool {
	if lo == 0 {
		return hi <= minIdleGap
	}
	return hi-lo <= lo/10
}

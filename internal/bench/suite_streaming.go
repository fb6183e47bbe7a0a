// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// Streaming scenario settings, each with its reason.
const (
	// The first-chunk mock: a short time to first token, so that the
	// gateway's share of it shows, and a short answer, so that the runs
	// are quick.
	streamTTFT          = 20 * time.Millisecond
	streamTokenInterval = 5 * time.Millisecond
	streamTokens        = 16
	// firstChunkConcurrency streams at a time, firstChunkRequests per path
	// (quick: quickFirstChunkRequests): about 10 s per path at full size.
	firstChunkConcurrency   = 8
	firstChunkRequests      = 800
	quickFirstChunkRequests = 40

	// The held streams: one token a second (a slow reasoning model), for
	// longer than the suite holds them, so none ends on its own; the
	// gateway then relays Streams events a second.
	heldTokenInterval = time.Second
	heldTokens        = 120
	heldModel         = "held"
	// heldRampTimeout bounds the wait for every stream to be open; at
	// 10,000 streams the ramp takes a few seconds.
	heldRampTimeout      = 40 * time.Second
	quickHeldRampTimeout = 15 * time.Second
	// heldHold is how long the open streams are watched for their CPU
	// cost, after a settle so that every first chunk has passed.
	heldHold      = 5 * time.Second
	quickHeldHold = time.Second
	heldSettle    = 500 * time.Millisecond
	heldPoll      = 100 * time.Millisecond
	// fileMargin is the open files a process needs besides one per
	// stream: listeners, upstream connections, logs.
	fileMargin = 256
)

// StreamingReport measures what the gateway adds to a stream's first
// chunk, and what holding many slow streams open costs it.
type StreamingReport struct {
	// The mock's timing for the first-chunk runs.
	TTFTMs          float64 `json:"ttft_ms"`
	TokenIntervalMs float64 `json:"token_interval_ms"`
	Tokens          int     `json:"tokens"`
	// FirstChunk holds the direct run and the run through the gateway.
	FirstChunk []StreamRun `json:"first_chunk"`
	// OverheadP50Ms and OverheadP99Ms are the gateway's first-chunk
	// percentiles minus the direct path's.
	OverheadP50Ms float64 `json:"overhead_p50_ms"`
	OverheadP99Ms float64 `json:"overhead_p99_ms"`
	// Held is the many-streams run; nil if it could not run.
	Held *HeldStreams `json:"held,omitempty"`
	// Checks compare the runs with the targets.
	Checks []Check `json:"checks"`
}

// StreamRun is one path's first-chunk run.
type StreamRun struct {
	Path   string     `json:"path"`
	Result *Result    `json:"result"`
	Proxy  *ProcUsage `json:"proxy,omitempty"`
}

// HeldStreams is what the gateway holds with many slow streams open.
type HeldStreams struct {
	// Requested streams; Opened is how many reached the mock.
	Requested int `json:"requested"`
	Opened    int `json:"opened"`
	// TokenIntervalMs is the gap between a held stream's events.
	TokenIntervalMs float64 `json:"token_interval_ms"`
	// RampSeconds is the time until every stream was open.
	RampSeconds float64 `json:"ramp_seconds"`
	// The gateway's resident memory (VmRSS) and Go heap and stack in use,
	// before the streams and with them open, and per open stream.
	RSSBeforeBytes      int64   `json:"rss_before_bytes"`
	RSSHeldBytes        int64   `json:"rss_held_bytes"`
	RSSPerStreamBytes   float64 `json:"rss_per_stream_bytes"`
	PeakRSSBytes        int64   `json:"peak_rss_bytes"`
	HeapBeforeBytes     float64 `json:"heap_inuse_before_bytes"`
	HeapHeldBytes       float64 `json:"heap_inuse_held_bytes"`
	StackBeforeBytes    float64 `json:"stack_inuse_before_bytes"`
	StackHeldBytes      float64 `json:"stack_inuse_held_bytes"`
	GoroutinesBefore    float64 `json:"goroutines_before"`
	GoroutinesHeld      float64 `json:"goroutines_held"`
	GoroutinesPerStream float64 `json:"goroutines_per_stream"`
	// RampCPUSeconds is the gateway's CPU while the streams opened.
	RampCPUSeconds float64 `json:"ramp_cpu_seconds"`
	// HoldSeconds of watching the open streams, the gateway's CPU over it
	// (as a share of one core), and per relayed event.
	HoldSeconds       float64 `json:"hold_seconds"`
	HoldCPUSeconds    float64 `json:"hold_cpu_seconds"`
	HoldCPUPercent    float64 `json:"hold_cpu_percent"`
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// Errors counts streams that failed before the suite ended them.
	Errors        int                   `json:"errors"`
	ErrorsByClass map[string]ErrorClass `json:"errors_by_class,omitempty"`
	// Note says why fewer streams than asked for were opened, if so.
	Note string `json:"note,omitempty"`
}

// streaming runs the streaming scenario: two TLS mocks (HTTP/2 to the
// gateway, as providers serve), one answering quickly for the first-chunk
// runs and one slowly for the held streams, and one gateway routing to
// both by model.
func (e *suiteEnv) streaming(ctx context.Context) (*StreamingReport, error) {
	caFast := filepath.Join(e.tmp, "streaming-ca.pem")
	fast, fastOrigin, err := e.startMock(ctx, "streaming-mock", caFast,
		"--ttft", streamTTFT.String(), "--token-interval", streamTokenInterval.String(), "--tokens", fmt.Sprint(streamTokens))
	if err != nil {
		return nil, err
	}
	defer fast.stop()
	caSlow := filepath.Join(e.tmp, "held-ca.pem")
	slow, slowOrigin, err := e.startMock(ctx, "held-mock", caSlow,
		"--ttft", streamTTFT.String(), "--token-interval", heldTokenInterval.String(), "--tokens", fmt.Sprint(heldTokens))
	if err != nil {
		return nil, err
	}
	defer slow.stop()
	roots, err := e.trust(caFast)
	if err != nil {
		return nil, err
	}
	gw, gwOrigin, err := e.startGateway(ctx, "streaming-gateway",
		gatewayUpstream{name: "held", baseURL: slowOrigin + "/v1", model: heldModel, caFile: caSlow},
		gatewayUpstream{name: "fast", baseURL: fastOrigin + "/v1", model: DefaultModel, caFile: caFast})
	if err != nil {
		return nil, err
	}
	defer gw.stop()

	r := &StreamingReport{TTFTMs: ms(streamTTFT), TokenIntervalMs: ms(streamTokenInterval), Tokens: streamTokens}
	n := firstChunkRequests
	if e.o.Quick {
		n = quickFirstChunkRequests
	}
	for _, path := range []struct {
		name, target string
		proxy        *proc
	}{{"direct", fastOrigin + "/v1", nil}, {"warmgate", gwOrigin + "/v1", gw}} {
		o := Options{Target: path.target, Stream: true, Requests: firstChunkConcurrency * 2, Concurrency: firstChunkConcurrency,
			RootCAs: roots, NoServerStats: true, Timeout: overheadTimeout}
		if _, err := Run(ctx, o, nil); err != nil { // warm-up: TLS handshakes, heaps
			return r, err
		}
		o.Requests, o.NoServerStats, o.StatsURL = n, false, fastOrigin+"/mock/stats"
		var pm *meter
		if path.proxy != nil {
			pm = startMeter(path.proxy)
		}
		res, err := Run(ctx, o, nil)
		if err != nil {
			return r, err
		}
		sr := StreamRun{Path: path.name, Result: res, Proxy: pm.stop(res.Requests)}
		r.FirstChunk = append(r.FirstChunk, sr)
		fc := Summary{}
		if res.FirstChunk != nil {
			fc = *res.FirstChunk
		}
		e.logf("streaming first chunk %-8s p50 %-9s p99 %-9s (whole stream p50 %s) %s",
			path.name, fmtMs(fc.P50), fmtMs(fc.P99), fmtMs(res.Latency.P50), problems(res))
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	if d, g := r.FirstChunk[0].Result.FirstChunk, r.FirstChunk[1].Result.FirstChunk; d != nil && g != nil {
		r.OverheadP50Ms, r.OverheadP99Ms = g.P50-d.P50, g.P99-d.P99
	}

	held, err := e.holdStreams(ctx, gw, gwOrigin, slowOrigin)
	r.Held = held
	r.Checks = r.checks()
	return r, err
}

// holdStreams opens e.o.Streams slow streams through the gateway at once,
// waits until they have all reached the mock, measures the gateway, holds
// them for a while measuring its CPU, then ends them.
func (e *suiteEnv) holdStreams(ctx context.Context, gw *proc, gwOrigin, mockOrigin string) (*HeldStreams, error) {
	h := &HeldStreams{Requested: e.o.Streams, TokenIntervalMs: ms(heldTokenInterval)}
	n := e.o.Streams
	if lim := fileLimit(); lim > 0 && n+fileMargin > lim {
		// The suite holds one socket per stream, and so does the gateway
		// (its upstream side is multiplexed over HTTP/2).
		n = max(lim-fileMargin, 1)
		h.Note = fmt.Sprintf("capped at %d streams by the open-file limit (%d): raise it with ulimit -n", n, lim)
		e.logf("streaming held: %s", h.Note)
	}
	rampTimeout, hold := heldRampTimeout, heldHold
	if e.o.Quick {
		rampTimeout, hold = quickHeldRampTimeout, quickHeldHold
	}

	metrics := []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes"}
	before, err := e.mockStats(ctx, mockOrigin)
	if err != nil {
		return nil, err
	}
	m0, err := e.gatewayMetrics(ctx, gwOrigin, metrics...)
	if err != nil {
		return nil, err
	}
	s0, ok := gw.sample()
	if !ok {
		return nil, fmt.Errorf("reading /proc for the gateway (pid %d): not available", gw.pid())
	}
	gw.resetPeak()

	hctx, stop := context.WithCancel(ctx)
	defer stop()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	start := time.Now()
	go func() {
		res, err := Run(hctx, Options{
			Target: gwOrigin + "/v1", Model: heldModel, Stream: true,
			Requests: n, Concurrency: n, NoServerStats: true,
			Timeout: rampTimeout + hold + time.Minute,
		}, nil)
		done <- ran{res, err}
	}()
	var early *ran // the run ended by itself: every stream failed
	finish := func() (*Result, error) {
		if early == nil {
			stop()
			r := <-done
			early = &r
		}
		return early.res, early.err
	}

	// Wait until every stream has reached the mock, the ramp times out or
	// the run ends by itself.
	deadline := time.NewTimer(rampTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(heldPoll)
	defer tick.Stop()
	opened := 0
ramp:
	for opened < n {
		select {
		case r := <-done:
			early = &r
			break ramp
		case <-deadline.C:
			break ramp
		case <-ctx.Done():
			break ramp
		case <-tick.C:
		}
		if st, err := e.mockStats(ctx, mockOrigin); err == nil {
			opened = int(st.Requests - before.Requests)
		}
	}
	h.RampSeconds = time.Since(start).Seconds()
	select {
	case <-time.After(heldSettle): // the last streams' first chunks
	case <-ctx.Done():
	}
	h.Opened = opened
	s1, ok1 := gw.sample()
	t1 := time.Now()
	m1, err := e.gatewayMetrics(ctx, gwOrigin, metrics...)
	if err != nil || !ok1 {
		_, _ = finish()
		return h, fmt.Errorf("measuring the gateway with %d streams open: %v", opened, err)
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	s2, ok2 := gw.sample()
	holdFor := time.Since(t1).Seconds()
	res, err := finish()
	if err != nil {
		return h, err
	}

	h.RSSBeforeBytes, h.RSSHeldBytes, h.PeakRSSBytes = s0.rss, s1.rss, max(s1.hwm, s2.hwm)
	h.HeapBeforeBytes, h.HeapHeldBytes = m0["go_memstats_heap_inuse_bytes"], m1["go_memstats_heap_inuse_bytes"]
	h.StackBeforeBytes, h.StackHeldBytes = m0["go_memstats_stack_inuse_bytes"], m1["go_memstats_stack_inuse_bytes"]
	h.GoroutinesBefore, h.GoroutinesHeld = m0["go_goroutines"], m1["go_goroutines"]
	h.RampCPUSeconds = (s1.cpu - s0.cpu).Seconds()
	if opened > 0 {
		h.RSSPerStreamBytes = float64(s1.rss-s0.rss) / float64(opened)
		h.GoroutinesPerStream = (h.GoroutinesHeld - h.GoroutinesBefore) / float64(opened)
	}
	if ok2 && holdFor > 0 {
		h.HoldSeconds = holdFor
		h.HoldCPUSeconds = (s2.cpu - s1.cpu).Seconds()
		h.HoldCPUPercent = h.HoldCPUSeconds / holdFor * 100
		if events := float64(opened) * holdFor / heldTokenInterval.Seconds(); events > 0 {
			h.CPUMicrosPerEvent = h.HoldCPUSeconds * 1e6 / events
		}
	}
	h.Errors, h.ErrorsByClass = res.Errors, res.ErrorsByClass
	if opened < n && h.Note == "" {
		h.Note = fmt.Sprintf("only %d of %d streams reached the mock within %v", opened, n, rampTimeout)
	}
	e.logf("streaming held %d/%d streams: ramp %.1fs, gateway RSS %s → %s (%s per stream), goroutines %.0f → %.0f (%.2f per stream), CPU %.1f%% of a core holding them, %d errors",
		opened, n, h.RampSeconds, fmtBytes(float64(s0.rss)), fmtBytes(float64(s1.rss)), fmtBytes(h.RSSPerStreamBytes),
		h.GoroutinesBefore, h.GoroutinesHeld, h.GoroutinesPerStream, h.HoldCPUPercent, h.Errors)
	return h, ctx.Err()
}

// checks compares the runs with the targets.
func (r *StreamingReport) checks() []Check {
	var cs []Check
	if len(r.FirstChunk) == 2 && r.FirstChunk[1].Result.FirstChunk != nil {
		cs = append(cs, Check{
			Name:     "first-chunk overhead p50, warmgate over direct",
			Measured: fmtMicros(r.OverheadP50Ms),
			Goal:     "≤ 250 µs", Met: r.OverheadP50Ms <= 0.25,
		})
	}
	if h := r.Held; h != nil && h.Opened > 0 {
		cs = append(cs, Check{
			Name:     fmt.Sprintf("gateway RSS per open stream at %d streams (goal set at 10,000)", h.Opened),
			Measured: fmtBytes(h.RSSPerStreamBytes),
			Goal:     "≤ 40 KiB", Met: h.RSSPerStreamBytes <= 40<<10 && h.Opened == h.Requested,
		})
	}
	return cs
}

// fmtBytes formats a byte count in KiB or MiB.
func fmtBytes(b float64) string {
	switch {
	case b >= 10<<20 || b <= -10<<20:
		return fmt.Sprintf("%.0f MiB", b/(1<<20))
	case b >= 1<<20 || b <= -1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	default:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
}

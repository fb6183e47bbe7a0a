// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Overhead scenario settings, each with its reason.
const (
	// overheadOpenShare sets the first open loop's rate to this share of
	// nginx's closed-loop throughput at concurrency 64: a busy load that
	// nginx sustains, the rate the p99 target is set at.
	overheadOpenShare = 0.7
	// overheadOpenLowShare sets the second open loop's rate to this share
	// of warmgate's own throughput at concurrency 64: a load it sustains
	// with room to spare on a machine it shares with the client and the
	// mock, where its latency is its own and not a queue's.
	overheadOpenLowShare = 0.5
	// overheadOpenSeconds is the open loop's length at full size: long
	// enough for a p99 over tens of thousands of arrivals.
	overheadOpenSeconds = 5
	// overheadMaxInFlight caps the open loop's requests in flight: far
	// above what a sustainable rate needs, low enough that an overloaded
	// proxy shows up as drops instead of exhausting sockets.
	overheadMaxInFlight = 1000
	// overheadWarmup requests at concurrency 64 precede the measured runs
	// of each target, so that every pool holds its connections and every
	// process has grown its heap before anything is counted.
	overheadWarmup = 2000
	// overheadTimeout bounds one request: a loopback answer takes
	// milliseconds even under overload.
	overheadTimeout = 30 * time.Second
)

// The overhead scenario's concurrencies, for the closed-loop runs.
var overheadConcurrency = []int{1, 64}

// OverheadReport compares the direct path to the mock with the same
// requests through warmgate and through nginx.
type OverheadReport struct {
	// Requests is the number of requests of each closed-loop run.
	Requests int `json:"requests"`
	// OpenRates are the open-loop runs' arrival rates, each with what it
	// was derived from.
	OpenRates []OpenRate `json:"open_rates"`
	// Runs holds every run: each target at each load.
	Runs []ProxyRun `json:"runs"`
	// Checks compare the runs with the targets.
	Checks []Check `json:"checks"`
}

// OpenRate is one open-loop load of the overhead scenario.
type OpenRate struct {
	// Load labels its runs, "open N/s".
	Load  string  `json:"load"`
	RPS   float64 `json:"rps"`
	Basis string  `json:"basis"`
}

// ProxyRun is one load on one path to the mock.
type ProxyRun struct {
	// Target is "direct", "warmgate", "nginx" or "portkey".
	Target string `json:"target"`
	// Load is "c=1", "c=64" (closed loop) or "open N/s" (OpenRates).
	Load   string  `json:"load"`
	Result *Result `json:"result"`
	// AddedP50Ms and AddedP99Ms are the latency percentiles over the
	// direct path's at the same load (0 for the direct path).
	AddedP50Ms float64 `json:"added_p50_ms"`
	AddedP99Ms float64 `json:"added_p99_ms"`
	// Proxy, Mock and Client are what each process used during the run
	// (no Proxy for the direct path); nil when /proc is unreadable.
	Proxy  *ProcUsage `json:"proxy,omitempty"`
	Mock   *ProcUsage `json:"mock,omitempty"`
	Client *ProcUsage `json:"client,omitempty"`
}

// overheadTarget is one path to the mock.
type overheadTarget struct {
	name   string
	origin string
	proxy  *proc       // nil for the direct path
	header http.Header // added to each request (Portkey's routing)
}

// overhead runs the overhead scenario: a plain-HTTP mock answering at
// once, reached directly, through warmgate and through nginx.
func (e *suiteEnv) overhead(ctx context.Context, rep *SuiteReport) (*OverheadReport, error) {
	mock, mockOrigin, err := e.startMock(ctx, "overhead-mock", "")
	if err != nil {
		return nil, err
	}
	defer mock.stop()
	gw, gwOrigin, err := e.startGateway(ctx, "overhead-gateway",
		gatewayUpstream{name: "mock", baseURL: mockOrigin + "/v1", model: "*"})
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	targets := []overheadTarget{{"direct", mockOrigin, nil, nil}, {"warmgate", gwOrigin, gw, nil}}
	if e.nginx != "" {
		u, _ := url.Parse(mockOrigin)
		ng, ngOrigin, err := e.startNginx(ctx, u.Host)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Notes = append(rep.Notes, "nginx: failed to start, so it is missing from the overhead scenario: "+err.Error())
		} else {
			defer ng.stop()
			targets = append(targets, overheadTarget{"nginx", ngOrigin, ng, nil})
		}
	}
	if e.node != "" {
		pk, pkOrigin, err := e.startPortkey(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Notes = append(rep.Notes, "portkey: failed to start, so it is missing from the overhead scenario: "+err.Error())
		} else {
			defer pk.stop()
			targets = append(targets, overheadTarget{"portkey", pkOrigin, pk, portkeyHeader(mockOrigin + "/v1")})
		}
	}

	r := &OverheadReport{Requests: e.o.Requests}
	base := func(t overheadTarget) Options {
		return Options{
			Target:   t.origin + "/v1",
			Requests: e.o.Requests,
			Duration: e.o.Duration,
			Timeout:  overheadTimeout,
			StatsURL: mockOrigin + "/mock/stats",
			Header:   t.header,
		}
	}
	for _, t := range targets {
		o := base(t)
		o.Requests, o.Duration, o.Concurrency, o.NoServerStats = overheadWarmup, 0, 64, true
		if e.o.Quick {
			o.Requests = quickSuiteRequests
		}
		if _, err := Run(ctx, o, nil); err != nil {
			return nil, err
		}
	}
	for _, c := range overheadConcurrency {
		for _, t := range targets {
			o := base(t)
			o.Concurrency = c
			pr, err := e.proxyRun(ctx, t, fmt.Sprintf("c=%d", c), o, mock)
			if err != nil {
				return r, err
			}
			r.Runs = append(r.Runs, pr)
		}
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}

	// The open loops' rates: a share of what nginx sustains at c=64 (the
	// direct path's would overload any proxy and measure only queueing),
	// and a share of what warmgate does.
	share := func(target string, f float64) {
		if rr := r.find(target, "c=64"); rr != nil && rr.Result.ThroughputRPS*f >= 1 {
			rps := float64(int(rr.Result.ThroughputRPS * f))
			r.OpenRates = append(r.OpenRates, OpenRate{Load: fmt.Sprintf("open %.0f/s", rps), RPS: rps,
				Basis: fmt.Sprintf("%.0f%% of %s's throughput at c=64", f*100, target)})
		}
	}
	share("nginx", overheadOpenShare)
	share("warmgate", overheadOpenLowShare)
	for _, rate := range r.OpenRates {
		for _, t := range targets {
			o := base(t)
			o.Rate, o.MaxInFlight = rate.RPS, overheadMaxInFlight
			if !e.o.Quick && e.o.Duration == 0 {
				o.Requests = max(o.Requests, int(rate.RPS*overheadOpenSeconds))
			}
			pr, err := e.proxyRun(ctx, t, rate.Load, o, mock)
			if err != nil {
				return r, err
			}
			r.Runs = append(r.Runs, pr)
		}
	}
	r.addDeltas()
	r.Checks = r.checks()
	return r, ctx.Err()
}

// proxyRun runs o against t, metering the proxy, the mock and the suite.
func (e *suiteEnv) proxyRun(ctx context.Context, t overheadTarget, load string, o Options, mock *proc) (ProxyRun, error) {
	var pm *meter
	if t.proxy != nil {
		pm = startMeter(t.proxy)
	}
	mm, cm := startMeter(mock), startMeter(nil)
	res, err := Run(ctx, o, nil)
	if err != nil {
		return ProxyRun{}, err
	}
	pr := ProxyRun{Target: t.name, Load: load, Result: res,
		Proxy: pm.stop(res.Requests), Mock: mm.stop(res.Requests), Client: cm.stop(res.Requests)}
	proxyCPU := "-"
	if pr.Proxy != nil {
		proxyCPU = fmt.Sprintf("%.0f µs/req", pr.Proxy.CPUMicrosPerRequest)
	}
	e.logf("overhead  %-8s %-5s %7.0f req/s  p50 %-9s p99 %-9s proxy CPU %-11s %s",
		t.name, load, res.ThroughputRPS, fmtMs(res.Latency.P50), fmtMs(res.Latency.P99), proxyCPU, problems(res))
	return pr, nil
}

// problems summarizes a run's failures for a log line or a table cell.
func problems(r *Result) string {
	s := ""
	if bad := r.Requests - r.OK; bad > 0 {
		s = fmt.Sprintf("%d failed", bad)
	}
	if r.Dropped > 0 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%d dropped", r.Dropped)
	}
	return s
}

func (r *OverheadReport) find(target, load string) *ProxyRun {
	for i := range r.Runs {
		if r.Runs[i].Target == target && r.Runs[i].Load == load {
			return &r.Runs[i]
		}
	}
	return nil
}

// addDeltas fills in every run's latency over the direct path's.
func (r *OverheadReport) addDeltas() {
	for i := range r.Runs {
		pr := &r.Runs[i]
		if d := r.find("direct", pr.Load); d != nil && pr.Target != "direct" {
			pr.AddedP50Ms = pr.Result.Latency.P50 - d.Result.Latency.P50
			pr.AddedP99Ms = pr.Result.Latency.P99 - d.Result.Latency.P99
		}
	}
}

// checks compares the runs with the targets for warmgate.
func (r *OverheadReport) checks() []Check {
	var cs []Check
	wg64, ng64 := r.find("warmgate", "c=64"), r.find("nginx", "c=64")
	if wg64 != nil && ng64 != nil && wg64.Proxy != nil && ng64.Proxy != nil && ng64.Proxy.CPUMicrosPerRequest > 0 {
		ratio := wg64.Proxy.CPUMicrosPerRequest / ng64.Proxy.CPUMicrosPerRequest
		cs = append(cs, Check{
			Name:     "proxy CPU per request at c=64, warmgate ÷ nginx",
			Measured: fmt.Sprintf("%.2f× (%.0f µs vs %.0f µs)", ratio, wg64.Proxy.CPUMicrosPerRequest, ng64.Proxy.CPUMicrosPerRequest),
			Goal:     "≤ 2.0×", Met: ratio <= 2.0,
		})
	}
	if wg64 != nil && ng64 != nil && ng64.Result.ThroughputRPS > 0 {
		ratio := wg64.Result.ThroughputRPS / ng64.Result.ThroughputRPS
		cs = append(cs, Check{
			Name:     "throughput at c=64, warmgate ÷ nginx",
			Measured: fmt.Sprintf("%.2f× (%.0f vs %.0f req/s)", ratio, wg64.Result.ThroughputRPS, ng64.Result.ThroughputRPS),
			Goal:     "≥ 0.75×", Met: ratio >= 0.75,
		})
	}
	if wg1 := r.find("warmgate", "c=1"); wg1 != nil {
		cs = append(cs, Check{
			Name:     "added p50 over direct at c=1",
			Measured: fmtMicros(wg1.AddedP50Ms),
			Goal:     "≤ 100 µs", Met: wg1.AddedP50Ms <= 0.100,
		})
	}
	for _, rate := range r.OpenRates {
		if wg := r.find("warmgate", rate.Load); wg != nil {
			cs = append(cs, Check{
				Name:     fmt.Sprintf("added p99 over direct, open loop at %.0f req/s (%s)", rate.RPS, rate.Basis),
				Measured: fmtMicros(wg.AddedP99Ms) + dropped(wg.Result),
				Goal:     "≤ 1 ms", Met: wg.AddedP99Ms <= 1 && wg.Result.Dropped == 0 && wg.Result.OK == wg.Result.Requests,
			})
		}
	}
	return cs
}

// dropped notes an open loop's dropped arrivals.
func dropped(r *Result) string {
	if r.Dropped == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d arrivals dropped)", r.Dropped)
}

// fmtMicros formats milliseconds as µs below 10 ms.
func fmtMicros(ms float64) string {
	if ms > -10 && ms < 10 {
		return fmt.Sprintf("%.0f µs", ms*1000)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/warmgate/warmgate/internal/config"
)

// Observability scenario settings, each with its reason.
const (
	// observeConcurrency is the warm-up's closed loop's workers: the keep-alive
	// scenario's 16 callers, enough to keep the gateway busy on every core
	// without a queue long enough to hide its own work.
	observeConcurrency = 16
	// observeRounds of every variant, each round in a new random order,
	// so that a drift of the machine (heat, a neighbour) is spread over
	// the variants, and the added CPU is paired with "off" of the same
	// round. Eight give a median and a range that mean something.
	observeRounds      = 8
	quickObserveRounds = 1
	// observeRateShare sets the runs' arrival rate (an open loop) to this
	// share of what the "off" gateway did in its closed-loop warm-up:
	// every variant then does the same work per second, so that what
	// differs between them is what they observe, not how far each is
	// pushed into saturation (which changes the CPU per request of
	// everything on these 2 cores: batching, wake-ups, the GC's pace).
	observeRateShare = 0.5
	// observeWarmup requests at concurrency 16 precede the rounds, per
	// gateway, so that each holds its connections and has grown its heap
	// (and its exporter its buffers) before anything is counted.
	observeWarmup = 2000
	// observeGoalPercent is the bound on the CPU per request that
	// the access log and tracing, at their defaults, may add.
	observeGoalPercent = 5
	// maxSinkBody bounds one OTLP request, compressed and decompressed: a
	// batch of 512 small spans is well under 1 MiB.
	maxSinkBody = 32 << 20
)

// observeVariant is one gateway of the observability scenario.
type observeVariant struct {
	name     string // in the report
	file     string // its process's name, and so its log file's
	logLevel string // --log-level: info writes an access line per request
	// tracing is its config's tracing block with "%s" for the sink's
	// origin; "" for no tracing.
	tracing string
}

// observeVariants differ only in what they observe; "off" is the baseline
// the others are compared with, and "log+trace" is both at their defaults.
var observeVariants = []observeVariant{
	{name: "off", file: "observe-off", logLevel: "warn"},
	{name: "log", file: "observe-log", logLevel: "info"},
	{name: "trace", file: "observe-trace", logLevel: "warn", tracing: "tracing: {otlp_endpoint: %q}"},
	{name: "log+trace", file: "observe-log-trace", logLevel: "info", tracing: "tracing: {otlp_endpoint: %q}"},
	{name: "trace-all", file: "observe-trace-all", logLevel: "warn", tracing: "tracing: {otlp_endpoint: %q, sample_ratio: 1}"},
}

// ObservabilityReport is what the gateway's access log and OpenTelemetry
// tracing add to its CPU per request: five gateway processes, identical
// but for those, in front of one mock, measured in turns.
type ObservabilityReport struct {
	// Requests is the number of requests of each run (0: Duration alone
	// ended the runs); Concurrency the warm-up's closed loop's workers; Warmup the
	// requests each gateway got before the first round.
	Requests    int `json:"requests"`
	Concurrency int `json:"concurrency"`
	Warmup      int `json:"warmup"`
	// RateRPS is the runs' arrival rate (an open loop, at most
	// overheadMaxInFlight in flight): half the off gateway's closed-loop
	// throughput in its warm-up.
	RateRPS float64 `json:"rate_rps"`
	// Rounds is the number of rounds that ran; in each, every variant ran
	// once, in a new random order.
	Rounds int `json:"rounds"`
	// DefaultSampleRatio and DefaultSamplePerSecond are the config's
	// tracing.sample_ratio and sample_per_second when they are not set,
	// as the "trace" and "log+trace" variants run.
	DefaultSampleRatio     float64 `json:"default_sample_ratio"`
	DefaultSamplePerSecond float64 `json:"default_sample_per_second"`
	// Variants are the gateways: off, log, trace, log+trace, trace-all.
	Variants []ObserveVariant `json:"variants"`
	// SinkRejected counts the OTLP requests the suite's sink could not
	// read; their spans are not counted.
	SinkRejected int64 `json:"sink_rejected"`
	// Checks compare the added CPU with the bound.
	Checks []Check `json:"checks"`
}

// ObserveVariant is one gateway of the observability scenario and what it
// used over the rounds.
type ObserveVariant struct {
	Name string `json:"name"`
	// LogLevel is its --log-level: "info" writes an access line per
	// request, "warn" none.
	LogLevel string `json:"log_level"`
	// Tracing is its config's tracing block; "" when tracing is off.
	Tracing string `json:"tracing,omitempty"`
	// Runs are its runs, in round order.
	Runs []ObserveRun `json:"runs"`
	// CPUMicrosPerRequest is the gateway's CPU per request over the
	// rounds; nil when /proc could not be read.
	CPUMicrosPerRequest *Spread `json:"cpu_us_per_request,omitempty"`
	// ThroughputRPS is the runs' throughput over the rounds.
	ThroughputRPS *Spread `json:"throughput_rps,omitempty"`
	// AddedCPUPercent is, per round, its CPU per request over off's in
	// the same round, in percent (nil for off itself).
	AddedCPUPercent *Spread `json:"added_cpu_percent,omitempty"`
	// Requests is every request the gateway served, warm-up included;
	// Spans the spans the sink received from it in all, counted after the
	// gateway was stopped (its shutdown exports what its batch exporter
	// still held); SpansPerRequest their quotient.
	Requests        int     `json:"requests"`
	Spans           int64   `json:"spans"`
	SpansPerRequest float64 `json:"spans_per_request"`
	// Failed counts the requests of its runs without a 2xx answer.
	Failed int `json:"failed"`
}

// ObserveRun is one run of one variant.
type ObserveRun struct {
	// Round counts from 1; Position is the run's place in its round's
	// random order, from 1.
	Round    int     `json:"round"`
	Position int     `json:"position"`
	Result   *Result `json:"result"`
	// Gateway is what the gateway process used during the run; nil when
	// /proc could not be read.
	Gateway *ProcUsage `json:"gateway,omitempty"`
	// AddedCPUPercent is the gateway's CPU per request over off's in the
	// same round, in percent; absent for off and when either is unknown.
	AddedCPUPercent *float64 `json:"added_cpu_percent,omitempty"`
}

// Spread is a quantity over the rounds: its median, least and greatest.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// N is the number of rounds it is taken over.
	N int `json:"n"`
}

// spreadOf is vs' median (the mean of the middle two when there is an even
// number), minimum and maximum; nil for no values.
func spreadOf(vs []float64) *Spread {
	if len(vs) == 0 {
		return nil
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return &Spread{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// observeGateway is one running gateway of the scenario.
type observeGateway struct {
	v      observeVariant
	p      *proc
	origin string
	sink   string // the sink's origin it exports to; "" without tracing
	served int    // requests sent to it, warm-up included
}

// observability runs the observability scenario: the same open loop
// through five gateways that differ only in their access log and tracing,
// in turns, metering each gateway's CPU.
func (e *suiteEnv) observability(ctx context.Context) (*ObservabilityReport, error) {
	mock, mockOrigin, err := e.startMock(ctx, "observe-mock", "")
	if err != nil {
		return nil, err
	}
	defer mock.stop()
	traced := 0
	for _, v := range observeVariants {
		if v.tracing != "" {
			traced++
		}
	}
	sink, sinkOrigins, err := startSpanSink(traced)
	if err != nil {
		return nil, fmt.Errorf("OTLP sink: %w", err)
	}
	defer sink.close()
	e.logf("observe: OTLP sink in the suite on %s", strings.Join(sinkOrigins, ", "))

	gws := make([]*observeGateway, 0, len(observeVariants))
	for _, v := range observeVariants {
		g := &observeGateway{v: v}
		set := gatewaySetup{logLevel: v.logLevel}
		if v.tracing != "" {
			g.sink, sinkOrigins = sinkOrigins[0], sinkOrigins[1:]
			set.extraYAML = fmt.Sprintf(v.tracing, g.sink) + "\n"
		}
		g.p, g.origin, err = e.startGatewayWith(ctx, v.file, set,
			gatewayUpstream{name: "mock", baseURL: mockOrigin + "/v1", model: "*"})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		defer g.p.stop()
		gws = append(gws, g)
	}

	base := func(g *observeGateway) Options {
		return Options{Target: g.origin + "/v1", Requests: e.o.Requests, Duration: e.o.Duration,
			Concurrency: observeConcurrency, Timeout: overheadTimeout, NoServerStats: true}
	}
	var rate float64 // the runs' arrival rate, from off's warm-up
	r := &ObservabilityReport{Requests: e.o.Requests, Concurrency: observeConcurrency, Warmup: observeWarmup,
		DefaultSampleRatio: config.Tracing{}.Ratio(), DefaultSamplePerSecond: config.Tracing{}.PerSecond()}
	rounds := observeRounds
	if e.o.Quick {
		r.Warmup, rounds = quickSuiteRequests, quickObserveRounds
	}
	for _, g := range gws {
		o := base(g)
		o.Requests, o.Duration = r.Warmup, 0
		res, err := Run(ctx, o, nil)
		if err != nil {
			return nil, err
		}
		g.served += res.Requests
		if g.v.name == "off" {
			rate = float64(int(res.ThroughputRPS * observeRateShare))
		}
	}
	if rate < 1 {
		return r, errors.New("observability: the off gateway's warm-up had no throughput to set the rate from")
	}
	r.RateRPS = rate

	runs := make([][]ObserveRun, len(gws)) // by variant
	order := make([]int, len(gws))
	for round := 1; round <= rounds && ctx.Err() == nil; round++ {
		for i := range order {
			order[i] = i
		}
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for pos, i := range order {
			g := gws[i]
			o := base(g)
			o.Concurrency, o.Rate, o.MaxInFlight = 0, rate, overheadMaxInFlight
			m := startMeter(g.p)
			res, err := Run(ctx, o, nil)
			if err != nil {
				return r, err
			}
			g.served += res.Requests
			run := ObserveRun{Round: round, Position: pos + 1, Result: res, Gateway: m.stop(res.Requests)}
			runs[i] = append(runs[i], run)
			cpu := "-"
			if run.Gateway != nil {
				cpu = fmt.Sprintf("%.1f µs/req", run.Gateway.CPUMicrosPerRequest)
			}
			e.logf("observe   %-9s round %d/%d  %7.0f req/s  p50 %-9s gateway CPU %-12s %s",
				g.v.name, round, rounds, res.ThroughputRPS, fmtMs(res.Latency.P50), cpu, problems(res))
		}
		if ctx.Err() == nil {
			r.Rounds = round
		}
	}

	// Stopping a gateway exports the spans its batch exporter still holds,
	// so once all have exited the sink's counts are final.
	for _, g := range gws {
		g.p.stop()
	}
	for i, g := range gws {
		ov := ObserveVariant{Name: g.v.name, LogLevel: g.v.logLevel, Runs: runs[i], Requests: g.served}
		if g.sink != "" {
			ov.Tracing = fmt.Sprintf(g.v.tracing, g.sink)
			ov.Spans = sink.spans(g.sink)
		}
		if g.served > 0 {
			ov.SpansPerRequest = float64(ov.Spans) / float64(g.served)
		}
		r.Variants = append(r.Variants, ov)
	}
	r.SinkRejected = sink.rejected.Load()
	r.summarize()
	r.Checks = r.checks()
	return r, ctx.Err()
}

// variant returns the named variant, or nil.
func (r *ObservabilityReport) variant(name string) *ObserveVariant {
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	return nil
}

// summarize fills in each variant's spreads over the rounds, and each
// run's CPU over off's run of the same round.
func (r *ObservabilityReport) summarize() {
	offCPU := map[int]float64{} // by round
	if off := r.variant("off"); off != nil {
		for _, run := range off.Runs {
			if run.Gateway != nil && run.Gateway.CPUMicrosPerRequest > 0 {
				offCPU[run.Round] = run.Gateway.CPUMicrosPerRequest
			}
		}
	}
	for i := range r.Variants {
		v := &r.Variants[i]
		var cpu, rps, added []float64
		v.Failed = 0
		for j := range v.Runs {
			run := &v.Runs[j]
			v.Failed += run.Result.Requests - run.Result.OK
			rps = append(rps, run.Result.ThroughputRPS)
			if run.Gateway == nil {
				continue
			}
			cpu = append(cpu, run.Gateway.CPUMicrosPerRequest)
			if base, ok := offCPU[run.Round]; ok && v.Name != "off" {
				pct := (run.Gateway.CPUMicrosPerRequest/base - 1) * 100
				run.AddedCPUPercent = &pct
				added = append(added, pct)
			}
		}
		v.CPUMicrosPerRequest, v.ThroughputRPS, v.AddedCPUPercent = spreadOf(cpu), spreadOf(rps), spreadOf(added)
	}
}

// checks compares the added CPU with the bound: both at their
// defaults is the target; each alone is for information.
func (r *ObservabilityReport) checks() []Check {
	var cs []Check
	for _, c := range []struct{ variant, name string }{
		{"log+trace", "access log and tracing at their defaults (log+trace vs off), added CPU per request"},
		{"log", "access log alone (log vs off), added CPU per request (for information)"},
		{"trace", "tracing alone at its default sampling (trace vs off), added CPU per request (for information)"},
	} {
		v := r.variant(c.variant)
		if v == nil || v.AddedCPUPercent == nil {
			continue
		}
		a := v.AddedCPUPercent
		cs = append(cs, Check{
			Name:     c.name,
			Measured: fmt.Sprintf("%+.1f%% (median of %d %s; %s)", a.Median, a.N, plural(a.N, "round", "rounds"), percentRange(a)),
			Goal:     fmt.Sprintf("< %d%%", observeGoalPercent), Met: a.Median < observeGoalPercent,
		})
	}
	return cs
}

// percentRange is "+1.2…+4.8%".
func percentRange(s *Spread) string {
	return fmt.Sprintf("%+.1f…%+.1f%%", s.Min, s.Max)
}

func (r *ObservabilityReport) markdown(p printer) {
	p("")
	p("## Observability: what the access log and tracing add to the gateway's CPU")
	p("")
	p("Five gateway processes in front of one plain-HTTP mock (as in the overhead scenario), identical but")
	p("for what they observe: **off** (`--log-level warn`: no access lines, no tracing); **log** (`--log-level info`:")
	p("one text access line per request, to the gateway's stderr, a file); **trace** (`tracing: {otlp_endpoint}`,")
	p("sampling at its defaults: sample_ratio %g plus sample_per_second %g); **log+trace** (both, at their defaults);", r.DefaultSampleRatio, r.DefaultSamplePerSecond)
	p("**trace-all** (tracing with `sample_ratio: 1`: every request). Spans go over OTLP/HTTP to a sink in the")
	p("suite's process that decodes them.")
	load := fmt.Sprintf("%d requests", r.Requests)
	if r.Requests == 0 {
		load = "a fixed duration"
	}
	rounds := fmt.Sprintf("%d rounds", r.Rounds)
	if r.Rounds == 1 {
		rounds = "1 round"
	}
	p("Each gateway was warmed with %d requests; then %s, each running every variant once in a new", r.Warmup, rounds)
	p("random order: an open loop of %s arriving at %.0f/s (half what off did in its closed-loop warm-up at", load, r.RateRPS)
	p("concurrency %d, so that every variant does the same work per second). CPU is the gateway process's user + system", r.Concurrency)
	p("time from /proc over the run, divided by its requests. Added CPU is paired by round: a variant's CPU per")
	p("request over off's in the same round, minus 1; the median and the range over the rounds. Spans per")
	p("request: all spans the sink received from a gateway, counted after it was stopped (its shutdown exports")
	p("what its batch exporter still held), over all the requests it served, warm-up included.")
	p("")
	p("| variant | access log | tracing | gateway CPU / req, median (min…max) | added CPU, median (min…max) | req/s, median | spans / req | failures |")
	p("|---|---|---|---:|---:|---:|---:|---|")
	for _, v := range r.Variants {
		access := "off"
		if v.LogLevel == "info" || v.LogLevel == "debug" {
			access = "on"
		}
		tracing := "off"
		switch {
		case strings.Contains(v.Tracing, "sample_ratio"):
			tracing = "sample_ratio 1"
		case v.Tracing != "":
			tracing = fmt.Sprintf("default sampling (%g + %g/s)", r.DefaultSampleRatio, r.DefaultSamplePerSecond)
		}
		cpu, added, rps := "", "", ""
		if c := v.CPUMicrosPerRequest; c != nil {
			cpu = fmt.Sprintf("%.1f µs (%.1f…%.1f)", c.Median, c.Min, c.Max)
		}
		if a := v.AddedCPUPercent; a != nil {
			added = fmt.Sprintf("%+.1f%% (%s)", a.Median, percentRange(a))
		}
		if t := v.ThroughputRPS; t != nil {
			rps = fmtFloat(t.Median)
		}
		failed := ""
		if v.Failed > 0 {
			failed = fmt.Sprintf("%d failed", v.Failed)
		}
		p("| %s | %s | %s | %s | %s | %s | %.2f | %s |", v.Name, access, tracing, cpu, added, rps, v.SpansPerRequest, failed)
	}
	if r.SinkRejected > 0 {
		p("")
		p("The sink could not read %d OTLP request(s): their spans are missing from the counts.", r.SinkRejected)
	}
	checksMarkdown(p, r.Checks)
}

// spanSink is an OTLP/HTTP trace receiver in the suite's process. Each
// traced gateway gets a listener of its own, so that the spans are
// counted per gateway by the address they arrived at; one http.Server
// serves them all.
type spanSink struct {
	srv      *http.Server
	count    map[string]*atomic.Int64 // by listener address; fixed before serving
	rejected atomic.Int64
	wg       sync.WaitGroup
}

// startSpanSink serves n loopback listeners and returns the sink and their
// origins ("http://127.0.0.1:PORT"), the otlp_endpoint of each gateway.
func startSpanSink(n int) (*spanSink, []string, error) {
	s := &spanSink{count: map[string]*atomic.Int64{}}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: controlTimeout}
	lns := make([]net.Listener, 0, n)
	origins := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, nil, err
		}
		lns = append(lns, ln)
		s.count[ln.Addr().String()] = new(atomic.Int64)
		origins = append(origins, "http://"+ln.Addr().String())
	}
	for _, ln := range lns {
		s.wg.Go(func() { _ = s.srv.Serve(ln) })
	}
	return s, origins, nil
}

// spans is the number of spans received at origin, one of the sink's.
func (s *spanSink) spans(origin string) int64 {
	if c := s.count[strings.TrimPrefix(origin, "http://")]; c != nil {
		return c.Load()
	}
	return 0
}

// close stops the sink, closing its connections at once: every gateway
// has stopped, so no export is in flight.
func (s *spanSink) close() {
	_ = s.srv.Close()
	s.wg.Wait()
}

// ServeHTTP answers an OTLP/HTTP export request (protobuf, gzip or not)
// as a collector does, and counts its spans.
func (s *spanSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, status, err := decodeSpans(w, r)
	if err != nil {
		s.rejected.Add(1)
		http.Error(w, err.Error(), status)
		return
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if c := s.count[addr.String()]; c != nil {
			c.Add(n)
		}
	}
	b, err := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

// decodeSpans reads r as an OTLP/HTTP traces export and returns its number
// of spans, or the status to refuse it with and why.
func decodeSpans(w http.ResponseWriter, r *http.Request) (int64, int, error) {
	switch {
	case r.URL.Path != "/v1/traces":
		return 0, http.StatusNotFound, fmt.Errorf("%s: not the traces path", r.URL.Path)
	case r.Method != http.MethodPost:
		return 0, http.StatusMethodNotAllowed, fmt.Errorf("%s: use POST", r.Method)
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		return 0, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: the sink reads protobuf only", r.Header.Get("Content-Type"))
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxSinkBody)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0, http.StatusBadRequest, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return 0, http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q", enc)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxSinkBody+1))
	switch {
	case err != nil:
		return 0, http.StatusBadRequest, err
	case len(b) > maxSinkBody:
		return 0, http.StatusRequestEntityTooLarge, errors.New("body too large")
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		return 0, http.StatusBadRequest, err
	}
	var n int64
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
	}
	return n, http.StatusOK, nil
}

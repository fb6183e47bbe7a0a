// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteMarkdown writes the report as Markdown: the machine, then a section
// of tables per scenario that ran, then notes and failures.
func (r *SuiteReport) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format+"\n", args...) }

	p("# warmgate bench suite")
	p("")
	m := r.Machine
	machine := fmt.Sprintf("%s, %d cores, %s", m.CPU, m.Cores, m.OS)
	if m.Kernel != "" {
		machine += " (kernel " + m.Kernel + ")"
	}
	p("- **Machine:** %s", machine)
	p("- **Go:** %s; **commit:** %s", m.GoVersion, orDash(m.Commit))
	if m.Nginx != "" {
		p("- **nginx:** %s", m.Nginx)
	}
	if m.Portkey != "" {
		p("- **Portkey:** %s (node, --headless)", m.Portkey)
	}
	p("- **Date:** %s; the suite took %v", m.Date, (time.Duration(r.DurationSeconds * float64(time.Second))).Round(time.Second))
	if m.LoadStart != "" {
		p("- **Load average** (1, 5, 15 min): %s at the start, %s at the end", m.LoadStart, orDash(m.LoadEnd))
	}
	if r.Command != "" {
		p("- **Command:** `%s`", r.Command)
	}
	if r.Quick {
		p("")
		p("**Quick run** (`--quick`): tiny counts to check that every part works; the numbers mean nothing.")
	}
	if r.Interrupted {
		p("")
		p("**Interrupted** before the end: the tables hold what was measured until then.")
	}
	if o := r.Overhead; o != nil {
		o.markdown(p)
	}
	if k := r.KeepAlive; k != nil {
		k.markdown(p)
	}
	if s := r.Streaming; s != nil {
		s.markdown(p)
	}
	if o := r.Observability; o != nil {
		o.markdown(p)
	}
	if len(r.Notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range r.Notes {
			p("- %s", n)
		}
	}
	if len(r.Failures) > 0 {
		p("")
		p("## Failures")
		p("")
		for _, f := range r.Failures {
			p("- %s", strings.ReplaceAll(f, "\n", " "))
		}
	}
	return bw.Flush()
}

type printer func(format string, args ...any)

func (o *OverheadReport) markdown(p printer) {
	p("")
	p("## Overhead: direct, warmgate and nginx in front of the mock")
	p("")
	p("Plain HTTP/1.1 on loopback to a mock that answers a small chat request at once (16 tokens,")
	p("JSON). Closed loop: %d requests per run at each concurrency. Open loops, latency from each", o.Requests)
	p("request's scheduled start, at most %d in flight:", overheadMaxInFlight)
	for _, rate := range o.OpenRates {
		p("%s (%s);", rate.Load, rate.Basis)
	}
	p("The suite itself is the client, on the same cores.")
	p("CPU is user + system time from /proc over the run, divided by the requests.")
	p("")
	p("| path | load | req/s | p50 | p99 | p99.9 | added p50 | added p99 | proxy CPU / req | proxy peak RSS | mock CPU / req | failures |")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, run := range o.Runs {
		res := run.Result
		added50, added99 := "", ""
		if run.Target != "direct" {
			added50, added99 = fmtMicros(run.AddedP50Ms), fmtMicros(run.AddedP99Ms)
		}
		load := run.Load
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |",
			run.Target, load, fmtFloat(res.ThroughputRPS), fmtMs(res.Latency.P50), fmtMs(res.Latency.P99), fmtMs(res.Latency.P999),
			added50, added99, cpuPerReq(run.Proxy), peakRSS(run.Proxy), cpuPerReq(run.Mock), problems(res))
	}
	checksMarkdown(p, o.Checks)
}

func (k *KeepAliveReport) markdown(p printer) {
	p("")
	p("## Keep-alive: a new TLS connection per request against warm connections, across an emulated network")
	p("")
	p("The TLS mock (%s) sits behind a relay that delays every byte by RTT/2 each way, and a new", k.Protocols)
	p("connection by one RTT more (`internal/netem`). The naive client and the in-process `upstream.Pool`")
	p("go through the relay; warmgate runs next to the client and reaches the mock through the same relay.")
	p("%d requests per run from %d concurrent callers. Handshakes and connections are counted by the mock;", k.Requests, k.Concurrency)
	p("its CPU is the mock process's (all threads, from /proc), over the run, per request.")
	p("")
	p("| RTT | client | req/s | p50 | p99 | handshakes / 1k req | connections / 1k req | mock CPU / req | failures |")
	p("|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, rr := range k.RTTs {
		for _, run := range rr.Runs {
			res := run.Result
			p("| %v | %s | %s | %s | %s | %.1f | %.1f | %s | %s |", msDuration(rr.RTTMs), run.Client,
				fmtFloat(res.ThroughputRPS), fmtMs(res.Latency.P50), fmtMs(res.Latency.P99),
				run.HandshakesPer1k, run.ConnectionsPer1k, fmtMicrosOpt(run.MockCPUMicrosPerRequest), problems(res))
		}
	}
	p("")
	p("Against the seed's claims (keep-alive saves 150–300 ms per request and gives 3–4× the throughput;")
	p("about %d%% of compute goes to setting up connections, here the mock's CPU per request that the", claimSetupCPUPercent)
	p("naive client costs it beyond a warm request through warmgate):")
	p("")
	p("| RTT | p50 saved (naive − warmgate) | in 150–300 ms | throughput, warmgate ÷ naive | in 3–4× | p50, naive ÷ warmgate | warmgate's hop over the in-process pool (p50) | upstream CPU on connection setup (naive − warm) ÷ naive |")
	p("|---|---:|---|---:|---|---:|---:|---:|")
	for _, rr := range k.RTTs {
		if rr.LatencyRatio == 0 {
			continue // interrupted before the gateway's run
		}
		setup := ""
		if rr.SetupCPUPercent != 0 {
			setup = fmt.Sprintf("%.0f%%", rr.SetupCPUPercent)
		}
		p("| %v | %s | %s | %.2f× | %s | %.2f× | %+.2f%% | %s |", msDuration(rr.RTTMs), fmtMs(rr.SavedP50Ms), yesNo(rr.SavedInClaim),
			rr.ThroughputRatio, yesNo(rr.SpeedupInClaim), rr.LatencyRatio, rr.HopPercent, setup)
	}
	checksMarkdown(p, k.Checks)
}

func (s *StreamingReport) markdown(p printer) {
	p("")
	p("## Streaming: first-chunk overhead and many slow streams")
	p("")
	p("TLS mocks (HTTP/2 by ALPN to the gateway and to the direct client; the client speaks HTTP/1.1 to")
	p("the gateway). First chunk: time to first token %v, then %d tokens %v apart, %d streams at a time.",
		msDuration(s.TTFTMs), s.Tokens, msDuration(s.TokenIntervalMs), firstChunkConcurrency)
	p("")
	p("| path | streams | first chunk p50 | first chunk p99 | whole stream p50 | proxy CPU / stream | failures |")
	p("|---|---:|---:|---:|---:|---:|---|")
	for _, run := range s.FirstChunk {
		res := run.Result
		fc := Summary{}
		if res.FirstChunk != nil {
			fc = *res.FirstChunk
		}
		p("| %s | %d | %s | %s | %s | %s | %s |", run.Path, res.Requests, fmtMs(fc.P50), fmtMs(fc.P99),
			fmtMs(res.Latency.P50), cpuPerReq(run.Proxy), problems(res))
	}
	p("")
	p("First-chunk overhead through warmgate: p50 %s, p99 %s.", fmtMicros(s.OverheadP50Ms), fmtMicros(s.OverheadP99Ms))
	if h := s.Held; h != nil {
		p("")
		p("Held streams: %d streams opened at once through the gateway, each sending a token every %v;", h.Requested, msDuration(h.TokenIntervalMs))
		p("measured once all had reached the mock, then watched for %.1f s, then ended by the client.", h.HoldSeconds)
		p("")
		p("| | before | with the streams open | per stream |")
		p("|---|---:|---:|---:|")
		p("| streams open | 0 | %d | |", h.Opened)
		p("| gateway RSS (VmRSS; peak %s) | %s | %s | %s |", fmtBytes(float64(h.PeakRSSBytes)),
			fmtBytes(float64(h.RSSBeforeBytes)), fmtBytes(float64(h.RSSHeldBytes)), fmtBytes(h.RSSPerStreamBytes))
		perStream := func(before, held float64) string {
			if h.Opened == 0 {
				return ""
			}
			return fmtBytes((held - before) / float64(h.Opened))
		}
		p("| Go heap in use | %s | %s | %s |", fmtBytes(h.HeapBeforeBytes), fmtBytes(h.HeapHeldBytes), perStream(h.HeapBeforeBytes, h.HeapHeldBytes))
		p("| goroutine stacks | %s | %s | %s |", fmtBytes(h.StackBeforeBytes), fmtBytes(h.StackHeldBytes), perStream(h.StackBeforeBytes, h.StackHeldBytes))
		p("| goroutines | %.0f | %.0f | %.2f |", h.GoroutinesBefore, h.GoroutinesHeld, h.GoroutinesPerStream)
		p("")
		p("Opening them took %.1f s and %.2f CPU seconds of the gateway; holding them, %.1f%% of one core", h.RampSeconds, h.RampCPUSeconds, h.HoldCPUPercent)
		p("(%.0f events/s relayed, %.1f µs of CPU per event). Failed streams: %d.",
			float64(h.Opened)/(h.TokenIntervalMs/1000), h.CPUMicrosPerEvent, h.Errors)
		if h.Note != "" {
			p("")
			p("Note: %s.", h.Note)
		}
	}
	checksMarkdown(p, s.Checks)
}

// checksMarkdown writes the targets as a table.
func checksMarkdown(p printer, cs []Check) {
	if len(cs) == 0 {
		return
	}
	p("")
	p("Targets:")
	p("")
	p("| target | measured | goal | met |")
	p("|---|---:|---|---|")
	for _, c := range cs {
		p("| %s | %s | %s | %s |", c.Name, c.Measured, c.Goal, yesNo(c.Met))
	}
}

func cpuPerReq(u *ProcUsage) string {
	if u == nil {
		return ""
	}
	return fmt.Sprintf("%.0f µs", u.CPUMicrosPerRequest)
}

// fmtMicrosOpt formats µs, or "" for 0 (not measured).
func fmtMicrosOpt(us float64) string {
	if us == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f µs", us)
}

func peakRSS(u *ProcUsage) string {
	if u == nil || u.PeakRSSBytes == 0 {
		return ""
	}
	return fmtBytes(float64(u.PeakRSSBytes))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

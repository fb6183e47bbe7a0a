// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteTable writes r for people: the run, throughput, a percentile table,
// then the status, error and connection breakdowns.
func (r *Result) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(bw, "%-17s"+format+"\n", append([]any{label}, args...)...)
	}

	line("target", "POST %s", r.Target)
	switch r.Mode {
	case "open":
		line("load", "open loop: %s req/s on a fixed timetable, at most %d in flight", fmtFloat(r.RateRPS), r.MaxInFlight)
	default:
		line("load", "closed loop: %d %s", r.Concurrency, plural(r.Concurrency, "worker", "workers"))
	}
	non2xx := r.Requests - r.OK - r.Errors
	line("requests", "%d in %v: %d ok, %d non-2xx, %d errors", r.Requests,
		roundDuration(time.Duration(r.DurationSeconds*float64(time.Second))), r.OK, non2xx, r.Errors)
	if r.Dropped > 0 {
		line("dropped", "%d arrivals not sent: %d requests already in flight", r.Dropped, r.MaxInFlight)
	}
	if r.Interrupted {
		line("interrupted", "stopped early; %d requests in flight were canceled and are not counted", r.Canceled)
	}
	line("throughput", "%s req/s", fmtFloat(r.ThroughputRPS))
	if len(r.Protocols) > 0 {
		line("protocol", "%s", counts(r.Protocols))
	}

	fmt.Fprintln(bw)
	if r.Latency.Count == 0 {
		line("latency", "none: no 2xx answers")
	} else {
		fmt.Fprintf(bw, "%-17s", "")
		for _, c := range []string{"p50", "p90", "p99", "p99.9", "min", "max", "mean"} {
			fmt.Fprintf(bw, "%10s", c)
		}
		fmt.Fprintln(bw)
		row := func(label string, s Summary) {
			fmt.Fprintf(bw, "%-17s", label)
			for _, v := range []float64{s.P50, s.P90, s.P99, s.P999, s.Min, s.Max, s.Mean} {
				fmt.Fprintf(bw, "%10s", fmtMs(v))
			}
			fmt.Fprintln(bw)
		}
		row("latency", r.Latency)
		if r.FirstChunk != nil {
			row("first chunk", *r.FirstChunk)
		}
	}
	fmt.Fprintln(bw)

	if len(r.Status) > 0 {
		line("status", "%s", counts(r.Status))
	}
	if len(r.ErrorsByClass) > 0 {
		label := "errors"
		for _, class := range slices.Sorted(maps.Keys(r.ErrorsByClass)) {
			ec := r.ErrorsByClass[class]
			line(label, "%s: %d (e.g. %s)", ClassLabel(class), ec.Count, ec.Example)
			label = ""
		}
	}
	line("new connections", "client: %d dialed, %d TLS handshakes (its own dialer and TLS trace)",
		r.ClientNewConnections, r.ClientTLSHandshakes)
	if r.Server != nil {
		line("", "server: %d accepted, %d TLS handshakes (from %s)",
			r.Server.ConnectionsAccepted, r.Server.TLSHandshakes, r.Server.URL)
	} else {
		line("", "server: not known (no mock stats: the target has no /mock/stats, or it was not asked)")
	}
	return bw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// counts formats a breakdown as "k: n, k: n" in key order.
func counts[K int | string](m map[K]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%v: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// fmtMs formats milliseconds as a duration with about 3 significant
// digits: "52µs", "1.23ms", "153ms", "2.35s".
func fmtMs(ms float64) string {
	return roundDuration(time.Duration(ms * float64(time.Millisecond))).String()
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// fmtFloat formats a rate: whole numbers above 100, one decimal below.
func fmtFloat(f float64) string {
	if f >= 100 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.1f", f)
}

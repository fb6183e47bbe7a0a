// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package bench is warmgate's load generator: it sends OpenAI-style requests
// to any OpenAI-compatible endpoint (a provider, the gateway, the mock) and
// measures what a client sees.
//
// One call to [Run] is one bounded run. It stops after Options.Requests
// requests, after Options.Duration, or when its context ends (Ctrl-C), and
// returns a [Result]: latency and first-chunk percentiles from HDR
// histograms, throughput, a status and error breakdown, and the number of
// new connections counted both by the client (its own dialer and TLS
// handshakes) and, when the target answers GET /mock/stats, by the server.
// [Result.WriteTable] prints it for people; its JSON form is for scripts.
//
// # Two ways to load a server
//
// Closed loop (the default): Options.Concurrency workers each send a
// request, wait for the whole answer, and send the next one. The load then
// adapts to the server: a slow answer delays the next request, so a stall
// shows up in a few slow samples rather than in all the requests that a
// real client population would have sent meanwhile.
//
// Open loop (Options.Rate > 0): requests start on a fixed timetable, the
// i-th at start + i/Rate, whether or not earlier ones have finished, and
// each one's latency is measured from its scheduled start, not from when
// it actually went out. If the client falls behind (a busy scheduler, a
// full connection pool), the wait counts as latency: coordinated omission
// is not hidden. At most Options.MaxInFlight requests are in flight; an
// arrival that finds them all busy is not sent and is counted in
// Result.Dropped.
//
// # Reuse
//
// The benchmark suite calls Run once per scenario with its own Options
// (its own targets, CA pool, rates) and compares the Results, so Run keeps
// no state between calls and owns its HTTP client: one tuned
// *http.Transport per run, closed when Run returns.
package bench

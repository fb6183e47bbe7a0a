// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision: microseconds from 1 µs to 1 hour with 3
// significant digits (0.1% error), about 30 KiB each. A loopback request
// takes tens of µs; a slow stream minutes; Timeout stays below an hour.
const (
	histMinMicros = 1
	histMaxMicros = int64(time.Hour / time.Microsecond)
	histDigits    = 3
)

// Result is what one Run measured. Its JSON form is stable: scripts and
// the benchmark suite read it. Latencies are in milliseconds.
type Result struct {
	// Target is the URL every request went to (Options.Target + Path).
	Target string `json:"target"`
	// Mode is "closed" (Concurrency workers) or "open" (Rate per second).
	Mode string `json:"mode"`
	// Concurrency is the closed loop's number of workers; 0 in open loop.
	Concurrency int `json:"concurrency"`
	// RateRPS is the open loop's arrival rate; 0 in closed loop.
	RateRPS float64 `json:"rate_rps"`
	// MaxInFlight is the open loop's cap on requests in flight; 0 in
	// closed loop.
	MaxInFlight int `json:"max_in_flight"`

	// Requests counts the requests that finished: answered with a status
	// (read to the end) or failed with an error. Requests = sum(Status) +
	// Errors.
	Requests int `json:"requests"`
	// OK counts the 2xx answers read to the end.
	OK int `json:"ok"`
	// Errors counts requests that failed without a complete answer,
	// broken down in ErrorsByClass. A non-2xx answer is not an error: it
	// is counted in Status.
	Errors int `json:"errors"`
	// Dropped counts open-loop arrivals not sent because MaxInFlight
	// requests were already in flight.
	Dropped int `json:"dropped"`
	// Canceled counts requests cut short by the end of Run's context
	// (Ctrl-C); they are in no other count.
	Canceled int `json:"canceled"`
	// Interrupted is true when Run's context ended before the run did.
	Interrupted bool `json:"interrupted"`

	// DurationSeconds runs from the start to the end of the last request.
	DurationSeconds float64 `json:"duration_seconds"`
	// ThroughputRPS is Requests / DurationSeconds.
	ThroughputRPS float64 `json:"throughput_rps"`
	// Latency is the time from a request's (scheduled) start to the end of
	// its answer, over the 2xx answers.
	Latency Summary `json:"latency_ms"`
	// FirstChunk is the time from a request's (scheduled) start to its
	// first SSE data event, over the 2xx SSE answers; nil when there were
	// none.
	FirstChunk *Summary `json:"first_chunk_ms,omitempty"`
	// Status counts complete answers by HTTP status code.
	Status map[int]int `json:"status"`
	// ErrorsByClass counts Errors by class (ClassTimeout, ...), with one
	// example message each.
	ErrorsByClass map[string]ErrorClass `json:"errors_by_class"`
	// Protocols counts complete answers by protocol ("HTTP/1.1",
	// "HTTP/2.0").
	Protocols map[string]int `json:"protocols"`

	// ClientNewConnections counts the TCP connections the client dialed.
	ClientNewConnections int64 `json:"client_new_connections"`
	// ClientTLSHandshakes counts the TLS handshakes the client completed.
	ClientTLSHandshakes int64 `json:"client_tls_handshakes"`
	// Server holds the server's own counts over the run, from its
	// /mock/stats; nil when the target has none.
	Server *ServerStats `json:"server"`

	lat, first *hdrhistogram.Histogram
	// details holds, per non-2xx status, the error message of the first
	// such answer (OpenAI's error.message), for Failed.
	details map[int]string
}

// Summary describes a latency distribution in milliseconds.
type Summary struct {
	// Count is the number of samples.
	Count int64 `json:"count"`
	// P50, P90, P99 and P999 are the 50th, 90th, 99th and 99.9th
	// percentiles; Min, Max and Mean the rest. All in ms, to the µs.
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// ErrorClass is one class of errors.
type ErrorClass struct {
	// Count is the number of errors of the class.
	Count int `json:"count"`
	// Example is the first error message of the class.
	Example string `json:"example"`
}

// ServerStats are counts made by the server (the mock's /mock/stats), as
// the difference between a fetch before and one after the run, not
// counting the fetches' own connections.
type ServerStats struct {
	// URL is where the counts came from.
	URL string `json:"url"`
	// ConnectionsAccepted counts the TCP connections the server accepted.
	ConnectionsAccepted int64 `json:"connections_accepted"`
	// TLSHandshakes counts the TLS handshakes the server completed.
	TLSHandshakes int64 `json:"tls_handshakes"`
}

// LatencyHistogram returns a copy of the latency histogram (microseconds),
// for merging or finer percentiles.
func (r *Result) LatencyHistogram() *hdrhistogram.Histogram { return r.lat.Clone() }

// FirstChunkHistogram returns a copy of the first-chunk histogram
// (microseconds).
func (r *Result) FirstChunkHistogram() *hdrhistogram.Histogram { return r.first.Clone() }

// outcome is what one request came to.
type outcome struct {
	status   int           // 0 when err != nil
	detail   string        // a non-2xx answer's error message, if it had one
	proto    string        // "HTTP/1.1", "HTTP/2.0"
	latency  time.Duration // from the (scheduled) start to the end of the body
	first    time.Duration // to the first SSE data event; < 0 if none
	err      error         // the request failed (not canceled)
	canceled bool          // cut short by the end of Run's context
}

// recorder collects outcomes from concurrent requests.
type recorder struct {
	mu       sync.Mutex
	r        Result
	progress func(done int)
}

func newRecorder(progress func(done int)) *recorder {
	return &recorder{
		r: Result{
			Status:        map[int]int{},
			ErrorsByClass: map[string]ErrorClass{},
			Protocols:     map[string]int{},
			details:       map[int]string{},
			lat:           newHistogram(),
			first:         newHistogram(),
		},
		progress: progress,
	}
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
}

// record adds one outcome and reports progress.
func (rc *recorder) record(o outcome) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r := &rc.r
	switch {
	case o.canceled:
		r.Canceled++
		return
	case o.err != nil:
		r.Errors++
		class := classify(o.err)
		ec := r.ErrorsByClass[class]
		if ec.Count == 0 {
			ec.Example = example(o.err)
		}
		ec.Count++
		r.ErrorsByClass[class] = ec
	default:
		r.Status[o.status]++
		r.Protocols[o.proto]++
		if _, ok := r.details[o.status]; !ok && o.detail != "" {
			r.details[o.status] = o.detail
		}
		if o.status >= 200 && o.status < 300 {
			r.OK++
			recordDuration(r.lat, o.latency)
			if o.first >= 0 {
				recordDuration(r.first, o.first)
			}
		}
	}
	r.Requests++
	if rc.progress != nil {
		rc.progress(r.Requests)
	}
}

func (rc *recorder) drop() {
	rc.mu.Lock()
	rc.r.Dropped++
	rc.mu.Unlock()
}

// recordDuration records d in microseconds, clamped to the histogram's
// range (a value out of range would be lost, not counted).
func recordDuration(h *hdrhistogram.Histogram, d time.Duration) {
	us := min(max(d.Microseconds(), 0), histMaxMicros)
	_ = h.RecordValue(us) // in range by construction
}

// summarize turns a histogram in microseconds into a Summary in ms.
func summarize(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Min:   ms(h.Min()),
		Max:   ms(h.Max()),
		Mean:  math.Round(h.Mean()) / 1000, // whole µs, like the rest
	}
}

// maxExample bounds an example error message in a Result.
const maxExample = 300

func example(err error) string {
	s := err.Error()
	if len(s) > maxExample {
		s = s[:maxExample] + "…"
	}
	return s
}

// Failed returns an error when no request succeeded (no 2xx answer), naming
// the most common failure and what to check: the commonest error class
// with its example, or the commonest status with the error message its
// first answer carried. It returns nil when a request succeeded.
func (r *Result) Failed() error {
	if r.OK > 0 {
		return nil
	}
	if r.Requests == 0 {
		if r.Interrupted {
			return errors.New("interrupted before any request finished")
		}
		return errors.New("no request finished")
	}
	code, codeN := 0, 0
	for c, n := range r.Status {
		if n > codeN || n == codeN && c < code {
			code, codeN = c, n
		}
	}
	class, classN := "", 0
	for c, ec := range r.ErrorsByClass {
		if ec.Count > classN || ec.Count == classN && c < class {
			class, classN = c, ec.Count
		}
	}
	if classN > codeN {
		return fmt.Errorf("no request succeeded: %d of %d failed with %s (%s)%s",
			classN, r.Requests, class, r.ErrorsByClass[class].Example, classHint[class])
	}
	msg := fmt.Sprintf("no request succeeded: %d of %d answered %d %s", codeN, r.Requests, code, http.StatusText(code))
	if d := r.details[code]; d != "" {
		msg += fmt.Sprintf(" (%q)", d)
	}
	return errors.New(msg + statusHint(code))
}

// classHint says what to check after an error class.
var classHint = map[string]string{
	ClassConnectRefused: ": is the target running, and is --target right?",
	ClassTimeout:        ": the target did not answer within --timeout",
	ClassTLS:            ": for a private CA pass --ca FILE",
}

// statusHint says what to check after an error status.
func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ": check the key (--key-env VAR sends $VAR as a Bearer token)"
	case http.StatusNotFound:
		return ": check --target and --path (an OpenAI-compatible base URL usually ends in /v1) and --model"
	case http.StatusTooManyRequests:
		return ": the target is limiting the rate: lower --concurrency or --rate"
	case http.StatusBadRequest:
		return ": the target refused the request body (--body, --model)"
	}
	return ""
}

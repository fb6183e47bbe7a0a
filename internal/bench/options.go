// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults for the zero values of Options, each with its reason.
const (
	// DefaultTarget is where "warmgate serve" listens by default.
	DefaultTarget = "http://127.0.0.1:8080/v1"
	// DefaultPath is the endpoint every OpenAI-compatible API has.
	DefaultPath = "/chat/completions"
	// DefaultModel is a real, cheap model name, so the default body is
	// accepted by providers as well as by the mock.
	DefaultModel = "gpt-4.1-mini"
	// DefaultRequests bounds a run that names neither a count nor a
	// duration: enough for a stable p99, short against a local target.
	DefaultRequests = 1000
	// DefaultConcurrency matches "warmgate demo": enough to show connection
	// reuse, small enough not to overload a laptop's mock or a paid API.
	DefaultConcurrency = 8
	// DefaultMaxInFlight bounds an open-loop run's concurrent requests (and
	// so its goroutines, sockets and memory) when the target falls behind.
	DefaultMaxInFlight = 10000
	// DefaultTimeout limits one request, connection and whole body
	// included; long enough for a slow LLM answer.
	DefaultTimeout = 60 * time.Second
)

// dialTimeout bounds a TCP connect: a loopback or LAN target answers in
// milliseconds, so a longer wait only hides a dead one.
const dialTimeout = 10 * time.Second

// Options configure one Run. The zero value is valid: 1,000 chat requests
// from 8 workers to DefaultTarget.
type Options struct {
	// Target is the API's base URL, e.g. "http://127.0.0.1:8080/v1".
	// "" means DefaultTarget.
	Target string
	// Path is appended to Target for every request; "" means DefaultPath.
	Path string

	// Requests stops the run after this many requests have been sent (an
	// open-loop run: scheduled). 0 means DefaultRequests, or no limit when
	// Duration is set.
	Requests int
	// Duration stops sending new requests this long after the start; those
	// in flight finish (within Timeout) and are counted. 0 means no limit.
	// With Requests too, the run stops at whichever comes first.
	Duration time.Duration

	// Concurrency is the number of closed-loop workers; 0 means
	// DefaultConcurrency. It must stay 0 when Rate is set.
	Concurrency int
	// Rate > 0 makes the run open-loop: Rate requests per second, on a fixed
	// timetable, latency measured from each request's scheduled start.
	Rate float64
	// MaxInFlight caps an open-loop run's requests in flight; arrivals
	// beyond it are dropped and counted. 0 means DefaultMaxInFlight.
	MaxInFlight int

	// Body is sent verbatim as every request's body; nil means a small
	// chat request built from Model and Stream.
	Body []byte
	// Model is the default body's "model"; "" means DefaultModel. It must
	// stay "" when Body is set.
	Model string
	// Stream adds "stream":true to the default body. It must stay false
	// when Body is set (put "stream":true in Body). Either way, every answer
	// that is an SSE stream gets its first-chunk latency measured.
	Stream bool
	// APIKey, if set, is sent as "Authorization: Bearer APIKey". It is
	// never printed or put in a Result.
	APIKey string
	// Header holds extra request headers, e.g. X-Mock-Fault. Like APIKey,
	// they are never printed.
	Header http.Header

	// Timeout limits each request, connection and whole body included;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// RootCAs are the CAs trusted for HTTPS; nil means the system roots.
	// See LoadRootCAs.
	RootCAs *x509.CertPool
	// HTTP1 does not offer HTTP/2 over TLS. By default the client speaks
	// HTTP/2 when the server offers it by ALPN.
	HTTP1 bool
	// DisableKeepAlives opens a new connection for every request: the
	// naive client the benchmarks compare against.
	DisableKeepAlives bool

	// StatsURL is fetched before and after the run for server-side
	// connection counts; "" means the target's origin + "/mock/stats".
	StatsURL string
	// NoServerStats skips the StatsURL fetches.
	NoServerStats bool
}

// withDefaults validates o and returns a copy with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Target == "" {
		o.Target = DefaultTarget
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	u, err := url.Parse(o.Target)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https"):
		return o, fmt.Errorf("bench: target %q: want an http:// or https:// URL", o.Target)
	case u.Host == "":
		return o, fmt.Errorf("bench: target %q: no host", o.Target)
	}
	if !strings.HasPrefix(o.Path, "/") {
		return o, fmt.Errorf("bench: path %q: must start with /", o.Path)
	}
	switch {
	case o.Requests < 0:
		return o, fmt.Errorf("bench: requests must not be negative, got %d", o.Requests)
	case o.Duration < 0:
		return o, fmt.Errorf("bench: duration must not be negative, got %v", o.Duration)
	case o.Concurrency < 0:
		return o, fmt.Errorf("bench: concurrency must not be negative, got %d", o.Concurrency)
	case o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0):
		return o, fmt.Errorf("bench: rate must be a positive number of requests per second, got %v", o.Rate)
	case o.MaxInFlight < 0:
		return o, fmt.Errorf("bench: max in flight must not be negative, got %d", o.MaxInFlight)
	case o.Timeout < 0:
		return o, fmt.Errorf("bench: timeout must not be negative, got %v", o.Timeout)
	case o.Rate > 0 && o.Concurrency > 0:
		return o, errors.New("bench: set either a concurrency (closed loop) or a rate (open loop), not both")
	case o.Body != nil && (o.Model != "" || o.Stream):
		return o, errors.New("bench: model and stream shape the default body; with a body of your own, put them in it")
	}
	if o.Requests == 0 && o.Duration == 0 {
		o.Requests = DefaultRequests
	}
	if o.Rate == 0 && o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Body == nil {
		if o.Model == "" {
			o.Model = DefaultModel
		}
		o.Body = defaultBody(o.Model, o.Stream)
	}
	if o.StatsURL == "" {
		o.StatsURL = u.Scheme + "://" + u.Host + "/mock/stats"
	}
	return o, nil
}

// defaultBody is a small chat request: the answer, not the prompt, is what
// a benchmark of a gateway should spend its time on.
func defaultBody(model string, stream bool) []byte {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	b, err := json.Marshal(struct {
		Model    string    `json:"model"`
		Messages []message `json:"messages"`
		Stream   bool      `json:"stream,omitempty"`
	}{model, []message{{"user", "Say hello"}}, stream})
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return b
}

// LoadRootCAs returns the system roots plus the PEM certificates in file,
// for Options.RootCAs (the CLI's --ca).
func LoadRootCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("bench: CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots on this machine: trust the file alone
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("bench: CA file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

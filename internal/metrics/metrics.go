// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warmgate/warmgate/internal/buildinfo"
	"github.com/warmgate/warmgate/upstream"
)

// latencyBuckets are the buckets of request and first-byte histograms, in
// seconds: from 1ms to 10 minutes, since a long generation or a reasoning
// model's first token can take minutes.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// handshakeBuckets are the buckets of the handshake and pool-wait
// histograms, in seconds: from 100µs (a connect on the same host) to 30s
// (the default pool wait).
var handshakeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds warmgate's Prometheus series in its own registry. It
// implements upstream.Observer; pass it to upstream.New with
// upstream.WithObserver, then call WatchPool with the pool. It is safe for
// concurrent use; the zero value is not usable, call New.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	// Gateway level.
	requests    *prometheus.CounterVec   // route, code
	requestDur  *prometheus.HistogramVec // route
	tokens      *prometheus.CounterVec   // key, model, kind
	rateLimited *prometheus.CounterVec   // key, limit
	stateErrors *prometheus.CounterVec   // backend, op
	stateUp     *prometheus.GaugeVec     // backend
	budget      *prometheus.CounterVec   // key, period

	// By model and key, with label values from the config (models.go).
	modelRequests *prometheus.CounterVec   // model, key, code
	modelDur      *prometheus.HistogramVec // model
	cost          *prometheus.CounterVec   // model, key

	// Per attempt (Observer).
	upRequests  *prometheus.CounterVec   // upstream, code
	retries     *prometheus.CounterVec   // upstream, reason
	handshake   *prometheus.HistogramVec // upstream, phase
	poolWait    *prometheus.HistogramVec // upstream
	firstByte   *prometheus.HistogramVec // upstream
	streamBytes *prometheus.CounterVec   // upstream

	pools *poolCollector

	ups    cowMap[string, *upstreamSeries]
	routes cowMap[string, *routeSeries]
	pairs  cowMap[pairKey, *pairSeries]
	// tokenPairs caches the series of warmgate_tokens_total by the key
	// and model names Tokens is given (at most maxTokenPairs of them, each
	// at most MaxLabelLen long), so that counting tokens costs a map
	// lookup, not the caps' locks and label hashing.
	tokenPairs cowMap[pairKey, *tokenSeries]
	labels     atomic.Pointer[labelSet] // set by Configure
	// Caps on free-form label values.
	routeCap, keyCap, modelCap, limitCap *capSet
}

// routeSeries are the cached children of one route's series.
type routeSeries struct {
	codes *codeCounters
	dur   prometheus.Observer
}

// New returns a Metrics with every warmgate series, the Go runtime and the
// process collectors registered in a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),

		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_requests_total",
			Help: "Requests answered by the gateway, by route and HTTP status.",
		}, []string{"route", "code"}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warmgate_request_duration_seconds",
			Help:    "Time from receiving a request to the end of its response, by route.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_tokens_total",
			Help: "Tokens used, by configured key name, model and kind (prompt, completion).",
		}, []string{"key", "model", "kind"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_ratelimited_total",
			Help: "Requests refused by a rate limit, by configured key name and limit.",
		}, []string{"key", "limit"}),

		stateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_state_errors_total",
			Help: "Calls to the shared state (rate limits, budgets) that failed, by backend (redis) and operation (limit, adjust, spend).",
		}, []string{"backend", "op"}),
		stateUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "warmgate_state_up",
			Help: "1 while the last call to the shared state succeeded, 0 after a failure, by backend (memory, redis).",
		}, []string{"backend"}),
		budget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_budget_exceeded_total",
			Help: "Requests refused because the key spent its budget, by configured key name and period (day, month).",
		}, []string{"key", "period"}),

		modelRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_model_requests_total",
			Help: "API requests answered by the gateway, by model (a configured name or glob, other, none), configured key name (none without a key) and HTTP status.",
		}, []string{"model", "key", "code"}),
		modelDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warmgate_model_request_duration_seconds",
			Help:    "Time from receiving an API request to the end of its response, by model (as in warmgate_model_requests_total).",
			Buckets: latencyBuckets,
		}, []string{"model"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_cost_usd_total",
			Help: "What the answers' usage cost at the config's prices, in US dollars, by model and key (as in warmgate_model_requests_total).",
		}, []string{"model", "key"}),

		upRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_upstream_requests_total",
			Help: "Attempts sent upstream, by status code, or by failure kind (dial, pool_exhausted, ...) when there was no response.",
		}, []string{"upstream", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_upstream_retries_total",
			Help: "Failed attempts followed by another attempt, by reason.",
		}, []string{"upstream", "reason"}),
		handshake: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warmgate_upstream_handshake_seconds",
			Help:    "Duration of the phases of opening a connection (dns, connect, tls), failed ones included.",
			Buckets: handshakeBuckets,
		}, []string{"upstream", "phase"}),
		poolWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warmgate_upstream_pool_wait_seconds",
			Help:    "Time from asking for a connection to getting one (dial included), or to giving up when the pool was exhausted.",
			Buckets: handshakeBuckets,
		}, []string{"upstream"}),
		firstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warmgate_upstream_first_byte_seconds",
			Help:    "Time from the start of an attempt to its response headers (the first token of a stream), for attempts that got a response.",
			Buckets: latencyBuckets,
		}, []string{"upstream"}),
		streamBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "warmgate_upstream_stream_bytes_total",
			Help: "Response body bytes read from the upstream.",
		}, []string{"upstream"}),

		pools: newPoolCollector(),

		routeCap: newCapSet(MaxLabelValues),
		keyCap:   newCapSet(MaxLabelValues),
		modelCap: newCapSet(MaxLabelValues),
		limitCap: newCapSet(MaxLabelValues),
	}
	bi := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "warmgate_build_info",
		Help:        "Always 1; its labels say which build runs: version, commit (-dirty for a modified tree) and Go version.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": commitLabel(bi), "go": bi.Go},
	})
	build.Set(1)
	m.reg.MustRegister(
		build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDur, m.tokens, m.rateLimited, m.stateErrors, m.stateUp, m.budget,
		m.modelRequests, m.modelDur, m.cost,
		m.upRequests, m.retries, m.handshake, m.poolWait, m.firstByte, m.streamBytes,
		m.pools,
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A failing collector costs its own series, not the whole scrape;
		// failures are counted in promhttp_metric_handler_errors_total.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
	return m
}

// commitLabel is the build's commit for warmgate_build_info, "-dirty"
// after it when built from a modified tree.
func commitLabel(bi buildinfo.Info) string {
	if bi.Dirty {
		return bi.Commit + "-dirty"
	}
	return bi.Commit
}

// Registry returns the registry holding every series, for registering more
// collectors or for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Observer returns m as an upstream.Observer, for upstream.WithObserver.
func (m *Metrics) Observer() upstream.Observer { return m }

// Request records one request answered by the gateway: its route (the
// configured route pattern, never the raw path), the HTTP status sent and
// the time to the end of the response.
func (m *Metrics) Request(route string, code int, d time.Duration) {
	r := m.routes.get(m.routeCap.value(route), m.newRouteSeries)
	r.codes.forStatus(code).Inc()
	r.dur.Observe(d.Seconds())
}

func (m *Metrics) newRouteSeries(route string) *routeSeries {
	return &routeSeries{
		codes: newCodeCounters(m.requests, route),
		dur:   m.requestDur.WithLabelValues(route),
	}
}

// Tokens records the tokens of one request. key is the configured name of
// the caller's key, never the secret itself; model is the model the
// request was routed to. Negative counts are ignored.
func (m *Metrics) Tokens(key, model string, prompt, completion int) {
	k := pairKey{model: model, key: key}
	var s *tokenSeries
	if len(model) > MaxLabelLen || len(key) > MaxLabelLen {
		s = m.newTokenSeries(k) // "other": a name this long is not kept
	} else {
		s = m.tokenPairs.getMax(k, maxTokenPairs, m.newTokenSeries)
	}
	s.prompt.Add(float64(max(prompt, 0)))
	s.completion.Add(float64(max(completion, 0)))
}

// maxTokenPairs bounds Metrics.tokenPairs: far more (key, model) pairs
// than a deployment uses; past it, Tokens looks each pair's series up.
const maxTokenPairs = 1024

// tokenSeries are the two series of warmgate_tokens_total of one (key,
// model) pair.
type tokenSeries struct{ prompt, completion prometheus.Counter }

func (m *Metrics) newTokenSeries(k pairKey) *tokenSeries {
	key, model := m.keyCap.value(k.key), m.modelCap.value(k.model)
	return &tokenSeries{
		prompt:     m.tokens.WithLabelValues(key, model, "prompt"),
		completion: m.tokens.WithLabelValues(key, model, "completion"),
	}
}

// StateError records a failed call to the shared state backend; StateOK
// records a successful one. Both set warmgate_state_up.
func (m *Metrics) StateError(backend, op string) {
	m.stateErrors.WithLabelValues(backend, op).Inc()
	m.stateUp.WithLabelValues(backend).Set(0)
}

// StateOK marks the shared state backend as up.
func (m *Metrics) StateOK(backend string) { m.stateUp.WithLabelValues(backend).Set(1) }

// BudgetExceeded records a request refused by the key's budget for period
// ("day" or "month").
func (m *Metrics) BudgetExceeded(key, period string) {
	m.budget.WithLabelValues(m.keyCap.value(key), period).Inc()
}

// RateLimited records a request refused by the named limit (e.g. "rpm",
// "tpm") of the key with the given configured name.
func (m *Metrics) RateLimited(key, limit string) {
	m.rateLimited.WithLabelValues(m.keyCap.value(key), m.limitCap.value(limit)).Inc()
}

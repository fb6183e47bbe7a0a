// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package tracing is warmgate's OpenTelemetry tracing: a server span per
// request (Handler), a client span per upstream attempt (Observer, fed by
// the pool's upstream.Observer events) and the W3C trace context sent
// upstream (Inject), exported over OTLP/HTTP.
//
// Tracing is off unless configured, and off means absent: the gateway then
// installs no handler and no observer, and the two calls it makes on every
// request, Inject and Annotate, return at once because the request's
// context holds no span.
//
// Nothing here is global: a Tracer owns its TracerProvider, and the
// otel package's global provider and propagator are left alone.
package tracing

import (
	"context"
	"errors"
	"math"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// Config says where spans go and how many.
type Config struct {
	// Endpoint is the OTLP/HTTP traces URL, e.g.
	// http://localhost:4318/v1/traces, used as is. The exporter also reads
	// OTEL_EXPORTER_OTLP_HEADERS and _COMPRESSION (and their _TRACES_
	// forms); not the _CERTIFICATE and _TIMEOUT ones, as it uses our own
	// HTTP client (system roots, exportTimeout).
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0..1, by trace id.
	// A request that carries a trace context follows its caller's
	// sampling decision instead.
	SampleRatio float64
	// PerSecond new traces a second are recorded besides SampleRatio's
	// share (a token bucket of that rate and burst): at low traffic every
	// request, under load a bounded number. 0 adds none.
	PerSecond float64
	// FailuresPerSecond caps the failed requests recorded beyond the
	// sampling (see Handler): a failure storm (an upstream down, Redis
	// down and fail_closed) must not turn into a tracing storm. 0 means
	// DefaultFailuresPerSecond; failures above it are recorded only if
	// sampled.
	FailuresPerSecond float64
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Exporter, when set, replaces the OTLP exporter, and spans are
	// exported one by one as they end instead of in batches: for tests
	// (tracetest.NewInMemoryExporter) and programs with their own exporter.
	Exporter sdktrace.SpanExporter
}

// DefaultFailuresPerSecond is Config.FailuresPerSecond's default: every
// failure of a gateway in ordinary trouble, at a cost (about 20 µs each)
// that stays under a percent of a core.
const DefaultFailuresPerSecond = 100

// instrumentation names the tracer, as OpenTelemetry asks: the module.
const instrumentation = "github.com/warmgate/warmgate"

// maxAttrLen bounds a span attribute's value, in bytes (see New).
const maxAttrLen = 1024

// exportTimeout bounds one OTLP request: a collector that does not answer
// must not hold spans (and memory) for the exporter's own 10s default
// plus retries.
const exportTimeout = 5 * time.Second

// Tracer makes warmgate's spans. Create it with New; call Shutdown to flush
// and stop it.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TraceContext
	root   root // decides for new traces (Handler)
	// failures caps the late recording of unsampled failed requests.
	failures *rate.Limiter
	// client sends to the collector; our own, so that Shutdown can close
	// its connections (the exporter's default transport is a package
	// global).
	client *http.Client
}

// New starts a Tracer that exports to cfg.Endpoint (or cfg.Exporter). It
// starts the batch span processor's goroutine; Shutdown stops it.
func New(ctx context.Context, cfg Config) (*Tracer, error) {
	if !(cfg.SampleRatio >= 0 && cfg.SampleRatio <= 1) {
		return nil, errors.New("tracing: sample ratio must be within 0..1")
	}
	if !(cfg.PerSecond >= 0) || math.IsInf(cfg.PerSecond, 0) {
		return nil, errors.New("tracing: traces per second must be a number ≥ 0")
	}
	if !(cfg.FailuresPerSecond >= 0) || math.IsInf(cfg.FailuresPerSecond, 0) {
		return nil, errors.New("tracing: failures per second must be a number ≥ 0")
	}
	t := &Tracer{}
	var proc sdktrace.TracerProviderOption
	if cfg.Exporter != nil {
		proc = sdktrace.WithSyncer(cfg.Exporter)
	} else {
		if cfg.Endpoint == "" {
			return nil, errors.New("tracing: no OTLP endpoint")
		}
		t.client = &http.Client{
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConnsPerHost: 2, // the batch processor sends one request at a time
				IdleConnTimeout:     90 * time.Second,
				TLSHandshakeTimeout: 10 * time.Second,
				ForceAttemptHTTP2:   true,
			},
			Timeout: exportTimeout,
		}
		exp, err := otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(cfg.Endpoint), // http:// means no TLS
			otlptracehttp.WithHTTPClient(t.client))
		if err != nil {
			return nil, err
		}
		proc = sdktrace.WithBatcher(exp)
	}
	t.root = newRoot(cfg.SampleRatio, cfg.PerSecond)
	fps := cfg.FailuresPerSecond
	if fps == 0 {
		fps = DefaultFailuresPerSecond
	}
	t.failures = rate.NewLimiter(rate.Limit(fps), max(1, int(math.Ceil(fps))))
	// A span attribute can hold a client's string (url.path is up to
	// server.max_header_bytes): cut values at maxAttrLen unless the
	// OTEL_*ATTRIBUTE_VALUE_LENGTH_LIMIT variables say otherwise.
	limits := sdktrace.NewSpanLimits()
	if limits.AttributeValueLengthLimit < 0 {
		limits.AttributeValueLengthLimit = maxAttrLen
	}
	t.tp = sdktrace.NewTracerProvider(proc,
		sdktrace.WithRawSpanLimits(limits),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(cfg.ServiceName))),
		sdktrace.WithSampler(sampler{sdktrace.ParentBased(t.root)}),
		sdktrace.WithIDGenerator(ids{}))
	t.tracer = t.tp.Tracer(instrumentation)
	return t, nil
}

// Shutdown exports the spans still buffered and stops the Tracer, within
// ctx. Spans that end later are dropped.
func (t *Tracer) Shutdown(ctx context.Context) error {
	err := t.tp.Shutdown(ctx)
	if t.client != nil {
		t.client.CloseIdleConnections()
	}
	return err
}

// ForceFlush exports the spans buffered so far.
func (t *Tracer) ForceFlush(ctx context.Context) error { return t.tp.ForceFlush(ctx) }

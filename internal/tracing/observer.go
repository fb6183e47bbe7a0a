// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// Attribute keys of the attempt spans.
const (
	keyAttempt   = attribute.Key("warmgate.attempt")
	keyReused    = attribute.Key("warmgate.conn.reused")
	keyNewConn   = attribute.Key("warmgate.conn.new")
	keyDNS       = attribute.Key("warmgate.handshake.dns_ms")
	keyConnect   = attribute.Key("warmgate.handshake.connect_ms")
	keyTLS       = attribute.Key("warmgate.handshake.tls_ms")
	keyPoolWait  = attribute.Key("warmgate.pool_wait_ms")
	keyExhausted = attribute.Key("warmgate.pool_exhausted")
)

// Observer returns the upstream.Observer that records each upstream
// attempt as a client span under the request span found in the attempt's
// Context. The span is made when the attempt's outcome is known, with the
// attempt's real start (AttemptInfo.Start) and end (Start+FirstByte): the
// pool needs no tracing code of its own. Attempts of requests without a
// recording span (not sampled, or not from the gateway) are skipped.
func (t *Tracer) Observer() upstream.Observer { return observer{t.tracer} }

type observer struct{ tracer trace.Tracer }

// Attempt implements upstream.Observer.
func (o observer) Attempt(a upstream.AttemptInfo) {
	if a.Context == nil {
		return
	}
	if !trace.SpanFromContext(a.Context).IsRecording() {
		if h := heldFrom(a.Context); h != nil {
			h.add(a) // recorded later if the request fails
		}
		return
	}
	o.span(a)
}

// span records a as a client span under the request span in a.Context.
func (o observer) span(a upstream.AttemptInfo) {
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs,
		keyUpstream.String(a.Upstream),
		keyAttempt.Int(a.Attempt),
		keyReused.Bool(a.Reused),
		keyNewConn.Bool(a.NewConn),
		keyPoolWait.Float64(ms(a.PoolWait)))
	// network.protocol.name is left out: "http" is what its absence
	// means (the semantic conventions).
	switch a.Proto {
	case "h2":
		attrs = append(attrs, semconv.NetworkProtocolVersion("2"))
	case "http/1.1":
		attrs = append(attrs, semconv.NetworkProtocolVersion("1.1"))
	}
	for _, h := range [...]struct {
		k attribute.Key
		d time.Duration
	}{{keyDNS, a.DNS}, {keyConnect, a.Connect}, {keyTLS, a.TLS}} {
		if h.d > 0 {
			attrs = append(attrs, h.k.Float64(ms(h.d)))
		}
	}
	if a.Exhausted {
		attrs = append(attrs, keyExhausted.Bool(true))
	}
	if a.Status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(a.Status))
	}
	_, span := o.tracer.Start(a.Context, "upstream "+a.Upstream,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(a.Start))
	span.SetAttributes(attrs...) // one copy fewer than trace.WithAttributes
	// A client span fails on a transport error or any error status: a
	// 429 or 503 the pool retries is still a failed attempt.
	switch {
	case a.Kind != upstream.KindUnknown:
		span.SetAttributes(semconv.ErrorTypeKey.String(a.Kind.String()))
		span.SetStatus(codes.Error, a.Kind.String())
	case a.Status >= 400:
		code := strconv.Itoa(a.Status)
		span.SetAttributes(semconv.ErrorTypeKey.String(code))
		span.SetStatus(codes.Error, "status "+code)
	}
	span.End(trace.WithTimestamp(a.Start.Add(a.FirstByte)))
}

// Retry implements upstream.Observer; the attempt spans show retries.
func (observer) Retry(string, upstream.RetryReason) {}

// BodyDone implements upstream.Observer. An attempt span ends at the
// response headers; the body's time is in the request span.
func (observer) BodyDone(upstream.BodyInfo) {}

// ms is d in milliseconds, fractional: handshakes on a LAN take less than
// one.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

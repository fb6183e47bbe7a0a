// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// Attribute keys of our own, beside the OpenTelemetry semantic
// conventions'.
const (
	keyRequestID = attribute.Key("warmgate.request_id")
	keyKey       = attribute.Key("warmgate.key") // the client key's name
	keyModel     = attribute.Key("warmgate.model")
	keyUpstream  = attribute.Key("warmgate.upstream")
)

// Handler returns next with a server span around each request that route
// accepts, named "METHOD route" (route is the bounded route name, e.g.
// "/v1/chat/completions"). The span continues the caller's W3C trace
// context (traceparent, tracestate) when it sent one, and reaches next in
// the request's context: Annotate and Inject find it there, and so does the
// pool's observer, through upstream.AttemptInfo.Context.
func (t *Tracer) Handler(next http.Handler, route func(path string) (name string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := route(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.prop.Extract(r.Context(), headerCarrier(r.Header))
		// A client can send any method; spans are named by the known ones
		// only (OpenTelemetry's rule), so their names stay few.
		method, name := r.Method, r.Method+" "+rt
		if !methods[method] {
			method, name = "_OTHER", "HTTP "+rt
		}
		// The sampling decision and the ids are made here, so that a
		// request that is not sampled (most, on a busy gateway) costs no
		// trip through the SDK: a span context in its context is all it
		// needs to be propagated, and all its held record needs to be
		// recorded later with the same ids. ParentBased's rule: a caller's
		// decision wins; new traces are the root sampler's.
		parent, now := ctx, time.Now()
		sc := t.newSpanContext(trace.SpanContextFromContext(ctx), now)
		if sc.IsSampled() {
			// The SDK records it with sc's ids (forceKey); the handler's
			// context gets the span without the key, so that the attempt
			// spans get ids of their own.
			_, span := t.tracer.Start(context.WithValue(ctx, forceKey{}, sc), name, serverSpan...)
			defer span.End() // also when next panics (an aborted stream)
			startAttrs(span, method, r.URL.Path, rt)
			next.ServeHTTP(w, r.WithContext(trace.ContextWithSpan(ctx, span)))
			return
		}
		// Not sampled: held until its outcome says whether to record it
		// after all (held.go).
		hc := &heldCtx{Context: trace.ContextWithSpanContext(ctx, sc), h: held{start: now, sc: sc}}
		defer func() { // also when next panics: a failure if Annotate said so
			if hc.h.failed() && t.failures.Allow() {
				t.record(parent, name, method, r.URL.Path, rt, &hc.h)
			}
		}()
		next.ServeHTTP(w, r.WithContext(hc))
	})
}

// newSpanContext returns the request span's context: a new span of the
// caller's trace, sampled as the caller said, or of a new trace, sampled
// as the root sampler says.
func (t *Tracer) newSpanContext(caller trace.SpanContext, now time.Time) trace.SpanContext {
	cfg := trace.SpanContextConfig{SpanID: newSpanID()}
	if caller.IsValid() {
		cfg.TraceID, cfg.TraceState = caller.TraceID(), caller.TraceState()
		if caller.IsSampled() {
			cfg.TraceFlags = trace.FlagsSampled
		}
	} else {
		cfg.TraceID = newTraceID()
		if t.root.sample(cfg.TraceID, now) {
			cfg.TraceFlags = trace.FlagsSampled
		}
	}
	return trace.NewSpanContext(cfg)
}

// serverSpan are the request span's options, made once: made per call
// they cost two allocations.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// startAttrs sets a request span's attributes known at its start.
func startAttrs(span trace.Span, method, path, route string) {
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPath(path),
		semconv.HTTPRoute(route))
}

// methods are the HTTP methods named as such in spans (the OpenTelemetry
// list); others are "_OTHER".
var methods = map[string]bool{
	http.MethodConnect: true, http.MethodDelete: true, http.MethodGet: true, http.MethodHead: true,
	http.MethodOptions: true, http.MethodPatch: true, http.MethodPost: true, http.MethodPut: true, http.MethodTrace: true,
}

// Request is what the gateway knows of a request when it is answered.
type Request struct {
	ID       string // the request id (X-Request-Id)
	Status   int    // the status the client got; 499 when it left first
	Key      string // the client key's name; never the key itself
	Model    string // the model the client asked for
	Upstream string // the upstream that answered, or the last that failed
	Err      error  // why the request failed, if it did
}

// Annotate puts req on the request span in ctx: status, request id, key
// name, model, upstream, and an error status for a 5xx or for an answer
// that failed after a success status was sent (a stream cut short). It
// does nothing when ctx holds no recording span: tracing is off, or the
// request was not sampled.
func Annotate(ctx context.Context, req Request) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		if h := heldFrom(ctx); h != nil {
			h.annotate(req)
		}
		return
	}
	annotate(span, req)
}

// annotate puts req on span.
func annotate(span trace.Span, req Request) {
	// One SetAttributes call: each takes the span's lock and may grow its
	// attribute slice.
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, semconv.HTTPResponseStatusCode(req.Status), keyRequestID.String(req.ID))
	if req.Key != "" {
		attrs = append(attrs, keyKey.String(req.Key))
	}
	if req.Model != "" {
		attrs = append(attrs, keyModel.String(req.Model))
	}
	if req.Upstream != "" {
		attrs = append(attrs, keyUpstream.String(req.Upstream))
	}
	// A 4xx is the client's mistake, not the server's failure (the
	// OpenTelemetry rule for server spans).
	switch {
	case req.Status >= 500:
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(req.Err, req.Status)))
		span.SetStatus(codes.Error, errorText(req.Err, req.Status))
	case req.Err != nil && req.Status < 400:
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(req.Err, 0)))
		span.SetStatus(codes.Error, req.Err.Error())
	}
	span.SetAttributes(attrs...)
}

// Inject writes the W3C trace context of the span in ctx to h, the headers
// of a request going upstream, replacing the client's traceparent and
// tracestate: the upstream's spans then hang under the gateway's request
// span. Without a span in ctx (tracing off) it does nothing, and what the
// client sent passes through unchanged.
func Inject(ctx context.Context, h http.Header) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	h.Del("Traceparent")
	h.Del("Tracestate")
	propagation.TraceContext{}.Inject(ctx, headerCarrier(h))
}

// headerCarrier is propagation.HeaderCarrier without its cost per call:
// the propagator asks for "traceparent" and "tracestate", which
// HeaderCarrier canonicalizes (an allocation) every time.
type headerCarrier http.Header

// Get implements propagation.TextMapCarrier.
func (c headerCarrier) Get(key string) string {
	if v := c[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set implements propagation.TextMapCarrier.
func (c headerCarrier) Set(key, value string) { c[canonicalKey(key)] = []string{value} }

// Keys implements propagation.TextMapCarrier.
func (c headerCarrier) Keys() []string { return propagation.HeaderCarrier(c).Keys() }

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	}
	return http.CanonicalHeaderKey(key)
}

// errorType is the error.type attribute: the upstream failure's kind, else
// the status code, else "_OTHER" (the convention's fallback).
func errorType(err error, status int) string {
	var ue *upstream.Error
	switch {
	case errors.As(err, &ue):
		return ue.Kind.String()
	case status > 0:
		return strconv.Itoa(status)
	}
	return "_OTHER"
}

func errorText(err error, status int) string {
	if err != nil {
		return err.Error()
	}
	return http.StatusText(status)
}

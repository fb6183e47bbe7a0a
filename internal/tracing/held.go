// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// Failed requests are recorded whatever the sample ratio says. A request
// that the ratio leaves out still gets a span context (its traceparent goes
// upstream, marked not sampled) and, in its context, a held record of its
// attempts and outcome: a few hundred bytes, one allocation. When it ends
// in a failure (see held.failed), the Tracer records its spans after the
// fact, with their real start and end times and the very trace and span
// ids the upstream was sent, so that a provider's or a model server's own
// spans still hang under them. A request that ended well is dropped, as
// sampling said.

// held is what an unsampled request keeps until its outcome is known.
type held struct {
	mu       sync.Mutex
	start    time.Time
	sc       trace.SpanContext // the unsampled span's: the ids sent upstream
	req      Request
	done     bool                 // Annotate was called
	first    upstream.AttemptInfo // the first attempt, without its Context
	more     []upstream.AttemptInfo
	attempts int
}

// heldCtx is a request's context with its held record: one allocation
// for both.
type heldCtx struct {
	context.Context
	h held
}

type heldKey struct{}

// Value implements context.Context.
func (c *heldCtx) Value(key any) any {
	if key == (heldKey{}) {
		return &c.h
	}
	return c.Context.Value(key)
}

// heldFrom returns the held record in ctx, or nil.
func heldFrom(ctx context.Context) *held {
	if ctx == nil {
		return nil
	}
	h, _ := ctx.Value(heldKey{}).(*held)
	return h
}

// add keeps a copy of an attempt.
func (h *held) add(a upstream.AttemptInfo) {
	a.Context = nil // not kept past the call (upstream.AttemptInfo's rule)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attempts == 0 {
		h.first = a
	} else {
		h.more = append(h.more, a)
	}
	h.attempts++
}

// annotate keeps the request's outcome.
func (h *held) annotate(req Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.req, h.done = req, true
}

// failed says whether the request is worth its spans after all: it
// failed (the rules of Annotate's error status), or one of its attempts
// did (a retry, a failover).
func (h *held) failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done {
		return false
	}
	if r := h.req; r.Status >= 500 || (r.Err != nil && r.Status < 400) {
		return true
	}
	for i := range h.attempts {
		if attemptFailed(h.attempt(i)) {
			return true
		}
	}
	return false
}

// attempt returns the i-th attempt kept; h.mu is held.
func (h *held) attempt(i int) *upstream.AttemptInfo {
	if i == 0 {
		return &h.first
	}
	return &h.more[i-1]
}

// attemptFailed is the attempt span's error rule.
func attemptFailed(a *upstream.AttemptInfo) bool {
	return a.Kind != upstream.KindUnknown || a.Status >= 400
}

// record makes the held request's spans: the request span under parent
// (the caller's context, if it sent one), then its attempts under it.
func (t *Tracer) record(parent context.Context, name, method, path, route string, h *held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	force := context.WithValue(parent, forceKey{}, h.sc)
	_, span := t.tracer.Start(force, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(h.start))
	if sc := span.SpanContext(); sc.TraceID() != h.sc.TraceID() || sc.SpanID() != h.sc.SpanID() || !span.IsRecording() {
		// Not our sampler or ids (a Config.Exporter test would show it):
		// never record spans the upstream was not told of.
		span.End()
		return
	}
	startAttrs(span, method, path, route)
	annotate(span, h.req)
	ctx := trace.ContextWithSpan(parent, span) // without forceKey: new ids for the attempts
	o := observer{t.tracer}
	for i := range h.attempts {
		a := *h.attempt(i)
		a.Context = ctx
		o.span(a)
	}
	span.End()
}

// forceKey marks the context of a request span decided and named in
// advance (by the Handler, or for a held request that failed): the sampler
// records it, and the id generator gives it the ids of the span context
// the key holds, the ones the upstream was sent.
type forceKey struct{}

// sampler is the provider's sampler: ParentBased(root) for spans started
// without a decision made beforehand (the attempt spans, under their
// recorded request span), and RecordAndSample for a span whose context
// carries forceKey: a request span the Handler decided to record, or the
// late span of a held request that failed.
type sampler struct{ sdktrace.Sampler }

// ShouldSample implements sdktrace.Sampler.
func (s sampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if sc, ok := p.ParentContext.Value(forceKey{}).(trace.SpanContext); ok {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: sc.TraceState()}
	}
	return s.Sampler.ShouldSample(p)
}

// Description implements sdktrace.Sampler.
func (s sampler) Description() string { return s.Sampler.Description() + "+failures" }

// ids is the SDK's random id generator (math/rand/v2, as the SDK's own),
// except for a span started with forceKey, which gets the ids the key
// holds.
type ids struct{}

// NewIDs implements sdktrace.IDGenerator.
func (ids) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if sc, ok := ctx.Value(forceKey{}).(trace.SpanContext); ok {
		return sc.TraceID(), sc.SpanID()
	}
	return newTraceID(), newSpanID()
}

func newTraceID() trace.TraceID {
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid
}

// NewSpanID implements sdktrace.IDGenerator.
func (ids) NewSpanID(ctx context.Context, tid trace.TraceID) trace.SpanID {
	if sc, ok := ctx.Value(forceKey{}).(trace.SpanContext); ok && sc.TraceID() == tid {
		return sc.SpanID()
	}
	return newSpanID()
}

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

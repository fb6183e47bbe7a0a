// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"fmt"
	"math"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// root decides for new traces (requests whose caller sent no trace
// context): those its ratio picks by trace id, plus up to perSecond more a
// second. The second part makes a quiet gateway trace every request and a
// busy one a bounded number, the way AWS X-Ray's default rule (a
// reservoir of one a second plus 5%) and Jaeger's rate-limiting sampler
// do; the ratio keeps a share proportional to traffic.
type root struct {
	ratio sdktrace.Sampler
	// extra is nil when perSecond is 0 (or the ratio already takes
	// every trace).
	extra *rate.Limiter
	desc  string
}

func newRoot(ratio, perSecond float64) root {
	r := root{ratio: sdktrace.TraceIDRatioBased(ratio),
		desc: fmt.Sprintf("WarmgateRoot{ratio=%g, per_second=%g}", ratio, perSecond)}
	if perSecond > 0 && ratio < 1 {
		r.extra = rate.NewLimiter(rate.Limit(perSecond), max(1, int(math.Ceil(perSecond))))
	}
	return r
}

// ShouldSample implements sdktrace.Sampler, for root spans the Handler
// did not decide in advance (none in the gateway today).
func (r root) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	if r.sample(p.TraceID, time.Now()) {
		res.Decision = sdktrace.RecordAndSample
	}
	return res
}

// sample decides for a new trace with id tid: the ratio by trace id, else
// the per-second allowance, with the time already read by the caller
// (time.Now is not free on every VM).
func (r root) sample(tid trace.TraceID, now time.Time) bool {
	if r.ratio.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid}).Decision == sdktrace.RecordAndSample {
		return true
	}
	return r.extra != nil && r.extra.AllowN(now, 1)
}

// Description implements sdktrace.Sampler.
func (r root) Description() string { return r.desc }

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRootSampler: the ratio's share by trace id, plus at most perSecond
// more in a second (the burst, here: the calls take far less than a
// second to make, so the bucket barely refills).
func TestRootSampler(t *testing.T) {
	for _, tc := range []struct {
		name             string
		ratio, perSecond float64
		min, max         int // sampled of 10,000 new traces
	}{
		{"ratio only", 0.1, 0, 800, 1200},
		{"none", 0, 0, 0, 0},
		{"per second only", 0, 50, 50, 60},
		{"both", 0.1, 50, 850, 1260},
		{"all", 1, 50, 10000, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRoot(tc.ratio, tc.perSecond)
			gen := ids{}
			n := 0
			for range 10000 {
				tid, _ := gen.NewIDs(context.Background())
				if s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid}).Decision == sdktrace.RecordAndSample {
					n++
				}
			}
			if n < tc.min || n > tc.max {
				t.Errorf("%d of 10000 sampled, want %d..%d", n, tc.min, tc.max)
			}
		})
	}
}

// TestNewRejectsPerSecond: a negative or infinite rate is refused.
func TestNewRejectsPerSecond(t *testing.T) {
	for _, v := range []float64{-1, math.Inf(1)} {
		if _, err := New(t.Context(), Config{SampleRatio: 0.5, PerSecond: v, Exporter: discard{}}); err == nil {
			t.Errorf("PerSecond %v accepted", v)
		}
	}
}

// TestHandlerPerSecond: the Handler's own decision for new traces honours
// the per-second allowance: at ratio 0 with 5 a second, 50 quick requests
// record 5 (the bucket's burst), and every request still propagates.
func TestHandlerPerSecond(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(t.Context(), Config{SampleRatio: 0, PerSecond: 5, Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	propagated := 0
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := http.Header{}
		Inject(r.Context(), out)
		if out.Get("Traceparent") != "" {
			propagated++
		}
		Annotate(r.Context(), Request{Status: 200})
	}), everyRoute)
	for range 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	}
	if n := len(exp.GetSpans()); n != 5 {
		t.Errorf("%d of 50 requests recorded, want 5", n)
	}
	if propagated != 50 {
		t.Errorf("%d of 50 requests sent a traceparent upstream, want all", propagated)
	}
}

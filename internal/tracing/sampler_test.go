package tracing

import (
	"context"
	"math"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

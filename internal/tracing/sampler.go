package tracing

import (
	"fmt"
	"math"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// ShouldSample implements sdktrace.Sampler.
func (r root) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := r.ratio.ShouldSample(p)
	if res.Decision == sdktrace.Drop && r.extra != nil && r.extra.Allow() {
		res.Decision = sdktrace.RecordAndSample
	}
	return res
}

// Description implements sdktrace.Sampler.
func (r root) Description() string { return r.desc }

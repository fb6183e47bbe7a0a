// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/warmgate/warmgate/upstream"
)

// discard is a SpanExporter that drops spans: what making spans costs,
// without exporting them.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkRequest is the tracing work of one gateway request with one
// attempt, without the gateway: the server span (with the caller's
// traceparent), Inject, the attempt span, Annotate. "record" drops the
// finished spans; "otlp" batches and sends them to an in-process sink
// (the measurement ends with the flush), "unsampled" records nothing
// (ratio 0) but still propagates.
//
//	go test -run '^$' -bench BenchmarkRequest -benchmem ./internal/tracing/
func BenchmarkRequest(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer sink.Close()
	for _, v := range []struct {
		name string
		cfg  Config
	}{
		{"record", Config{SampleRatio: 1, ServiceName: "bench", Exporter: discard{}}},
		{"otlp", Config{SampleRatio: 1, ServiceName: "bench", Endpoint: sink.URL + "/v1/traces"}},
		{"unsampled", Config{SampleRatio: 0, ServiceName: "bench", Exporter: discard{}}},      // the caller's flags say not sampled
		{"root-unsampled", Config{SampleRatio: 0, ServiceName: "bench", Exporter: discard{}}}, // no caller context, ratio says no
	} {
		b.Run(v.name, func(b *testing.B) {
			tr, err := New(b.Context(), v.cfg)
			if err != nil {
				b.Fatal(err)
			}
			obs := tr.Observer()
			h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out := http.Header{}
				Inject(r.Context(), out)
				obs.Attempt(upstream.AttemptInfo{Upstream: "openai", Attempt: 1, Status: 200, Reused: true, Proto: "h2",
					PoolWait: time.Microsecond, FirstByte: time.Millisecond, Start: time.Now(), Context: r.Context()})
				Annotate(r.Context(), Request{ID: "req_0123456789abcdef01234567", Status: 200, Key: "team-a", Model: "gpt-4.1-mini", Upstream: "openai"})
			}), func(p string) (string, bool) { return p, true })
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			flags := "01"
			if v.cfg.SampleRatio == 0 {
				flags = "00"
			}
			if v.name != "root-unsampled" {
				req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-"+flags)
			}
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
			if err := tr.Shutdown(context.Background()); err != nil { // in the measurement: the last export
				b.Fatal(err)
			}
		})
	}
}

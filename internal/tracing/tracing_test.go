// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// newTestTracer is a Tracer exporting to memory, stopped when the test ends.
func newTestTracer(t *testing.T, ratio float64) (*Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(t.Context(), Config{SampleRatio: ratio, ServiceName: "warmgate-test", Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr, exp
}

// attrs is a span's attributes by key.
func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(s.Attributes))
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// checkAttrs asserts that s has each of want (values compared as emitted).
func checkAttrs(t *testing.T, s tracetest.SpanStub, want ...attribute.KeyValue) {
	t.Helper()
	got := attrs(s)
	for _, kv := range want {
		v, ok := got[kv.Key]
		if !ok {
			t.Errorf("span %q has no %s; has %v", s.Name, kv.Key, s.Attributes)
			continue
		}
		if v != kv.Value {
			t.Errorf("span %q: %s = %v, want %v", s.Name, kv.Key, v.String(), kv.Value.String())
		}
	}
}

// otlpSink is a collector's OTLP/HTTP traces endpoint that keeps what it
// was sent.
type otlpSink struct {
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
	errs []string
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/traces":
		s.errs = append(s.errs, "unexpected "+r.Method+" "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		s.errs = append(s.errs, "Content-Type "+r.Header.Get("Content-Type"))
	case err != nil:
		s.errs = append(s.errs, err.Error())
	default:
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			s.errs = append(s.errs, "not an ExportTraceServiceRequest: "+err.Error())
			break
		}
		s.reqs = append(s.reqs, &req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		return // 200 with an empty body: all accepted
	}
	http.Error(w, "bad request", http.StatusBadRequest)
}

// TestOTLPExport: the OTLP/HTTP exporter really sends, as protobuf, to
// /v1/traces, and Shutdown flushes what the batch processor holds.
func TestOTLPExport(t *testing.T) {
	sink := &otlpSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	tr, err := New(t.Context(), Config{Endpoint: srv.URL + "/v1/traces", SampleRatio: 1, ServiceName: "warmgate-test"})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), Request{ID: "req-1", Status: http.StatusOK})
	}), everyRoute)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.errs) > 0 {
		t.Fatalf("the collector refused requests: %v", sink.errs)
	}
	var names []string
	var service string
	for _, req := range sink.reqs {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					service = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					names = append(names, sp.Name)
				}
			}
		}
	}
	if len(names) != 1 || names[0] != "POST /v1/chat/completions" {
		t.Errorf("collector got spans %q, want [\"POST /v1/chat/completions\"]", names)
	}
	if service != "warmgate-test" {
		t.Errorf("service.name = %q, want warmgate-test", service)
	}
}

// TestNewRejects: a Tracer needs somewhere to send and a ratio in 0..1.
func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Config
	}{
		{"no endpoint", Config{SampleRatio: 1}},
		{"ratio above 1", Config{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: 1.5}},
		{"negative ratio", Config{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: -0.1}},
		{"NaN ratio", Config{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: math.NaN()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(t.Context(), tc.in)
			if err == nil {
				_ = tr.Shutdown(t.Context())
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

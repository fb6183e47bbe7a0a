// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// noOTELEnv keeps the developer's OpenTelemetry variables out of a test
// that depends on whether tracing is on.
func noOTELEnv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
}

// startTracedGateway is startGateway with tracing on, exporting to memory.
func startTracedGateway(t *testing.T, yaml string, env map[string]string) (*gw, *tracetest.InMemoryExporter) {
	t.Helper()
	noOTELEnv(t)
	exp := tracetest.NewInMemoryExporter()
	return startGateway(t, yaml, env, gateway.WithSpanExporter(exp)), exp
}

// spanAttrs is a span's attributes by key.
func spanAttrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// requestSpan waits for the server span of the request with id to be
// exported (it ends after the answer is written) and returns it with its
// children, in attempt order.
func requestSpan(t *testing.T, exp *tracetest.InMemoryExporter, id string) (tracetest.SpanStub, []tracetest.SpanStub) {
	t.Helper()
	var server tracetest.SpanStub
	eventually(t, 5*time.Second, "the request span of "+id, func() bool {
		for _, s := range exp.GetSpans() {
			if s.SpanKind == trace.SpanKindServer && spanAttrs(s)["warmgate.request_id"].AsString() == id {
				server = s
				return true
			}
		}
		return false
	})
	var children []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Parent.SpanID() == server.SpanContext.SpanID() {
			children = append(children, s)
		}
	}
	slices.SortFunc(children, func(a, b tracetest.SpanStub) int {
		return int(spanAttrs(a)["warmgate.attempt"].AsInt64() - spanAttrs(b)["warmgate.attempt"].AsInt64())
	})
	return server, children
}

// TestTracingSpans: a request makes one server span with the request's
// facts, and one client span per upstream attempt under it: two when the
// mock fails the first with a 503, both on the warm connection.
func TestTracingSpans(t *testing.T) {
	const secret = "sk-client-secret-0123456789"
	m := startMock(t, mock.Options{})
	yaml := defaultYAML(t, m) + "keys:\n  - name: team-a\n    key_env: CLIENT_KEY\n"
	g, exp := startTracedGateway(t, yaml, map[string]string{"CLIENT_KEY": secret})
	auth := "Bearer " + secret

	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"Authorization", auth, "X-Request-Id", "warm-up"); a.status != http.StatusOK {
		t.Fatalf("warm-up: %d %s", a.status, a.body)
	}
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"Authorization", auth, "X-Request-Id", "trace-retry", mock.FaultHeader, "status=503,times=1")
	if a.status != http.StatusOK {
		t.Fatalf("retried request: %d %s", a.status, a.body)
	}

	server, attempts := requestSpan(t, exp, "trace-retry")
	if server.Name != "POST /v1/chat/completions" {
		t.Errorf("request span %q, want \"POST /v1/chat/completions\"", server.Name)
	}
	want := map[attribute.Key]attribute.Value{
		"http.request.method":       attribute.StringValue("POST"),
		"url.path":                  attribute.StringValue("/v1/chat/completions"),
		"http.route":                attribute.StringValue("/v1/chat/completions"),
		"http.response.status_code": attribute.IntValue(200),
		"warmgate.key":              attribute.StringValue("team-a"),
		"warmgate.model":            attribute.StringValue("gpt-4.1-mini"),
		"warmgate.upstream":         attribute.StringValue("mock"),
	}
	got := spanAttrs(server)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("request span %s = %v, want %v", k, got[k].String(), v.String())
		}
	}
	if server.Status.Code != codes.Unset {
		t.Errorf("request span status %v, want unset", server.Status)
	}

	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans under the request span, want 2: %v", len(attempts), attempts)
	}
	for i, s := range attempts {
		at := spanAttrs(s)
		if s.Name != "upstream mock" || s.SpanKind != trace.SpanKindClient || s.SpanContext.TraceID() != server.SpanContext.TraceID() {
			t.Errorf("attempt %d: span %q kind %v trace %v", i+1, s.Name, s.SpanKind, s.SpanContext.TraceID())
		}
		if at["warmgate.attempt"].AsInt64() != int64(i+1) || at["warmgate.upstream"].AsString() != "mock" {
			t.Errorf("attempt %d: attributes %v", i+1, s.Attributes)
		}
		if !at["warmgate.conn.reused"].AsBool() || at["warmgate.conn.new"].AsBool() {
			t.Errorf("attempt %d: conn.reused=%v conn.new=%v, want a reused (warm) connection",
				i+1, at["warmgate.conn.reused"].String(), at["warmgate.conn.new"].String())
		}
		if at["network.protocol.version"].AsString() != "1.1" {
			t.Errorf("attempt %d: network.protocol.version %q, want 1.1", i+1, at["network.protocol.version"].String())
		}
		if _, ok := at["warmgate.pool_wait_ms"]; !ok {
			t.Errorf("attempt %d: no warmgate.pool_wait_ms", i+1)
		}
		if s.StartTime.Before(server.StartTime) || s.EndTime.After(server.EndTime) || !s.EndTime.After(s.StartTime) {
			t.Errorf("attempt %d runs %v..%v, outside its request %v..%v", i+1, s.StartTime, s.EndTime, server.StartTime, server.EndTime)
		}
	}
	if st := spanAttrs(attempts[0])["http.response.status_code"].AsInt64(); st != 503 || attempts[0].Status.Code != codes.Error {
		t.Errorf("first attempt: status %d, span status %v; want 503, error", st, attempts[0].Status)
	}
	if st := spanAttrs(attempts[1])["http.response.status_code"].AsInt64(); st != 200 || attempts[1].Status.Code != codes.Unset {
		t.Errorf("second attempt: status %d, span status %v; want 200, unset", st, attempts[1].Status)
	}
	if !attempts[1].StartTime.After(attempts[0].EndTime) {
		t.Errorf("the retry starts at %v, before the first attempt ended at %v", attempts[1].StartTime, attempts[0].EndTime)
	}

	// The key's name is on the span; the key itself is on none.
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), secret) {
				t.Errorf("span %q attribute %s holds the client key", s.Name, kv.Key)
			}
		}
	}
	// Operational endpoints are not traced.
	g.do(t, http.MethodGet, "/healthz", "")
	g.do(t, http.MethodGet, "/v1/models", "", "Authorization", auth)
	eventually(t, 5*time.Second, "the span of GET /v1/models", func() bool {
		return slices.ContainsFunc(exp.GetSpans(), func(s tracetest.SpanStub) bool { return s.Name == "GET /v1/models" })
	})
	for _, s := range exp.GetSpans() {
		if strings.Contains(s.Name, "healthz") {
			t.Errorf("a probe was traced: %q", s.Name)
		}
	}
}

// TestTracingPropagation: the gateway continues the client's trace, and
// the upstream receives a traceparent of that trace whose parent is the
// gateway's request span; without one from the client, a new trace.
func TestTracingPropagation(t *testing.T) {
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	rec := startRecorder(t)
	g, exp := startTracedGateway(t, "upstreams:\n  - name: rec\n    base_url: "+rec.URL+"/v1\n", nil)

	for _, tc := range []struct {
		name        string
		traceparent string
	}{
		{"client trace", "00-" + clientTrace + "-00f067aa0ba902b7-01"},
		{"new trace", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "prop-" + strings.ReplaceAll(tc.name, " ", "-")
			a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
				"X-Request-Id", id, "Traceparent", tc.traceparent)
			if a.status != http.StatusOK {
				t.Fatalf("%d %s", a.status, a.body)
			}
			server, _ := requestSpan(t, exp, id)
			sc := server.SpanContext
			if tc.traceparent != "" && sc.TraceID().String() != clientTrace {
				t.Errorf("request span's trace %s, want the client's %s", sc.TraceID(), clientTrace)
			}
			hs := rec.take()
			if len(hs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(hs))
			}
			want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
			if got := hs[0].Values("Traceparent"); len(got) != 1 || got[0] != want {
				t.Errorf("upstream got traceparent %q, want [%q]", got, want)
			}
		})
	}
}

// TestTracingOff: without an endpoint nothing changes: no traceparent is
// added, and a client's passes through as it came.
func TestTracingOff(t *testing.T) {
	noOTELEnv(t)
	rec := startRecorder(t)
	g := startGateway(t, "upstreams:\n  - name: rec\n    base_url: "+rec.URL+"/v1\n", nil)

	g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
	const tp, ts = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc"
	g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "Traceparent", tp, "Tracestate", ts)
	hs := rec.take()
	if len(hs) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(hs))
	}
	if got := hs[0].Values("Traceparent"); got != nil {
		t.Errorf("tracing off, no client traceparent: upstream got %q, want none", got)
	}
	if got := hs[1].Values("Traceparent"); len(got) != 1 || got[0] != tp {
		t.Errorf("tracing off: upstream got traceparent %q, want the client's [%q]", got, tp)
	}
	if got := hs[1].Values("Tracestate"); len(got) != 1 || got[0] != ts {
		t.Errorf("tracing off: upstream got tracestate %q, want the client's [%q]", got, ts)
	}
	if strings.Contains(g.logs.String(), "tracing on") {
		t.Error("the gateway logged \"tracing on\" without an endpoint")
	}
}

// collector is an OTLP/HTTP traces endpoint that keeps the span names it
// was sent.
type collector struct {
	mu    sync.Mutex
	names []string
	bad   []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	err := proto.Unmarshal(b, &req)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		c.bad = append(c.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.names = append(c.names, s.Name)
			}
		}
	}
}

// TestTracingOTLP: with tracing.otlp_endpoint set (a base URL), the spans
// reach the collector's /v1/traces as OTLP protobuf, flushed at Shutdown.
func TestTracingOTLP(t *testing.T) {
	noOTELEnv(t)
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+"tracing: {otlp_endpoint: "+srv.URL+", service_name: wg-test}\n", nil)
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	g.tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.bad) > 0 {
		t.Errorf("collector refused: %v", col.bad)
	}
	slices.Sort(col.names)
	if want := []string{"POST /v1/chat/completions", "upstream mock"}; !slices.Equal(col.names, want) {
		t.Errorf("collector got spans %q, want %q", col.names, want)
	}
	if !strings.Contains(g.logs.String(), `"msg":"tracing on"`) {
		t.Errorf("no \"tracing on\" line in the log:\n%s", g.logs.String())
	}
}

// TestTracingFailuresRecordedUnsampled: sampling nothing (ratio 0, none
// per second), a request that went well leaves no span, and one that
// needed a retry is recorded anyway, its attempts under it.
func TestTracingFailuresRecordedUnsampled(t *testing.T) {
	m := startMock(t, mock.Options{})
	g, exp := startTracedGateway(t, defaultYAML(t, m)+"tracing:\n  sample_ratio: 0\n  sample_per_second: 0\n", nil)
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Request-Id", "fine"); a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"X-Request-Id", "retried", mock.FaultHeader, "status=503,times=1"); a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	server, attempts := requestSpan(t, exp, "retried")
	if !server.SpanContext.IsSampled() || len(attempts) != 2 {
		t.Fatalf("request span sampled=%v with %d attempts, want a recorded span with 2", server.SpanContext.IsSampled(), len(attempts))
	}
	if st := spanAttrs(attempts[0])["http.response.status_code"].AsInt64(); st != 503 {
		t.Errorf("first attempt status %d, want 503", st)
	}
	for _, s := range exp.GetSpans() {
		if spanAttrs(s)["warmgate.request_id"].AsString() == "fine" {
			t.Error("the request that went well was recorded at ratio 0")
		}
	}
	if n := len(exp.GetSpans()); n != 3 {
		t.Errorf("%d spans, want 3 (the retried request's)", n)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// TestObserverAttemptSpan: an attempt becomes a client span under the
// request span, spanning the attempt's real start to its response headers.
func TestObserverAttemptSpan(t *testing.T) {
	tr, exp := newTestTracer(t, 1)
	ctx, parent := tr.tracer.Start(t.Context(), "POST /v1/chat/completions")
	start := time.Now().Add(-time.Second)
	tr.Observer().Attempt(upstream.AttemptInfo{
		Upstream: "openai", Attempt: 2, Status: 200, Reused: true, Proto: "h2",
		PoolWait: 1500 * time.Microsecond, FirstByte: 30 * time.Millisecond,
		Start: start, Context: ctx,
	})
	parent.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	s := spans[0]
	if s.Name != "upstream openai" || s.SpanKind != trace.SpanKindClient {
		t.Errorf("span %q kind %v, want \"upstream openai\" kind client", s.Name, s.SpanKind)
	}
	if s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("attempt span's parent is %v, want the request span %v", s.Parent.SpanID(), parent.SpanContext().SpanID())
	}
	if !s.StartTime.Equal(start) || !s.EndTime.Equal(start.Add(30*time.Millisecond)) {
		t.Errorf("span from %v to %v, want %v to %v", s.StartTime, s.EndTime, start, start.Add(30*time.Millisecond))
	}
	checkAttrs(t, s,
		attribute.String("warmgate.upstream", "openai"),
		attribute.Int("warmgate.attempt", 2),
		attribute.Bool("warmgate.conn.reused", true),
		attribute.Bool("warmgate.conn.new", false),
		attribute.String("network.protocol.version", "2"),
		attribute.Float64("warmgate.pool_wait_ms", 1.5),
		attribute.Int("http.response.status_code", 200))
	for _, k := range []attribute.Key{"warmgate.handshake.dns_ms", "warmgate.handshake.connect_ms", "warmgate.handshake.tls_ms", "error.type"} {
		if _, ok := attrs(s)[k]; ok {
			t.Errorf("a reused connection's attempt has %s", k)
		}
	}
	if s.Status.Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status)
	}
}

// TestObserverAttemptOutcome: handshake times of a new connection, and
// which attempts fail their span.
func TestObserverAttemptOutcome(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        upstream.AttemptInfo
		want      codes.Code
		errorType string
		present   []attribute.Key
	}{
		{"new connection", upstream.AttemptInfo{Status: 200, NewConn: true, Proto: "http/1.1",
			DNS: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 3 * time.Millisecond},
			codes.Unset, "", []attribute.Key{"warmgate.handshake.dns_ms", "warmgate.handshake.connect_ms", "warmgate.handshake.tls_ms"}},
		{"retried 503", upstream.AttemptInfo{Status: 503, Reused: true}, codes.Error, "503", []attribute.Key{"http.response.status_code"}},
		{"client error passed on", upstream.AttemptInfo{Status: 400, Reused: true}, codes.Error, "400", nil},
		{"dial failed", upstream.AttemptInfo{Kind: upstream.KindDial, Connect: time.Millisecond}, codes.Error, "dial",
			[]attribute.Key{"warmgate.handshake.connect_ms"}},
		{"pool exhausted", upstream.AttemptInfo{Kind: upstream.KindPoolExhausted, Exhausted: true}, codes.Error, "pool_exhausted",
			[]attribute.Key{"warmgate.pool_exhausted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp := newTestTracer(t, 1)
			ctx, parent := tr.tracer.Start(t.Context(), "request")
			in := tc.in
			in.Upstream, in.Attempt, in.Start, in.Context = "a", 1, time.Now(), ctx
			tr.Observer().Attempt(in)
			parent.End()
			spans := exp.GetSpans()
			if len(spans) != 2 {
				t.Fatalf("%d spans, want 2", len(spans))
			}
			s := spans[0]
			if s.Status.Code != tc.want {
				t.Errorf("status %v, want %v", s.Status.Code, tc.want)
			}
			if got := attrs(s)["error.type"].AsString(); got != tc.errorType {
				t.Errorf("error.type %q, want %q", got, tc.errorType)
			}
			for _, k := range tc.present {
				if _, ok := attrs(s)[k]; !ok {
					t.Errorf("no %s in %v", k, s.Attributes)
				}
			}
		})
	}
}

// TestObserverSkips: no span for an attempt without a recording request
// span: tracing off for it, or not sampled.
func TestObserverSkips(t *testing.T) {
	tr, exp := newTestTracer(t, 0)
	unsampled, parent := tr.tracer.Start(t.Context(), "request") // ratio 0: not recorded
	defer parent.End()
	for _, ctx := range []context.Context{nil, t.Context(), unsampled} {
		tr.Observer().Attempt(upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 200, Start: time.Now(), Context: ctx})
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans, want 0", n)
	}
}

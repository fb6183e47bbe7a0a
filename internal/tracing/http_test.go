// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package tracing

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// everyRoute traces every path, named by itself.
func everyRoute(p string) (string, bool) { return p, true }

const (
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
	clientParent  = "00-" + clientTraceID + "-" + clientSpanID + "-01"
)

// serve sends req through tr's Handler to next and returns the spans
// exported so far.
func serve(t *testing.T, tr *Tracer, req *http.Request, next http.HandlerFunc) {
	t.Helper()
	tr.Handler(next, everyRoute).ServeHTTP(httptest.NewRecorder(), req)
}

// TestHandlerServerSpan: one server span per request, named "METHOD
// route", with the request's attributes and what Annotate added.
func TestHandlerServerSpan(t *testing.T) {
	tr, exp := newTestTracer(t, 1)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	serve(t, tr, req, func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanFromContext(r.Context()).IsRecording() {
			t.Error("the handler's context holds no recording span")
		}
		Annotate(r.Context(), Request{ID: "req-1", Status: 200, Key: "team-a", Model: "gpt-4.1-mini", Upstream: "openai"})
	})
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name != "POST /v1/chat/completions" || s.SpanKind != trace.SpanKindServer {
		t.Errorf("span %q kind %v, want \"POST /v1/chat/completions\" kind server", s.Name, s.SpanKind)
	}
	if s.Parent.IsValid() {
		t.Errorf("span has parent %v, want a root span", s.Parent)
	}
	checkAttrs(t, s,
		attribute.String("http.request.method", "POST"),
		attribute.String("url.path", "/v1/chat/completions"),
		attribute.String("http.route", "/v1/chat/completions"),
		attribute.Int("http.response.status_code", 200),
		attribute.String("warmgate.request_id", "req-1"),
		attribute.String("warmgate.key", "team-a"),
		attribute.String("warmgate.model", "gpt-4.1-mini"),
		attribute.String("warmgate.upstream", "openai"))
	if s.Status.Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status)
	}
	if got := s.Resource.Attributes(); len(got) != 1 || got[0] != attribute.String("service.name", "warmgate-test") {
		t.Errorf("resource %v, want service.name=warmgate-test", got)
	}
}

// TestHandlerContinuesTraceparent: a caller's W3C trace context becomes
// the request span's parent, tracestate included.
func TestHandlerContinuesTraceparent(t *testing.T) {
	tr, exp := newTestTracer(t, 0) // the caller's "sampled" flag wins over the ratio
	req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", nil)
	req.Header.Set("Traceparent", clientParent)
	req.Header.Set("Tracestate", "vendor=abc")
	serve(t, tr, req, func(http.ResponseWriter, *http.Request) {})
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if got := s.SpanContext.TraceID().String(); got != clientTraceID {
		t.Errorf("trace id %s, want the caller's %s", got, clientTraceID)
	}
	if got := s.Parent.SpanID().String(); got != clientSpanID || !s.Parent.IsRemote() {
		t.Errorf("parent %s (remote %v), want the caller's span %s", got, s.Parent.IsRemote(), clientSpanID)
	}
	if got := s.SpanContext.TraceState().Get("vendor"); got != "abc" {
		t.Errorf("tracestate vendor=%q, want abc", got)
	}
}

// TestHandlerSampling: ParentBased(TraceIDRatioBased): ratio 0 records no
// new trace, and an unsampled caller is not recorded either.
func TestHandlerSampling(t *testing.T) {
	tr, exp := newTestTracer(t, 0)
	serve(t, tr, httptest.NewRequest(http.MethodPost, "/v1/completions", nil), func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest(http.MethodPost, "/v1/completions", nil)
	req.Header.Set("Traceparent", strings.TrimSuffix(clientParent, "01")+"00")
	serve(t, tr, req, func(w http.ResponseWriter, r *http.Request) {
		// Not recorded, but still propagated: the upstream learns the
		// decision.
		h := http.Header{}
		Inject(r.Context(), h)
		if got := h.Get("Traceparent"); !strings.HasPrefix(got, "00-"+clientTraceID+"-") || !strings.HasSuffix(got, "-00") {
			t.Errorf("unsampled request sends traceparent %q, want the caller's trace, flags 00", got)
		}
	})
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans exported, want 0", n)
	}
}

// TestHandlerSkipsRoutes: a path the route function refuses gets no span,
// and its handler sees the request as it came.
func TestHandlerSkipsRoutes(t *testing.T) {
	tr, exp := newTestTracer(t, 1)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r != req {
			t.Error("the request was replaced")
		}
		if trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("the context holds a span")
		}
	}), func(string) (string, bool) { return "", false })
	h.ServeHTTP(httptest.NewRecorder(), req)
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans, want 0", n)
	}
}

// TestHandlerUnknownMethod: a method outside HTTP's list does not name
// spans (clients could make any number of names).
func TestHandlerUnknownMethod(t *testing.T) {
	tr, exp := newTestTracer(t, 1)
	serve(t, tr, httptest.NewRequest("BREW", "/v1/coffee", nil), func(http.ResponseWriter, *http.Request) {})
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	if spans[0].Name != "HTTP /v1/coffee" {
		t.Errorf("span name %q, want \"HTTP /v1/coffee\"", spans[0].Name)
	}
	checkAttrs(t, spans[0], attribute.String("http.request.method", "_OTHER"))
}

// TestLongAttributesAreCut: a client's long strings (its path, a model
// name) reach the span cut to maxAttrLen bytes.
func TestLongAttributesAreCut(t *testing.T) {
	t.Setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "")
	t.Setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "")
	tr, exp := newTestTracer(t, 1)
	long := strings.Repeat("a", 60<<10)
	serve(t, tr, httptest.NewRequest(http.MethodPost, "/v1/"+long, nil), func(_ http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), Request{ID: "req-1", Status: 404, Model: long})
	})
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	for _, k := range []attribute.Key{"url.path", keyModel} {
		if v := attrs(spans[0])[k].AsString(); len(v) != maxAttrLen {
			t.Errorf("%s is %d bytes, want %d", k, len(v), maxAttrLen)
		}
	}
}

// TestAnnotateStatus: which requests mark their span failed.
func TestAnnotateStatus(t *testing.T) {
	dial := &upstream.Error{Kind: upstream.KindDial, Upstream: "a", Err: errors.New("connection refused")}
	cut := &upstream.Error{Kind: upstream.KindTruncated, Upstream: "a", Err: errors.New("unexpected EOF")}
	for _, tc := range []struct {
		name      string
		in        Request
		want      codes.Code
		errorType string // "" for none
	}{
		{"ok", Request{Status: 200}, codes.Unset, ""},
		{"client error", Request{Status: 404}, codes.Unset, ""},
		{"rate limited", Request{Status: 429}, codes.Unset, ""},
		{"client left", Request{Status: 499, Err: context.Canceled}, codes.Unset, ""},
		{"upstream down", Request{Status: 502, Err: dial}, codes.Error, "dial"},
		{"upstream 500 passed on", Request{Status: 500}, codes.Error, "500"},
		{"stream cut after 200", Request{Status: 200, Err: cut}, codes.Error, "truncated"},
		{"other failure after 200", Request{Status: 200, Err: errors.New("boom")}, codes.Error, "_OTHER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp := newTestTracer(t, 1)
			serve(t, tr, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil), func(w http.ResponseWriter, r *http.Request) {
				Annotate(r.Context(), tc.in)
			})
			s := exp.GetSpans()[0]
			if s.Status.Code != tc.want {
				t.Errorf("status %v, want %v", s.Status.Code, tc.want)
			}
			got := attrs(s)["error.type"].AsString()
			if got != tc.errorType {
				t.Errorf("error.type %q, want %q", got, tc.errorType)
			}
		})
	}
}

// TestAnnotateWithoutSpan: with tracing off it is a no-op.
func TestAnnotateWithoutSpan(t *testing.T) {
	Annotate(t.Context(), Request{ID: "x", Status: 500, Err: errors.New("boom")})
	if n := testing.AllocsPerRun(100, func() { Annotate(t.Context(), Request{ID: "x", Status: 200}) }); n != 0 {
		t.Errorf("Annotate without a span allocates %v times, want 0", n)
	}
}

// TestInject: the upstream gets the request span's trace context in place
// of the client's; without a span the client's headers stay as they are.
func TestInject(t *testing.T) {
	tr, _ := newTestTracer(t, 1)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	req.Header.Set("Traceparent", clientParent)
	req.Header.Set("Tracestate", "vendor=abc")
	serve(t, tr, req, func(w http.ResponseWriter, r *http.Request) {
		sc := trace.SpanContextFromContext(r.Context())
		out := r.Header.Clone()
		Inject(r.Context(), out)
		want := "00-" + clientTraceID + "-" + sc.SpanID().String() + "-01"
		if got := out.Values("Traceparent"); len(got) != 1 || got[0] != want {
			t.Errorf("traceparent %q, want [%q] (the request span as parent)", got, want)
		}
		if got := out.Values("Tracestate"); len(got) != 1 || got[0] != "vendor=abc" {
			t.Errorf("tracestate %q, want [vendor=abc]", got)
		}
		if r.Header.Get("Traceparent") != clientParent {
			t.Error("Inject changed the inbound request's headers")
		}
	})

	t.Run("no span", func(t *testing.T) {
		for _, in := range []http.Header{
			{},
			{"Traceparent": {clientParent}, "Tracestate": {"vendor=abc"}},
			{"Traceparent": {"garbage"}},
		} {
			out := in.Clone()
			Inject(t.Context(), out)
			if len(out) != len(in) || out.Get("Traceparent") != in.Get("Traceparent") || out.Get("Tracestate") != in.Get("Tracestate") {
				t.Errorf("Inject without a span changed %v to %v", in, out)
			}
		}
	})
}

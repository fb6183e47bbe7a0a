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
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/warmgate/warmgate/upstream"
)

// TestFailuresRecordedWhateverTheRatio: at ratio 0 a request that fails,
// or needed another attempt, is still recorded afterwards, with the ids
// its upstream was sent; one that went well, or whose client left, is not.
func TestFailuresRecordedWhateverTheRatio(t *testing.T) {
	dial := upstream.AttemptInfo{Upstream: "a", Attempt: 1, Kind: upstream.KindDial, NewConn: true}
	ok := upstream.AttemptInfo{Upstream: "b", Attempt: 2, Status: 200, Reused: true, Proto: "h2"}
	busy := upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 503}
	cut := &upstream.Error{Kind: upstream.KindTruncated, Upstream: "b", Err: errors.New("unexpected EOF")}
	for _, tc := range []struct {
		name     string
		caller   string // the caller's traceparent, if any
		attempts []upstream.AttemptInfo
		req      Request
		panics   bool
		recorded bool
		status   codes.Code // of the request span, when recorded
	}{
		{"ok", "", []upstream.AttemptInfo{ok}, Request{Status: 200}, false, false, 0},
		{"client error", "", nil, Request{Status: 400}, false, false, 0},
		{"client left", "", []upstream.AttemptInfo{ok}, Request{Status: 499, Err: context.Canceled}, false, false, 0},
		{"upstream down", "", []upstream.AttemptInfo{dial}, Request{Status: 502, Err: &upstream.Error{Kind: upstream.KindDial, Upstream: "a", Err: errors.New("refused")}}, false, true, codes.Error},
		{"failover then ok", "", []upstream.AttemptInfo{dial, ok}, Request{Status: 200, Upstream: "b"}, false, true, codes.Unset},
		{"503 retried then ok", "", []upstream.AttemptInfo{busy, ok}, Request{Status: 200}, false, true, codes.Unset},
		{"stream cut, handler aborted", "", []upstream.AttemptInfo{ok}, Request{Status: 200, Err: cut}, true, true, codes.Error},
		{"caller said not sampled", strings.TrimSuffix(clientParent, "01") + "00", []upstream.AttemptInfo{dial}, Request{Status: 502}, false, true, codes.Error},
		{"never annotated", "", []upstream.AttemptInfo{dial}, Request{}, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, exp := newTestTracer(t, 0)
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			if tc.caller != "" {
				req.Header.Set("Traceparent", tc.caller)
			}
			sent := http.Header{}
			start := time.Now()
			func() {
				defer func() {
					if p := recover(); p != nil && p != http.ErrAbortHandler {
						panic(p)
					}
				}()
				serve(t, tr, req, func(w http.ResponseWriter, r *http.Request) {
					Inject(r.Context(), sent)
					for _, a := range tc.attempts {
						a.Start, a.FirstByte, a.Context = time.Now(), time.Millisecond, r.Context()
						tr.Observer().Attempt(a)
					}
					if tc.req.Status != 0 {
						tc.req.ID = "req-9"
						Annotate(r.Context(), tc.req)
					}
					if tc.panics {
						panic(http.ErrAbortHandler)
					}
				})
			}()
			spans := exp.GetSpans()
			if !tc.recorded {
				if len(spans) != 0 {
					t.Fatalf("%d spans, want none", len(spans))
				}
				return
			}
			if len(spans) != 1+len(tc.attempts) {
				t.Fatalf("%d spans, want the request's and %d attempts'", len(spans), len(tc.attempts))
			}
			root := spans[len(spans)-1] // ended last
			if root.SpanKind != trace.SpanKindServer || root.Name != "POST /v1/chat/completions" {
				t.Fatalf("last span %q (%v), want the request span", root.Name, root.SpanKind)
			}
			// The ids the upstream was sent, not sampled then.
			tp := sent.Get("Traceparent")
			want := "00-" + root.SpanContext.TraceID().String() + "-" + root.SpanContext.SpanID().String() + "-00"
			if tp != want {
				t.Errorf("upstream was sent %q; the recorded span is %q", tp, want)
			}
			if !root.SpanContext.IsSampled() {
				t.Error("the recorded span is not marked sampled")
			}
			if tc.caller != "" {
				if got := root.SpanContext.TraceID().String(); got != clientTraceID || root.Parent.SpanID().String() != clientSpanID {
					t.Errorf("trace %s parent %s, want the caller's %s %s", got, root.Parent.SpanID(), clientTraceID, clientSpanID)
				}
			} else if root.Parent.IsValid() {
				t.Errorf("parent %v, want a root span", root.Parent)
			}
			if root.StartTime.Before(start) || root.StartTime.After(spans[0].StartTime) {
				t.Errorf("request span starts at %v, want its real start (after %v, before its first attempt %v)", root.StartTime, start, spans[0].StartTime)
			}
			if root.Status.Code != tc.status {
				t.Errorf("request span status %v, want %v", root.Status.Code, tc.status)
			}
			checkAttrs(t, root, attribute.String("warmgate.request_id", "req-9"), attribute.String("http.route", "/v1/chat/completions"),
				attribute.Int("http.response.status_code", tc.req.Status))
			for i, a := range tc.attempts {
				s := spans[i]
				if s.SpanKind != trace.SpanKindClient || s.Parent.SpanID() != root.SpanContext.SpanID() || s.SpanContext.TraceID() != root.SpanContext.TraceID() {
					t.Errorf("attempt %d: span %q kind %v parent %v, want a client span under the request span", i+1, s.Name, s.SpanKind, s.Parent.SpanID())
				}
				if s.SpanContext.SpanID() == root.SpanContext.SpanID() {
					t.Errorf("attempt %d has the request span's id", i+1)
				}
				checkAttrs(t, s, attribute.Int("warmgate.attempt", a.Attempt))
			}
		})
	}
}

// TestUnsampledAllocations: what an unsampled request pays, held record
// included.
func TestUnsampledAllocations(t *testing.T) {
	tr, _ := newTestTracer(t, 0)
	obs := tr.Observer()
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obs.Attempt(upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 200, Context: r.Context()})
		Annotate(r.Context(), Request{Status: 200})
	}), everyRoute)
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	w := httptest.NewRecorder()
	got := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) })
	// The span name, the (non-recording) span, its context, the request
	// copy that carries it, the held record.
	if got > 5 {
		t.Errorf("an unsampled request allocates %v times, want at most 5", got)
	}
}

// TestFailuresCapped: beyond FailuresPerSecond, unsampled failures are
// not recorded: a failure storm is not a tracing storm.
func TestFailuresCapped(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := New(t.Context(), Config{SampleRatio: 0, FailuresPerSecond: 3, Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), Request{Status: 502})
	}), everyRoute)
	for range 20 { // far faster than 3 a second refill
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil))
	}
	if n := len(exp.GetSpans()); n != 3 {
		t.Errorf("%d failed requests recorded of 20, want 3 (the cap's burst)", n)
	}
}

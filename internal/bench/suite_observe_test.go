// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestSpreadOf(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want *Spread
	}{
		{"none", nil, nil},
		{"one", []float64{3}, &Spread{Median: 3, Min: 3, Max: 3, N: 1}},
		{"odd, unsorted", []float64{5, 1, 3}, &Spread{Median: 3, Min: 1, Max: 5, N: 3}},
		{"even: the middle two's mean", []float64{4, 1, 10, 2}, &Spread{Median: 3, Min: 1, Max: 10, N: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := spreadOf(tc.in)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// TestObservabilitySummarize: the added CPU is paired with off's run of
// the same round, whatever the order of the runs.
func TestObservabilitySummarize(t *testing.T) {
	run := func(round int, cpu float64) ObserveRun {
		return ObserveRun{Round: round, Result: &Result{Requests: 100, OK: 100, ThroughputRPS: 1000},
			Gateway: &ProcUsage{CPUMicrosPerRequest: cpu}}
	}
	r := &ObservabilityReport{Variants: []ObserveVariant{
		{Name: "off", Runs: []ObserveRun{run(1, 100), run(2, 200), run(3, 100)}},
		{Name: "log", Runs: []ObserveRun{run(1, 110), run(2, 204), run(3, 103)}},
		{Name: "log+trace", Runs: []ObserveRun{run(3, 106), run(1, 104), run(2, 210)}},
		{Name: "trace", Runs: []ObserveRun{run(1, 101), {Round: 2, Result: &Result{Requests: 100, OK: 90}}}},
	}}
	r.summarize()
	near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
	if off := r.variant("off"); off.AddedCPUPercent != nil || off.Runs[0].AddedCPUPercent != nil {
		t.Errorf("off has an added CPU: %+v", off.AddedCPUPercent)
	}
	if a := r.variant("log").AddedCPUPercent; a == nil || !near(a.Median, 3) || !near(a.Min, 2) || !near(a.Max, 10) || a.N != 3 {
		t.Errorf("log: added %+v, want median 3, 2…10 over 3", a)
	}
	if a := r.variant("log+trace").AddedCPUPercent; a == nil || !near(a.Median, 5) || !near(a.Min, 4) || !near(a.Max, 6) {
		t.Errorf("log+trace: added %+v, want median 5, 4…6", a)
	}
	tr := r.variant("trace")
	if a := tr.AddedCPUPercent; a == nil || a.N != 1 || !near(a.Median, 1) {
		t.Errorf("trace: added %+v, want 1%% from its one metered run", a)
	}
	if tr.Failed != 10 || tr.ThroughputRPS.N != 2 {
		t.Errorf("trace: %d failed, throughput over %d runs; want 10 and 2", tr.Failed, tr.ThroughputRPS.N)
	}

	cs := r.checks()
	if len(cs) != 3 {
		t.Fatalf("checks = %+v, want 3", cs)
	}
	if c := cs[0]; !strings.Contains(c.Name, "log+trace vs off") || c.Met || c.Goal != "< 5%" ||
		!strings.HasPrefix(c.Measured, "+5.0% (median of 3 rounds; +4.0…+6.0%)") {
		t.Errorf("the defaults' check = %+v, want +5.0%% and not met", c)
	}
	if c := cs[1]; !strings.Contains(c.Name, "log vs off") || !c.Met {
		t.Errorf("the access log's check = %+v, want met", c)
	}
}

// exportBody is an OTLP export request with n spans, in two scope lists.
func exportBody(t *testing.T, n int) []byte {
	t.Helper()
	ss := []*tracepb.ScopeSpans{{}, {}}
	for i := range n {
		ss[i%2].Spans = append(ss[i%2].Spans, &tracepb.Span{Name: "s"})
	}
	b, err := proto.Marshal(&collectortrace.ExportTraceServiceRequest{
		ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: ss}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSpanSink: the sink counts spans per listener, reads gzip, answers
// as a collector does, and refuses what is not an OTLP protobuf export.
func TestSpanSink(t *testing.T) {
	s, origins, err := startSpanSink(2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	post := func(url, ctype, enc string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := post(origins[0]+"/v1/traces", "application/x-protobuf", "", exportBody(t, 3))
	b, _ := io.ReadAll(resp.Body)
	var answer collectortrace.ExportTraceServiceResponse
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &answer) != nil {
		t.Errorf("answer: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(exportBody(t, 5))
	_ = zw.Close()
	if resp := post(origins[1]+"/v1/traces", "application/x-protobuf", "gzip", zb.Bytes()); resp.StatusCode != http.StatusOK {
		t.Errorf("gzip: status %d", resp.StatusCode)
	}
	for _, bad := range []struct {
		path, ctype, enc string
		body             []byte
		status           int
	}{
		{"/v1/metrics", "application/x-protobuf", "", exportBody(t, 1), http.StatusNotFound},
		{"/v1/traces", "application/json", "", []byte("{}"), http.StatusUnsupportedMediaType},
		{"/v1/traces", "application/x-protobuf", "br", exportBody(t, 1), http.StatusUnsupportedMediaType},
		{"/v1/traces", "application/x-protobuf", "gzip", exportBody(t, 1), http.StatusBadRequest},
		{"/v1/traces", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, http.StatusBadRequest},
	} {
		if resp := post(origins[0]+bad.path, bad.ctype, bad.enc, bad.body); resp.StatusCode != bad.status {
			t.Errorf("%s %s %q: status %d, want %d", bad.path, bad.ctype, bad.enc, resp.StatusCode, bad.status)
		}
	}
	if a, b := s.spans(origins[0]), s.spans(origins[1]); a != 3 || b != 5 {
		t.Errorf("spans: %d and %d, want 3 and 5", a, b)
	}
	if got := s.rejected.Load(); got != 5 {
		t.Errorf("rejected %d, want 5", got)
	}
}

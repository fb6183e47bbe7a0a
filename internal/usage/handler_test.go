// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// recentFixture is four requests in the last day and one two days ago.
func recentFixture(now time.Time) []Record {
	return []Record{
		{Time: now.Add(-1 * time.Hour), Key: "a", Model: "gpt-4o", Upstream: "openai", PromptTokens: 100, CompletionTokens: 50, Cost: 0.01, Status: 200, Latency: time.Second},
		{Time: now.Add(-2 * time.Hour), Key: "a", Model: "gpt-4o-mini", Upstream: "azure", PromptTokens: 10, CompletionTokens: 5, Cost: 0.001, Status: 502, Latency: 3 * time.Second},
		{Time: now.Add(-3 * time.Hour), Key: "b", Model: "gpt-4o", Upstream: "openai", PromptTokens: 200, CompletionTokens: 100, Cost: 0.02, Status: 200, Latency: 2 * time.Second},
		{Time: now.Add(-4 * time.Hour), Key: "b", Model: "gpt-4o", Upstream: "openai", PromptTokens: 1, CompletionTokens: 1, Cost: 0.0001, Status: 200, Latency: 500 * time.Millisecond},
		{Time: now.Add(-48 * time.Hour), Key: "a", Model: "gpt-4o", Upstream: "openai", PromptTokens: 1000, Cost: 1, Status: 200, Latency: time.Second},
	}
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), method, target, nil))
	return w
}

func TestHandlerJSON(t *testing.T) {
	now := time.Now()
	l, _ := openLedger(t, Options{FlushInterval: 10 * time.Millisecond})
	for _, r := range recentFixture(now) {
		l.Record(r)
	}
	waitFor(t, "the fixture to be written", func() bool { return l.Stats().Written == 5 })
	h := l.Handler()

	type row struct {
		Group            string  `json:"group"`
		Requests         int64   `json:"requests"`
		Errors           int64   `json:"errors"`
		PromptTokens     int64   `json:"prompt_tokens"`
		CompletionTokens int64   `json:"completion_tokens"`
		Cost             float64 `json:"cost"`
		AvgLatencyMs     float64 `json:"avg_latency_ms"`
	}
	type body struct {
		Since, Until, By, Key, Model string
		Rows                         []row
		Totals                       row
	}
	tests := []struct {
		name   string
		target string
		by     string
		groups []string
		totals row
	}{
		{"defaults: 24h by model", "/api/usage", "model", []string{"gpt-4o", "gpt-4o-mini"},
			row{Requests: 4, Errors: 1, PromptTokens: 311, CompletionTokens: 156, Cost: 0.0311, AvgLatencyMs: 1625}},
		{"by key over 7 days", "/api/usage?since=7d&by=key", "key", []string{"a", "b"},
			row{Requests: 5, Errors: 1, PromptTokens: 1311, CompletionTokens: 156, Cost: 1.0311, AvgLatencyMs: 1500}},
		{"one key", "/api/usage?key=b&by=upstream", "upstream", []string{"openai"},
			row{Requests: 2, PromptTokens: 201, CompletionTokens: 101, Cost: 0.0201, AvgLatencyMs: 1250}},
		{"until", "/api/usage?since=3h30m&until=90m&by=day", "day", []string{now.UTC().Format(time.DateOnly)},
			row{Requests: 2, Errors: 1, PromptTokens: 210, CompletionTokens: 105, Cost: 0.021, AvgLatencyMs: 2500}},
		{"no rows", "/api/usage?model=nothing", "model", []string{}, row{}},
	}
	if now.Add(-3*time.Hour).UTC().Day() != now.Add(-2*time.Hour).UTC().Day() {
		tests[3].groups = []string{now.Add(-3 * time.Hour).UTC().Format(time.DateOnly), now.Add(-2 * time.Hour).UTC().Format(time.DateOnly)}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, h, http.MethodGet, tt.target)
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, type %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if strings.Contains(w.Body.String(), `"rows":null`) {
				t.Errorf("rows is null, want []: %s", w.Body)
			}
			var b body
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if b.By != tt.by {
				t.Errorf("by %q, want %q", b.By, tt.by)
			}
			if _, err := time.Parse(time.RFC3339, b.Since); err != nil {
				t.Errorf("since %q: %v", b.Since, err)
			}
			if _, err := time.Parse(time.RFC3339, b.Until); err != nil {
				t.Errorf("until %q: %v", b.Until, err)
			}
			groups := []string{}
			for _, r := range b.Rows {
				groups = append(groups, r.Group)
			}
			if strings.Join(groups, ",") != strings.Join(tt.groups, ",") {
				t.Errorf("groups %q, want %q", groups, tt.groups)
			}
			b.Totals.Cost = float64(int64(b.Totals.Cost*1e6+0.5)) / 1e6
			if b.Totals != tt.totals {
				t.Errorf("totals %+v, want %+v", b.Totals, tt.totals)
			}
		})
	}
}

func TestHandlerRejectsBadRequests(t *testing.T) {
	h := fixtureReader(t).Handler()
	tests := []struct {
		name   string
		method string
		target string
		status int
		code   string
		says   string
	}{
		{"bad since", "GET", "/api/usage?since=yesterday", 400, "invalid_since", `since: invalid time "yesterday"`},
		{"bad until", "GET", "/api/usage?until=soon", 400, "invalid_until", `until: invalid time "soon"`},
		{"until before since", "GET", "/api/usage?since=1h&until=2h", 400, "invalid_until", "is not after since"},
		{"bad by", "GET", "/api/usage?by=week", 400, "invalid_by", "use model, key, day or upstream"},
		{"unknown parameter", "GET", "/api/usage?group_by=key", 400, "unknown_parameter", `"group_by"`},
		{"POST", "POST", "/api/usage", 405, "method_not_allowed", "use GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, h, tt.method, tt.target)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			var e struct {
				Error struct{ Message, Type, Code string }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("%v: %s", err, w.Body)
			}
			if e.Error.Type != "invalid_request_error" || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.says) {
				t.Errorf("error %+v, want type invalid_request_error, code %s, a message saying %q", e.Error, tt.code, tt.says)
			}
		})
	}
}

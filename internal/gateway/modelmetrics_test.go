// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/mock"
)

// modelSeries scrapes /metrics and returns family name's series as
// "label=value,... → value" (histograms: their sample count), with the
// admin key unless hdr is given (non-nil, possibly empty).
func modelSeries(t *testing.T, g *gw, name string, hdr ...string) map[string]float64 {
	t.Helper()
	if hdr == nil {
		hdr = adminHdr()
	}
	a := g.do(t, http.MethodGet, "/metrics", "", hdr...)
	if a.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", a.status, a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(a.body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := map[string]float64{}
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, lp := range m.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		v := m.GetCounter().GetValue()
		if m.Histogram != nil {
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out[strings.Join(ls, ",")] = v
	}
	return out
}

// checkModelSeries compares a scrape's series with want, exactly: the same
// series, the same values (within float rounding, for costs).
func checkModelSeries(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	var diff []string
	for s, w := range want {
		if g, ok := got[s]; !ok || math.Abs(g-w) > 1e-9 {
			diff = append(diff, fmt.Sprintf("%s{%s} = %v (present %v), want %v", name, s, g, ok, w))
		}
	}
	for s, g := range got {
		if _, ok := want[s]; !ok {
			diff = append(diff, fmt.Sprintf("%s{%s} = %v, not expected", name, s, g))
		}
	}
	slices.Sort(diff)
	if len(diff) > 0 {
		t.Errorf("%d series differ:\n  %s", len(diff), strings.Join(diff, "\n  "))
	}
}

// modelMetricsYAML: the mock serves gpt-* and text-embedding-* (priced by
// name and by glob; "fast" is gpt-4.1-mini's alias), a second mock that
// always fails serves "broken-1".
func modelMetricsYAML(t *testing.T, m, broken *mock.Server, dataDir, extraModels string) string {
	return "data_dir: " + dataDir + "\nupstreams:\n" +
		upstreamYAML(t, "mock", m, `models: ["gpt-*", "text-embedding-*"`+extraModels+`]`, fastRetry, noCircuit) +
		upstreamYAML(t, "broken", broken, `models: ["broken-1"]`, fastRetry, noCircuit) +
		"prices:\n  gpt-4.1-mini: {prompt: 1000, completion: 2000}\n  \"gpt-*\": {prompt: 100, completion: 300}\n" +
		"  o3: {prompt: 10, completion: 40}\n" +
		"aliases: {fast: gpt-4.1-mini}\n" +
		limitKeysYAML
}

// TestModelMetrics: requests counted by model, key and status, latency by
// model, cost by model and key, with label values from the config only:
// configured names, the matching glob, "other" for a model the config
// does not know, "none" without a key; a reload adds the new model's
// series.
func TestModelMetrics(t *testing.T) {
	m := startMock(t, mock.Options{})
	broken := startMock(t, mock.Options{Fault: "status=500"})
	dir := t.TempDir()
	g := startGateway(t, modelMetricsYAML(t, m, broken, dir, ""), limitEnv)

	// At start, before any request: every model a key may use, at 0
	// (mini-only may use gpt-4.1-mini only; "fast", only an alias's name,
	// has none).
	routed := []string{"gpt-4.1-mini", "o3", "broken-1", "gpt-*", "text-embedding-*", "other"}
	requests, cost, latency := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, mod := range routed {
		latency["model="+mod] = 0
		for _, key := range []string{"plain", "rpm3"} {
			requests["code=200,key="+key+",model="+mod] = 0
			cost["key="+key+",model="+mod] = 0
		}
	}
	requests["code=200,key=mini-only,model=gpt-4.1-mini"] = 0
	cost["key=mini-only,model=gpt-4.1-mini"] = 0
	checkModelSeries(t, "warmgate_model_requests_total", modelSeries(t, g, "warmgate_model_requests_total"), requests)
	checkModelSeries(t, "warmgate_cost_usd_total", modelSeries(t, g, "warmgate_cost_usd_total"), cost)
	checkModelSeries(t, "warmgate_model_request_duration_seconds", modelSeries(t, g, "warmgate_model_request_duration_seconds"), latency)

	// price is what the answer's usage costs at the config's prices, in
	// dollars per million tokens.
	type price struct{ prompt, completion float64 }
	mini, gpt := price{1000, 2000}, price{100, 300}
	tests := []struct {
		name   string
		key    string // env name of the key; "" for none
		path   string
		body   string
		status int
		label  string // the model label
		keyLab string
		price  *price // nil: no cost
	}{
		{"configured model", "KEY_PLAIN", "/v1/chat/completions", chatWithMax("gpt-4.1-mini", 0, false, false), 200, "gpt-4.1-mini", "plain", &mini},
		{"configured model, streamed", "KEY_PLAIN", "/v1/chat/completions", chatWithMax("gpt-4.1-mini", 0, true, true), 200, "gpt-4.1-mini", "plain", &mini},
		{"alias: its model's", "KEY_PLAIN", "/v1/chat/completions", chatWithMax("fast", 0, false, false), 200, "gpt-4.1-mini", "plain", &mini},
		{"second key", "KEY_MINI", "/v1/chat/completions", chatWithMax("gpt-4.1-mini", 0, false, false), 200, "gpt-4.1-mini", "mini-only", &mini},
		{"model by its glob", "KEY_PLAIN", "/v1/chat/completions", chatWithMax("gpt-4o", 0, true, true), 200, "gpt-*", "plain", &gpt},
		{"glob without a price", "KEY_RPM", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, 200, "text-embedding-*", "rpm3", nil},
		{"refused model", "KEY_MINI", "/v1/chat/completions", chatBody("gpt-4o", false), 403, "gpt-*", "mini-only", nil},
		{"priced model no upstream serves", "KEY_PLAIN", "/v1/chat/completions", chatBody("o3", false), 404, "o3", "plain", nil},
		{"unknown model", "KEY_PLAIN", "/v1/chat/completions", chatBody("mistral-large", false), 404, "other", "plain", nil},
		{"upstream error", "KEY_RPM", "/v1/chat/completions", chatBody("broken-1", false), 500, "broken-1", "rpm3", nil},
		{"no key", "", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), 401, "none", "none", nil},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.key != "" {
			hdr = bearerOf(tt.key)
		}
		a := g.do(t, http.MethodPost, tt.path, tt.body, hdr...)
		if a.status != tt.status {
			t.Fatalf("%s: status %d, want %d: %s", tt.name, a.status, tt.status, a.body)
		}
		if tt.status == 401 {
			tt.label = "none" // refused before its body was read: no model
		}
		requests[fmt.Sprintf("code=%d,key=%s,model=%s", tt.status, tt.keyLab, tt.label)]++
		latency["model="+tt.label]++
		if tt.price != nil {
			p, c, _ := answerUsage(t, a)
			cost["key="+tt.keyLab+",model="+tt.label] += (float64(p)*tt.price.prompt + float64(c)*tt.price.completion) / 1e6
		}
	}
	checkModelSeries(t, "warmgate_model_requests_total", modelSeries(t, g, "warmgate_model_requests_total"), requests)
	checkModelSeries(t, "warmgate_cost_usd_total", modelSeries(t, g, "warmgate_cost_usd_total"), cost)
	checkModelSeries(t, "warmgate_model_request_duration_seconds", modelSeries(t, g, "warmgate_model_request_duration_seconds"), latency)
	if cost["key=plain,model=gpt-4.1-mini"] == 0 || cost["key=plain,model=gpt-*"] == 0 {
		t.Fatalf("the test spent nothing: %v", cost)
	}

	// A reload that makes the mock serve a new model, "o4-mini": its
	// series appear at 0, and its requests get its own label.
	cfg, err := config.Parse([]byte(modelMetricsYAML(t, m, broken, dir, `, "o4-mini"`)), func(k string) string { return limitEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	latency["model=o4-mini"] = 0
	for _, key := range []string{"plain", "rpm3"} {
		requests["code=200,key="+key+",model=o4-mini"] = 0
		cost["key="+key+",model=o4-mini"] = 0
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("o4-mini", false), bearerOf("KEY_PLAIN")...); a.status != 200 {
		t.Fatalf("o4-mini after the reload: %d %s", a.status, a.body)
	}
	requests["code=200,key=plain,model=o4-mini"]++
	latency["model=o4-mini"]++
	checkModelSeries(t, "warmgate_model_requests_total", modelSeries(t, g, "warmgate_model_requests_total"), requests)
	checkModelSeries(t, "warmgate_cost_usd_total", modelSeries(t, g, "warmgate_cost_usd_total"), cost)
	checkModelSeries(t, "warmgate_model_request_duration_seconds", modelSeries(t, g, "warmgate_model_request_duration_seconds"), latency)
}

// TestModelLabelsStayBounded: an open gateway whose upstream serves any
// model, and a client that makes up a new model name per request: the
// series by model do not grow, every name is "other".
func TestModelLabelsStayBounded(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "mock", m), nil)
	const n = 100
	for i := range n {
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(fmt.Sprintf("made-up-%d-%s", i, strings.Repeat("x", i)), false)); a.status != 200 {
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	open := []string{} // no admin key to send
	checkModelSeries(t, "warmgate_model_requests_total", modelSeries(t, g, "warmgate_model_requests_total", open...),
		map[string]float64{"code=200,key=none,model=other": n})
	checkModelSeries(t, "warmgate_model_request_duration_seconds", modelSeries(t, g, "warmgate_model_request_duration_seconds", open...),
		map[string]float64{"model=other": n})
	checkModelSeries(t, "warmgate_cost_usd_total", modelSeries(t, g, "warmgate_cost_usd_total", open...),
		map[string]float64{"key=none,model=other": 0})
}

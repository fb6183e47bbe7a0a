// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/warmgate/warmgate/internal/config"
)

// modelsConfig names models every way the config can: upstream globs and
// names, an alias, a fallback, prices, a key's models.
func modelsConfig() *config.Config {
	return &config.Config{
		Upstreams: []config.Upstream{
			{Name: "oa", Models: []string{"gpt-*", "gpt-4.1-*", "o3"}},
			{Name: "meta", Models: []string{"meta-llama/*"}},
			{Name: "all"}, // no models: serves any
		},
		Aliases:   map[string]string{"fast": "gpt-4.1-mini"},
		Fallbacks: map[string][]string{"o3": {"o4-mini"}},
		Prices:    map[string]config.Price{"gpt-4o": {Prompt: 1}, "claude-*": {Prompt: 1}},
		Keys: []config.Key{
			{Name: "team-a"},
			{Name: "ci", Models: []string{"gpt-4.1-mini"}},
		},
	}
}

func TestModelLabel(t *testing.T) {
	s := newLabelSet(modelsConfig())
	for _, tt := range []struct{ model, want string }{
		{"gpt-4o", "gpt-4o"},             // a price's name
		{"o3", "o3"},                     // an upstream's name
		{"o4-mini", "o4-mini"},           // a fallback
		{"gpt-4.1-mini", "gpt-4.1-mini"}, // an alias's model
		{"fast", "fast"},                 // an alias (its request failed before being routed)
		{"gpt-4.1-nano", "gpt-4.1-*"},    // the longest matching glob
		{"gpt-5", "gpt-*"},
		{"meta-llama/Llama-3.1-8B", "meta-llama/*"}, // * crosses "/", as in the config
		{"claude-sonnet-4-5", "claude-*"},           // a price's glob
		{"mistral-large", OtherLabelValue},          // served by "all", named nowhere
		{"gpt-" + strings.Repeat("x", MaxLabelLen), OtherLabelValue},
		{"", NoneLabelValue},
	} {
		for range 2 { // computed, then remembered
			if got := s.model(tt.model); got != tt.want {
				t.Errorf("model(%.40q) = %q, want %q", tt.model, got, tt.want)
			}
		}
	}
	for _, tt := range []struct{ key, want string }{
		{"team-a", "team-a"}, {"ci", "ci"}, {"", NoneLabelValue}, {"removed", OtherLabelValue},
	} {
		if got := s.key(tt.key); got != tt.want {
			t.Errorf("key(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestModelLabelRemembersBounded: names resolved through the globs are
// remembered up to maxResolved; later ones are still labelled right.
func TestModelLabelRemembersBounded(t *testing.T) {
	s := newLabelSet(modelsConfig())
	for i := range maxResolved + 10 {
		if got := s.model(fmt.Sprint("gpt-", i)); got != "gpt-*" {
			t.Fatalf("model(gpt-%d) = %q, want gpt-*", i, got)
		}
	}
	if len(s.resolved) != maxResolved {
		t.Errorf("%d names remembered, want %d", len(s.resolved), maxResolved)
	}
}

// series lists family name's samples as "label=value,... value", sorted;
// histograms by their sample count.
func series(fams map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, lp := range m.GetLabel() {
			ls = append(ls, lp.GetName()+"="+lp.GetValue())
		}
		v := m.GetCounter().GetValue()
		if m.Histogram != nil {
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out = append(out, fmt.Sprintf("%s %g", strings.Join(ls, ","), v))
	}
	slices.Sort(out)
	return out
}

func checkSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := series(fams, name); !slices.Equal(got, want) {
		t.Errorf("%s:\n  got  %q\n  want %q", name, got, want)
	}
}

// TestConfigureDeclares: the series the dashboard reads exist at 0 from
// the start: per model, and per model a key may use and key; a reload
// adds those of a new model and key.
func TestConfigureDeclares(t *testing.T) {
	m := New()
	cfg := &config.Config{
		Upstreams: []config.Upstream{{Name: "oa", Models: []string{"gpt-*", "o3"}}},
		Aliases:   map[string]string{"fast": "o3"},
		Keys:      []config.Key{{Name: "team-a"}, {Name: "ci", Models: []string{"o3"}}},
	}
	m.Configure(cfg)
	f := scrape(t, m)
	checkSeries(t, f, "warmgate_model_request_duration_seconds", "model=gpt-* 0", "model=o3 0", "model=other 0")
	checkSeries(t, f, "warmgate_model_requests_total",
		"code=200,key=team-a,model=gpt-* 0", "code=200,key=team-a,model=o3 0", "code=200,key=team-a,model=other 0",
		"code=200,key=ci,model=o3 0")
	checkSeries(t, f, "warmgate_cost_usd_total",
		"key=team-a,model=gpt-* 0", "key=team-a,model=o3 0", "key=team-a,model=other 0", "key=ci,model=o3 0")

	// Open (no keys): every request is the "none" key's.
	m2 := New()
	m2.Configure(&config.Config{Upstreams: []config.Upstream{{Name: "oa", Models: []string{"o3"}}}})
	checkSeries(t, scrape(t, m2), "warmgate_cost_usd_total", "key=none,model=o3 0", "key=none,model=other 0")

	// A reload: a new model and key get their series; the old ones stay.
	m.ModelRequest("o4-mini", "team-b", 200, time.Second) // not configured yet: other, other
	cfg.Upstreams[0].Models = append(cfg.Upstreams[0].Models, "o4-mini")
	cfg.Keys = append(cfg.Keys, config.Key{Name: "team-b", Models: []string{"o4-mini"}})
	m.Configure(cfg)
	m.ModelRequest("o4-mini", "team-b", 200, time.Second)
	f = scrape(t, m)
	checkSeries(t, f, "warmgate_model_requests_total",
		"code=200,key=team-a,model=gpt-* 0", "code=200,key=team-a,model=o3 0", "code=200,key=team-a,model=other 0",
		"code=200,key=team-a,model=o4-mini 0", "code=200,key=ci,model=o3 0",
		"code=200,key=other,model=other 1", "code=200,key=team-b,model=o4-mini 1")
}

// TestModelRequestAndCost: requests counted by model label, key label and
// status, latency by model, cost by model and key.
func TestModelRequestAndCost(t *testing.T) {
	m := New()
	m.ModelRequest("gpt-4o", "team-a", 200, time.Second) // before Configure: other
	m.Configure(modelsConfig())
	for _, r := range []struct {
		model, key string
		code       int
		cost       float64
	}{
		{"gpt-4o", "team-a", 200, 0.5},
		{"gpt-4o", "team-a", 200, 0.25},
		{"gpt-4o", "team-a", 502, 0},
		{"gpt-4.1-nano", "ci", 403, 0},
		{"mistral-large", "team-a", 200, 0.125},
		{"", "", 401, 0},
		{"gpt-5", "team-a", 200, -1}, // a negative cost is not counted
	} {
		m.ModelRequest(r.model, r.key, r.code, time.Second)
		m.Cost(r.key, r.model, r.cost)
	}
	f := scrape(t, m)
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"warmgate_model_requests_total", []string{"model", "other", "key", "other", "code", "200"}, 1},
		{"warmgate_model_requests_total", []string{"model", "gpt-4o", "key", "team-a", "code", "200"}, 2},
		{"warmgate_model_requests_total", []string{"model", "gpt-4o", "key", "team-a", "code", "502"}, 1},
		{"warmgate_model_requests_total", []string{"model", "gpt-4.1-*", "key", "ci", "code", "403"}, 1},
		{"warmgate_model_requests_total", []string{"model", "other", "key", "team-a", "code", "200"}, 1},
		{"warmgate_model_requests_total", []string{"model", "none", "key", "none", "code", "401"}, 1},
		{"warmgate_model_requests_total", []string{"model", "gpt-*", "key", "team-a", "code", "200"}, 1},
		{"warmgate_model_request_duration_seconds", []string{"model", "gpt-4o"}, 3},
		{"warmgate_model_request_duration_seconds", []string{"model", "other"}, 2},
		{"warmgate_cost_usd_total", []string{"model", "gpt-4o", "key", "team-a"}, 0.75},
		{"warmgate_cost_usd_total", []string{"model", "other", "key", "team-a"}, 0.125},
		{"warmgate_cost_usd_total", []string{"model", "gpt-*", "key", "team-a"}, 0},
	} {
		wantValue(t, f, tt.want, tt.name, tt.labels...)
	}
}

// TestModelSeriesConcurrent races requests, costs, reloads and scrapes
// (run with -race).
func TestModelSeriesConcurrent(t *testing.T) {
	m := New()
	m.Configure(modelsConfig())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				model := []string{"gpt-4o", "gpt-5", "mistral", ""}[(g+i)%4]
				m.ModelRequest(model, "team-a", 200+i%3, time.Millisecond)
				m.Cost("team-a", model, 1)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			m.Configure(modelsConfig())
			if _, err := m.Registry().Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	f := scrape(t, m)
	var n float64
	for _, s := range f["warmgate_model_requests_total"].GetMetric() {
		n += s.GetCounter().GetValue()
	}
	if n != 4*300 {
		t.Errorf("model_requests_total summed to %v, want %d", n, 4*300)
	}
}

// BenchmarkModelRequest is what recording one request costs on the
// request path, per kind of model name: Request alone (the route series),
// and ModelRequest for a configured name, a name labelled by its glob, and
// one labelled other.
func BenchmarkModelRequest(b *testing.B) {
	m := New()
	m.Configure(modelsConfig())
	b.Run("route only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Request("/v1/chat/completions", 200, time.Millisecond)
		}
	})
	for _, model := range []string{"gpt-4o", "gpt-4.1-nano", "mistral-large"} {
		b.Run(model, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.ModelRequest(model, "team-a", 200, time.Millisecond)
			}
		})
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package metrics

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/warmgate/warmgate/internal/buildinfo"
	"github.com/warmgate/warmgate/upstream"
)

func TestRequest(t *testing.T) {
	m := New()
	m.Request("/v1/chat/completions", 200, 2*time.Second)
	m.Request("/v1/chat/completions", 200, 3*time.Second)
	m.Request("/v1/chat/completions", 429, time.Millisecond)
	m.Request("/v1/models", 200, time.Millisecond)
	f := scrape(t, m)
	wantValue(t, f, 2, "warmgate_requests_total", "route", "/v1/chat/completions", "code", "200")
	wantValue(t, f, 1, "warmgate_requests_total", "route", "/v1/chat/completions", "code", "429")
	wantValue(t, f, 1, "warmgate_requests_total", "route", "/v1/models", "code", "200")
	wantValue(t, f, 3, "warmgate_request_duration_seconds", "route", "/v1/chat/completions")
	h := find(f, "warmgate_request_duration_seconds", "route", "/v1/chat/completions").GetHistogram()
	if got := h.GetSampleSum(); got < 5.001 || got > 5.0011 {
		t.Errorf("request_duration_seconds sum = %v, want 5.001", got)
	}
	var bounds []float64
	for _, b := range h.GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	if len(bounds) < 2 || bounds[0] != .001 || bounds[len(bounds)-2] != 600 { // the parser adds +Inf
		t.Errorf("request_duration_seconds buckets %v, want 1ms to 600s (10 minutes)", bounds)
	}
}

func TestTokensAndRateLimited(t *testing.T) {
	m := New()
	m.Tokens("team-a", "gpt-4o", 100, 20)
	m.Tokens("team-a", "gpt-4o", 5, 1)
	m.Tokens("team-b", "o3", 7, -1) // a negative count is ignored, not a panic
	m.RateLimited("team-a", "rpm")
	m.RateLimited("team-a", "rpm")
	m.RateLimited("team-b", "tpm")
	f := scrape(t, m)
	wantValue(t, f, 105, "warmgate_tokens_total", "key", "team-a", "model", "gpt-4o", "kind", "prompt")
	wantValue(t, f, 21, "warmgate_tokens_total", "key", "team-a", "model", "gpt-4o", "kind", "completion")
	wantValue(t, f, 7, "warmgate_tokens_total", "key", "team-b", "model", "o3", "kind", "prompt")
	wantValue(t, f, 0, "warmgate_tokens_total", "key", "team-b", "model", "o3", "kind", "completion")
	wantValue(t, f, 2, "warmgate_ratelimited_total", "key", "team-a", "limit", "rpm")
	wantValue(t, f, 1, "warmgate_ratelimited_total", "key", "team-b", "limit", "tpm")
	if got := len(f["warmgate_tokens_total"].GetMetric()); got != 4 {
		t.Errorf("%d tokens_total series, want 4", got)
	}
}

func TestModelCardinalityCap(t *testing.T) {
	m := New()
	for i := range MaxLabelValues + 5 {
		m.Tokens("k", fmt.Sprintf("model-%d", i), 1, 2)
	}
	m.Tokens("k", "model-0", 10, 0) // admitted before the cap: still its own series
	f := scrape(t, m)
	n := 0
	for _, s := range f["warmgate_tokens_total"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "kind" && l.GetValue() == "prompt" {
				n++
			}
		}
	}
	if n != MaxLabelValues+1 {
		t.Errorf("%d models in tokens_total, want %d and %q", n, MaxLabelValues, OtherLabelValue)
	}
	wantValue(t, f, 5, "warmgate_tokens_total", "model", OtherLabelValue, "kind", "prompt")
	wantValue(t, f, 10, "warmgate_tokens_total", "model", OtherLabelValue, "kind", "completion")
	wantValue(t, f, 11, "warmgate_tokens_total", "model", "model-0", "kind", "prompt")
	if s := find(f, "warmgate_tokens_total", "model", fmt.Sprintf("model-%d", MaxLabelValues)); s != nil {
		t.Errorf("model past the cap has its own series: %v", s)
	}
}

// TestTokensPairCache: the series Tokens caches by (key, model) names
// count as the uncached ones do, past the cache's bound too, and the cache
// keeps neither more pairs than its bound nor names too long for a label.
func TestTokensPairCache(t *testing.T) {
	m := New()
	const keys, models = 40, 30 // 1,200 pairs: past maxTokenPairs
	long := strings.Repeat("m", MaxLabelLen+1)
	for range 2 {
		for k := range keys {
			for mod := range models {
				m.Tokens(fmt.Sprintf("k%d", k), fmt.Sprintf("m%d", mod), 3, 1)
			}
		}
		m.Tokens("k0", long, 5, 0)
	}
	f := scrape(t, m)
	for _, k := range []int{0, keys - 1} {
		for _, mod := range []int{0, models - 1} {
			wantValue(t, f, 6, "warmgate_tokens_total", "key", fmt.Sprint("k", k), "model", fmt.Sprint("m", mod), "kind", "prompt")
			wantValue(t, f, 2, "warmgate_tokens_total", "key", fmt.Sprint("k", k), "model", fmt.Sprint("m", mod), "kind", "completion")
		}
	}
	wantValue(t, f, 10, "warmgate_tokens_total", "key", "k0", "model", OtherLabelValue, "kind", "prompt")
	cached := *m.tokenPairs.m.Load()
	if len(cached) != maxTokenPairs {
		t.Errorf("%d pairs cached, want the bound, %d", len(cached), maxTokenPairs)
	}
	for k := range cached {
		if len(k.model) > MaxLabelLen {
			t.Errorf("a model name of %d bytes is cached", len(k.model))
		}
	}
}

// BenchmarkTokens measures counting one request's tokens, of a pair seen
// before.
//
//	go test -run '^$' -bench BenchmarkTokens -benchmem ./internal/metrics/
func BenchmarkTokens(b *testing.B) {
	m := New()
	for b.Loop() {
		m.Tokens("team-a", "gpt-4.1-mini", 100, 20)
	}
}

// TestLint fills every series through a real pool and the gateway methods,
// then runs promtool's checks on the whole registry.
func TestLint(t *testing.T) {
	m := New()
	s := newServer(t, modeH2, hello)
	p := newPool(t, m, s, nil)
	if _, err := get(t.Context(), p, "/chat/completions"); err != nil {
		t.Fatal(err)
	}
	m.Retry("a", upstream.ReasonTimeout)
	m.Request("/v1/chat/completions", 200, time.Second)
	m.Tokens("k", "gpt-4o", 1, 1)
	m.RateLimited("k", "rpm")
	m.ModelRequest("gpt-4o", "k", 200, time.Second)
	m.Cost("k", "gpt-4o", 0.01)

	f := scrape(t, m)
	for _, name := range []string{
		"warmgate_requests_total", "warmgate_request_duration_seconds",
		"warmgate_upstream_requests_total", "warmgate_upstream_retries_total",
		"warmgate_upstream_connections_opened_total", "warmgate_upstream_connections_reused_total",
		"warmgate_upstream_connections", "warmgate_upstream_handshake_seconds",
		"warmgate_upstream_pool_wait_seconds", "warmgate_upstream_pool_exhausted_total",
		"warmgate_upstream_first_byte_seconds", "warmgate_upstream_circuit_state",
		"warmgate_tokens_total", "warmgate_ratelimited_total",
		"warmgate_model_requests_total", "warmgate_model_request_duration_seconds", "warmgate_cost_usd_total",
		"warmgate_upstream_in_flight", "warmgate_upstream_idle_timeout_seconds",
		"warmgate_upstream_connections_expired_total", "warmgate_upstream_stream_bytes_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if f[name] == nil {
			t.Errorf("%s missing from the scrape", name)
		}
	}
	for name, want := range map[string][2]float64{
		"warmgate_upstream_handshake_seconds":  {.0001, 30},
		"warmgate_upstream_pool_wait_seconds":  {.0001, 30},
		"warmgate_upstream_first_byte_seconds": {.001, 600},
	} {
		b := f[name].GetMetric()[0].GetHistogram().GetBucket()
		if len(b) < 2 || b[0].GetUpperBound() != want[0] || b[len(b)-2].GetUpperBound() != want[1] { // the parser adds +Inf
			t.Errorf("%s buckets do not run from %gs to %gs", name, want[0], want[1])
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Errorf("lint: %s: %s", pr.Metric, pr.Text)
	}
}

// TestConcurrentUse races new upstream and route names, observations and
// scrapes against each other (run with -race).
func TestConcurrentUse(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("u%d", (g+i)%5)
				m.Attempt(upstream.AttemptInfo{Upstream: name, Status: 200 + i%4, FirstByte: time.Millisecond})
				m.Attempt(upstream.AttemptInfo{Upstream: name, Kind: upstream.Kind(i % 14)})
				m.Retry(name, upstream.RetryReason(i%5))
				m.BodyDone(upstream.BodyInfo{Upstream: name, Bytes: 10})
				m.Request(fmt.Sprintf("/r%d", i%3), 200, time.Millisecond)
				m.Tokens("k", fmt.Sprintf("m%d", i%7), 1, 1)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := m.Registry().Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	f := scrape(t, m)
	var total float64
	for _, s := range f["warmgate_upstream_stream_bytes_total"].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	if total != 8*200*10 {
		t.Errorf("stream_bytes_total summed to %v, want %v", total, 8*200*10)
	}
}

// Test helpers.

// scrape serves m.Handler once and parses the text exposition.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil)
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: Content-Type %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("scrape: parsing the exposition: %v", err)
	}
	return fams
}

// find returns the sample of family name whose labels include the given
// name/value pairs, or nil.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value, or a histogram's sample count; 0
// when the series does not exist.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := find(fams, name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// wantValue fails the test unless the series has the wanted value.
func wantValue(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	if got := value(fams, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// Server modes, as in the stdlib's clientserver_test.go.
const (
	modeH1    = "h1"     // plain HTTP/1.1
	modeH1TLS = "h1+tls" // HTTP/1.1 over TLS
	modeH2    = "h2"     // HTTP/2 over TLS
)

var allModes = []string{modeH1, modeH1TLS, modeH2}

// run runs f once per server mode.
func run(t *testing.T, f func(t *testing.T, mode string), modes ...string) {
	if len(modes) == 0 {
		modes = allModes
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { f(t, mode) })
	}
}

// server is a test upstream counting the connections it accepted.
type server struct {
	*httptest.Server
	accepted atomic.Int64
}

func newServer(t *testing.T, mode string, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{Server: httptest.NewUnstartedServer(h)}
	// Extra HTTP/2 dials closed by the client log TLS handshake errors.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.accepted.Add(1)
		}
	}
	switch mode {
	case modeH1:
		s.Start()
	case modeH1TLS:
		s.StartTLS()
	case modeH2:
		s.EnableHTTP2 = true
		s.StartTLS()
	default:
		t.Fatalf("unknown mode %q", mode)
	}
	t.Cleanup(s.Close)
	return s
}

// tlsConfig is the client TLS configuration trusting s, or nil.
func (s *server) tlsConfig() *tls.Config {
	if s.TLS == nil {
		return nil
	}
	return s.Client().Transport.(*http.Transport).TLSClientConfig
}

// newPool builds a one-upstream pool named "a" against s, observed by m
// and watched by it. edit may adjust the config.
func newPool(t *testing.T, m *Metrics, s *server, edit func(*upstream.Config)) *upstream.Pool {
	t.Helper()
	c := upstream.Config{Name: "a", BaseURL: s.URL, TLS: s.tlsConfig()}
	if edit != nil {
		edit(&c)
	}
	p, err := upstream.New([]upstream.Config{c}, upstream.WithObserver(m.Observer()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	m.WatchPool(p)
	return p
}

// get sends a GET of path through p and reads the whole body. It returns
// the status, or the error.
func get(ctx context.Context, p *upstream.Pool, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := p.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// TestBuildInfo: warmgate_build_info is 1 and labelled with the running
// build, as `warmgate version` reports it.
func TestBuildInfo(t *testing.T) {
	bi := buildinfo.Get()
	f := scrape(t, New())
	wantValue(t, f, 1, "warmgate_build_info", "version", bi.Version, "commit", commitLabel(bi), "go", bi.Go)
}

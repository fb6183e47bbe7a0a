// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// TestAlertRules runs Prometheus's own checks on deploy/prometheus: the
// rules parse (`promtool check rules`) and each alert fires on the series
// that should page and not on healthy ones (`promtool test rules`).
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not found (Debian package prometheus; .ci/run installs it): the alert rules are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDashboardAndAlertsUseServedMetrics: every warmgate_ series that the
// Grafana dashboard or the alert rules query is one a running gateway's
// /metrics serves, after traffic that touches each of them (answers, a
// 401, rate limits, a budget refusal, token usage).
func TestDashboardAndAlertsUseServedMetrics(t *testing.T) {
	used := map[string][]string{} // series -> files using it
	dash, err := os.ReadFile(filepath.Join("grafana", "warmgate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Type    string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Definition string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("grafana/warmgate.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	series := regexp.MustCompile(`warmgate_[a-z0-9_]+`)
	for _, e := range exprs {
		for _, s := range series.FindAllString(e, -1) {
			used[s] = append(used[s], "grafana/warmgate.json")
		}
	}
	rules, err := os.ReadFile(filepath.Join("prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.Contains(line, "description:") || strings.Contains(line, "summary:") {
			continue
		}
		for _, s := range series.FindAllString(line, -1) {
			used[s] = append(used[s], "prometheus/alerts.yml")
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %d series in the dashboard and rules: %v", len(used), used)
	}

	served := scrapeBusyGateway(t)
	var missing []string
	for s, files := range used {
		base := s
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(s, suf); ok && served[b] == model.MetricTypeHistogram {
				base = b
			}
		}
		if _, ok := served[base]; !ok {
			missing = append(missing, s+" (in "+strings.Join(uniq(files), ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("series queried but not served by /metrics:\n  %s", strings.Join(missing, "\n  "))
	}
}

// scrapeBusyGateway starts a gateway in front of the mock, sends it the
// traffic that makes every series appear, and returns the metric families
// of its /metrics with their types.
func scrapeBusyGateway(t *testing.T) map[string]model.MetricType {
	t.Helper()
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	yaml := `upstreams:
  - name: mock
    base_url: ` + m.URL() + `/v1
keys:
  - {name: limited, key_env: K_LIMITED, rpm: 2}
  - {name: broke, key_env: K_BROKE, budget_daily: 0.000001}
admin: {key_env: K_ADMIN}
prices: {"gpt-*": {prompt: 1000, completion: 1000}}
data_dir: ` + t.TempDir() + "\n"
	env := map[string]string{"K_LIMITED": "sk-limited", "K_BROKE": "sk-broke", "K_ADMIN": "sk-admin"}
	cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := startGateway(t, cfg)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	call := func(key, body string) int {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	scrape := func() map[string]model.MetricType {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer sk-admin")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %s", resp.Status)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]model.MetricType{}
		for name, f := range fams {
			out[name] = model.MetricType(strings.ToLower(f.GetType().String()))
		}
		return out
	}
	// Before any request: the series whose labels are known in advance are
	// there at 0 (or their value), so panels and alerts have data at once.
	fresh := scrape()
	for _, want := range []string{"warmgate_build_info", "warmgate_state_up", "warmgate_upstream_retries_total",
		"warmgate_upstream_circuit_state", "warmgate_upstream_connections_opened_total", "warmgate_usage_records_written_total",
		"warmgate_model_requests_total", "warmgate_model_request_duration_seconds", "warmgate_cost_usd_total"} {
		if _, ok := fresh[want]; !ok {
			t.Errorf("a fresh gateway's /metrics lacks %s", want)
		}
	}
	const chat = `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`
	const stream = `{"model":"gpt-4.1-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	codes := []int{call("", chat), call("sk-limited", chat), call("sk-limited", stream), call("sk-limited", chat), call("sk-broke", chat), call("sk-broke", chat)}
	t.Logf("statuses: %v", codes)
	return scrape()
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// startGateway runs a gateway on cfg on a loopback port until the test
// ends.
func startGateway(t *testing.T, cfg *config.Config) *gateway.Server {
	t.Helper()
	s, err := gateway.NewServer(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

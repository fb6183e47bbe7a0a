// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/usage"
)

// executeUsage runs "warmgate usage args..." in process, silenced as the
// root command silences it.
func executeUsage(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newUsageCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// usageDir writes records of the last hours, and one of last week, to a
// fresh data directory.
func usageDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	l, err := usage.Open(dir, usage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []usage.Record{
		{Time: now.Add(-time.Hour), Key: "team-a", Model: "gpt-4o", Upstream: "openai", PromptTokens: 1_234_567, CompletionTokens: 8_901, Cost: 3.25, Status: 200, Latency: 1200 * time.Millisecond},
		{Time: now.Add(-2 * time.Hour), Key: "team-a", Model: "gpt-4o-mini", Upstream: "azure", PromptTokens: 1000, CompletionTokens: 200, Cost: 0.0012, Status: 200, Latency: 400 * time.Millisecond},
		{Time: now.Add(-3 * time.Hour), Key: "", Model: "gpt-4o-mini", Upstream: "", Status: 502, Latency: 2 * time.Second},
		{Time: now.Add(-7 * 24 * time.Hour), Key: "ci", Model: "gpt-4o", Upstream: "openai", PromptTokens: 10, CompletionTokens: 10, Cost: 0.5, Status: 200, Latency: time.Second},
	} {
		l.Record(r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestUsageCmdTable(t *testing.T) {
	dir := usageDir(t)
	tests := []struct {
		name string
		args []string
		want []string // lines or parts of lines, in order
		not  []string
	}{
		{"default: 24h by model", nil, []string{
			"Usage since ", ", by model (" + filepath.Join(dir, "usage.db") + ")",
			"MODEL        REQUESTS  ERRORS  PROMPT TOKENS  COMPLETION TOKENS     COST  AVG LATENCY",
			"gpt-4o              1       0      1,234,567              8,901  $3.2500         1.2s",
			"gpt-4o-mini         2       1          1,000                200  $0.0012         1.2s",
			"TOTAL               3       1      1,235,567              9,101  $3.2512         1.2s",
		}, []string{"ci"}},
		{"by key over 8 days", []string{"--since", "8d", "--by", "key"}, []string{
			"KEY       REQUESTS",
			"team-a           2",
			"ci               1",
			"(no key)         1",
			"TOTAL            4",
		}, nil},
		{"one key by upstream", []string{"--key", "team-a", "--by", "upstream"}, []string{
			", key team-a, by upstream",
			"openai",
			"azure",
		}, []string{"(none)"}},
		{"a model", []string{"--model", "gpt-4o-mini", "--by", "upstream"}, []string{"azure", "(none)"}, []string{"openai"}},
		{"until", []string{"--since", "8d", "--until", "1d"}, []string{" until ", "gpt-4o ", "TOTAL          1"}, []string{"mini"}},
		{"by day", []string{"--since", "2000-01-01", "--by", "day"}, []string{
			"DAY ", time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.DateOnly), time.Now().Add(-3 * time.Hour).UTC().Format(time.DateOnly),
		}, nil},
		{"nothing matches", []string{"--key", "nobody"}, []string{"No requests recorded since ", ", key nobody in "}, []string{"TOTAL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := executeUsage(t, append([]string{"--data-dir", dir}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestUsageCmdJSONAndCSV(t *testing.T) {
	dir := usageDir(t)
	out, err := executeUsage(t, "--data-dir", dir, "--json", "--by", "key")
	if err != nil {
		t.Fatal(err)
	}
	var rep usage.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.By != "key" || len(rep.Rows) != 2 || rep.Rows[0].Group != "team-a" || rep.Rows[1].Group != "" ||
		rep.Totals.Requests != 3 || rep.Totals.Errors != 1 || rep.Totals.PromptTokens != 1_235_567 || rep.Since == "" {
		t.Errorf("report %+v", rep)
	}

	out, err = executeUsage(t, "--data-dir", dir, "--csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"model", "requests", "errors", "prompt_tokens", "completion_tokens", "cost", "avg_latency_ms"},
		{"gpt-4o", "1", "0", "1234567", "8901", "3.25", "1200"},
		{"gpt-4o-mini", "2", "1", "1000", "200", "0.0012", "1200"},
	}
	if len(recs) != len(want) {
		t.Fatalf("csv\n%s\nwant %d lines", out, len(want))
	}
	for i := range want {
		if strings.Join(recs[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("csv line %d: %q, want %q", i, recs[i], want[i])
		}
	}
}

func TestUsageCmdReadsDataDirFromConfig(t *testing.T) {
	dir := usageDir(t)
	cfg := writeFile(t, "warmgate.yaml", "upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\ndata_dir: "+dir+"\n")
	out, err := executeUsage(t, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "TOTAL               3") {
		t.Errorf("output:\n%s", out)
	}
}

// TestUsageCmdConfigWithoutSecrets: --config needs only data_dir (with
// its ${VAR}): the secrets and settings the file takes from the
// environment need not be set where usage runs.
func TestUsageCmdConfigWithoutSecrets(t *testing.T) {
	dir := usageDir(t)
	t.Setenv("WARMGATE_USAGE_TEST_DIR", dir)
	const rest = "upstreams:\n  - name: a\n    base_url: ${WARMGATE_UNSET_URL}\n    api_key_env: WARMGATE_UNSET_KEY\n" +
		"keys: [{name: k, key_env: WARMGATE_UNSET_CLIENT_KEY}]\nadmin: {key_env: WARMGATE_UNSET_ADMIN_KEY}\nredis: {url: \"${WARMGATE_UNSET_REDIS}\"}\n"
	cfg := writeFile(t, "warmgate.yaml", rest+"data_dir: ${WARMGATE_USAGE_TEST_DIR}\n")
	out, err := executeUsage(t, "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "TOTAL               3") {
		t.Errorf("output:\n%s", out)
	}
	// data_dir itself must resolve.
	cfg = writeFile(t, "warmgate.yaml", rest+"data_dir: ${WARMGATE_UNSET_DIR}\n")
	_, err = executeUsage(t, "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "data_dir: environment variable WARMGATE_UNSET_DIR is not set") ||
		strings.Contains(err.Error(), "WARMGATE_UNSET_KEY") {
		t.Errorf("data_dir from an unset variable: %v; want an error about it alone", err)
	}
}

func TestUsageCmdErrors(t *testing.T) {
	dir := usageDir(t)
	empty := filepath.Join(t.TempDir(), "nothing")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bad since", []string{"--data-dir", dir, "--since", "yesterday"}, []string{"--since", `"yesterday"`, "7d", "2026-11-01"}},
		{"bad until", []string{"--data-dir", dir, "--until", "later"}, []string{"--until", `"later"`}},
		{"until before since", []string{"--data-dir", dir, "--since", "1h", "--until", "2h"}, []string{"--until 2h is not after --since 1h"}},
		{"bad by", []string{"--data-dir", dir, "--by", "week"}, []string{`--by "week"`, "model, key, day or upstream"}},
		{"no database", []string{"--data-dir", empty}, []string{"no usage recorded in " + empty + " yet", filepath.Join(empty, "usage.db"), "data_dir"}},
		{"json and csv", []string{"--data-dir", dir, "--json", "--csv"}, []string{"json", "csv"}},
		{"data dir and config", []string{"--data-dir", dir, "--config", "x.yaml"}, []string{"data-dir", "config"}},
		{"missing config", []string{"--config", "/nonexistent/warmgate.yaml"}, []string{"--config /nonexistent/warmgate.yaml", "--data-dir"}},
		{"argument", []string{"model"}, []string{"unknown command"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := executeUsage(t, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// Without flags it looks in ./warmgate-data and says how to look elsewhere.
func TestUsageCmdDefaultDataDir(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := executeUsage(t)
	if err == nil || !strings.Contains(err.Error(), "no usage recorded in ./warmgate-data yet") || !strings.Contains(err.Error(), "--data-dir or --config") {
		t.Errorf("error %v", err)
	}
}

func TestUsageCmdHelp(t *testing.T) {
	out, err := executeUsage(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"warmgate usage --since 7d --by key", "--csv", "data_dir", "docs/usage.md"} {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks %q", w)
		}
	}
}

func TestUsageThousands(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234567, "-1,234,567"}, {100000, "100,000"}}
	for _, tt := range tests {
		if got := thousands(tt.in); got != tt.want {
			t.Errorf("thousands(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is five requests over three UTC days.
var fixture = []Record{
	{Time: at("2026-11-01T10:00:00Z"), Key: "a", Model: "gpt-4o", Upstream: "openai", PromptTokens: 100, CompletionTokens: 50, Cost: 0.01, Status: 200, Latency: time.Second},
	{Time: at("2026-11-01T23:59:59Z"), Key: "a", Model: "gpt-4o-mini", Upstream: "azure", PromptTokens: 10, CompletionTokens: 5, Cost: 0.001, Status: 500, Latency: 3 * time.Second},
	{Time: at("2026-11-02T00:00:00Z"), Key: "b", Model: "gpt-4o", Upstream: "openai", PromptTokens: 200, CompletionTokens: 100, Cost: 0.02, Status: 200, Latency: 2 * time.Second},
	{Time: at("2026-11-03T11:00:00Z"), Key: "", Model: "gpt-4o-mini", Upstream: "", Status: 0, Latency: 100 * time.Millisecond},
	{Time: at("2026-11-03T11:30:00Z"), Key: "b", Model: "gpt-4o", Upstream: "azure", PromptTokens: 300, Cost: 0.03, Status: 429, Latency: 500 * time.Millisecond},
}

// fixtureDir writes recs to a fresh data directory and closes the ledger.
func fixtureDir(t testing.TB, recs []Record) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		l.Record(r)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fixtureReader(t testing.TB) *Reader {
	t.Helper()
	r, err := OpenReadOnly(fixtureDir(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// sameRows compares rows, costs to 1e-9 and latencies to 1µs.
func sameRows(got, want []Row) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Abs(g.Cost-w.Cost) > 1e-9 || (g.AvgLatency-w.AvgLatency).Abs() > time.Microsecond {
			return false
		}
		g.Cost, g.AvgLatency = w.Cost, w.AvgLatency
		if g != w {
			return false
		}
	}
	return true
}

func TestSummaryBy(t *testing.T) {
	r := fixtureReader(t)
	ms := time.Millisecond
	tests := []struct {
		name string
		q    Query
		want []Row
	}{
		{"model (cost descending)", Query{By: ByModel}, []Row{
			{"gpt-4o", 3, 1, 600, 150, 0.06, 1166667 * time.Microsecond},
			{"gpt-4o-mini", 2, 2, 10, 5, 0.001, 1550 * ms},
		}},
		{"default is model", Query{}, []Row{
			{"gpt-4o", 3, 1, 600, 150, 0.06, 1166667 * time.Microsecond},
			{"gpt-4o-mini", 2, 2, 10, 5, 0.001, 1550 * ms},
		}},
		{"key", Query{By: ByKey}, []Row{
			{"b", 2, 1, 500, 100, 0.05, 1250 * ms},
			{"a", 2, 1, 110, 55, 0.011, 2000 * ms},
			{"", 1, 1, 0, 0, 0, 100 * ms},
		}},
		{"day (ascending, UTC)", Query{By: ByDay}, []Row{
			{"2026-11-01", 2, 1, 110, 55, 0.011, 2000 * ms},
			{"2026-11-02", 1, 0, 200, 100, 0.02, 2000 * ms},
			{"2026-11-03", 2, 2, 300, 0, 0.03, 300 * ms},
		}},
		{"upstream", Query{By: ByUpstream}, []Row{
			{"azure", 2, 2, 310, 5, 0.031, 1750 * ms},
			{"openai", 2, 0, 300, 150, 0.03, 1500 * ms},
			{"", 1, 1, 0, 0, 0, 100 * ms},
		}},
		{"since is inclusive", Query{By: ByKey, Since: at("2026-11-02T00:00:00Z")}, []Row{
			{"b", 2, 1, 500, 100, 0.05, 1250 * ms},
			{"", 1, 1, 0, 0, 0, 100 * ms},
		}},
		{"until is exclusive", Query{By: ByDay, Until: at("2026-11-02T00:00:00Z")}, []Row{
			{"2026-11-01", 2, 1, 110, 55, 0.011, 2000 * ms},
		}},
		{"since and until", Query{By: ByDay, Since: at("2026-11-01T23:59:59Z"), Until: at("2026-11-02T00:00:01Z")}, []Row{
			{"2026-11-01", 1, 1, 10, 5, 0.001, 3000 * ms},
			{"2026-11-02", 1, 0, 200, 100, 0.02, 2000 * ms},
		}},
		{"key filter", Query{By: ByModel, Key: "b"}, []Row{
			{"gpt-4o", 2, 1, 500, 100, 0.05, 1250 * ms},
		}},
		{"model filter", Query{By: ByKey, Model: "gpt-4o-mini"}, []Row{
			{"a", 1, 1, 10, 5, 0.001, 3000 * ms},
			{"", 1, 1, 0, 0, 0, 100 * ms},
		}},
		{"nothing matches", Query{Key: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Summary(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRows(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSummaryRejectsBadQueries(t *testing.T) {
	r := fixtureReader(t)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"unknown grouping", Query{By: "week"}, `unknown grouping "week": use model, key, day or upstream`},
		{"until before since", Query{Since: at("2026-11-02T00:00:00Z"), Until: at("2026-11-01T00:00:00Z")}, "until (2026-11-01T00:00:00Z) is not after since"},
		{"empty window", Query{Since: at("2026-11-02T00:00:00Z"), Until: at("2026-11-02T00:00:00Z")}, "is not after since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Summary(t.Context(), tt.q)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestSummaryTotals(t *testing.T) {
	r := fixtureReader(t)
	for _, by := range []string{ByModel, ByKey, ByDay, ByUpstream} {
		rows, err := r.Summary(t.Context(), Query{By: by})
		if err != nil {
			t.Fatal(err)
		}
		want := Row{"", 5, 3, 610, 155, 0.061, 1320 * time.Millisecond} // mean of 1, 3, 2, 0.1 and 0.5 s
		if got := Totals(rows); !sameRows([]Row{got}, []Row{want}) {
			t.Errorf("by %s: totals %+v, want %+v", by, got, want)
		}
	}
	if got := Totals(nil); got != (Row{}) {
		t.Errorf("Totals(nil) = %+v", got)
	}
}

func TestSummaryOnAnOpenLedger(t *testing.T) {
	l, _ := openLedger(t, Options{FlushInterval: 10 * time.Millisecond})
	for _, r := range fixture {
		l.Record(r)
	}
	waitFor(t, "the fixture to be written", func() bool { return l.Stats().Written == uint64(len(fixture)) })
	rows, err := l.Summary(t.Context(), Query{By: ByDay})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || Totals(rows).Requests != 5 {
		t.Errorf("rows %+v, want 5 requests over 3 days", rows)
	}
	recent, err := l.Recent(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 2 || !recent[0].Time.Equal(fixture[4].Time) || !recent[1].Time.Equal(fixture[3].Time) {
		t.Errorf("Recent(2) = %+v, want the last two fixtures, newest first", recent)
	}
	if none, err := l.Recent(t.Context(), 0); err != nil || none != nil {
		t.Errorf("Recent(0) = %v, %v", none, err)
	}
}

func TestUsageParseTime(t *testing.T) {
	now := at("2026-11-03T12:00:00Z")
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "24h", want: at("2026-11-02T12:00:00Z")},
		{in: "90m", want: at("2026-11-03T10:30:00Z")},
		{in: "7d", want: at("2026-10-27T12:00:00Z")},
		{in: "30d", want: at("2026-10-04T12:00:00Z")},
		{in: "1d12h", want: at("2026-11-02T00:00:00Z")},
		{in: " 2h ", want: at("2026-11-03T10:00:00Z")},
		{in: "2026-11-01", want: at("2026-11-01T00:00:00Z")},
		{in: "2026-11-01T15:04:05Z", want: at("2026-11-01T15:04:05Z")},
		{in: "2026-11-01T15:04:05+02:00", want: at("2026-11-01T13:04:05Z")},
		{in: "now", want: now},
		{in: "", wantErr: true},
		{in: "yesterday", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "7 d", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "99999999999999999999d", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in, now)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "7d") {
					t.Errorf("ParseTime(%q) = %v, %v; want an error with examples", tt.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

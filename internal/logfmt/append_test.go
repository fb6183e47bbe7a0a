// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package logfmt

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slogMsg returns how slog's text or JSON handler writes s as a message
// value: the reference for needsQuoting and appendEscapedJSONString.
func slogMsg(t *testing.T, format Format, s string) string {
	var buf bytes.Buffer
	std := newStd(&buf, format, nil)
	if err := std.Handle(t.Context(), slog.NewRecord(time.Time{}, slog.LevelInfo, s, 0)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if format == JSON {
		return strings.TrimSuffix(strings.TrimPrefix(out, `{"level":"INFO","msg":"`), "\"}\n")
	}
	return strings.TrimSuffix(strings.TrimPrefix(out, "level=INFO msg="), "\n")
}

// probeStrings returns, for lengths up to 19, strings of safe letters with
// one position replaced by each byte value or by a multi-byte sequence:
// every lane of the 8-byte words and of the tail.
func probeStrings() []string {
	inserts := []string{"\u00a0", "\u2028", "\u2029", "\u3000", "\ufffd", "\ufeff", "\u0085", "é", "世", "🙂", "\xc3", "\xe2\x80", "\xf0\x9f\x99"}
	for b := range 256 {
		inserts = append(inserts, string([]byte{byte(b)}))
	}
	var out []string
	for n := 1; n < 20; n++ {
		for pos := range n {
			for _, in := range inserts {
				out = append(out, strings.Repeat("a", pos)+in+strings.Repeat("z", n-pos-1))
			}
		}
	}
	return append(out, "", "a", "a=b", "a b", `a\b`, "\x7f", strings.Repeat("x", 64)+"=")
}

func TestNeedsQuoting(t *testing.T) {
	for _, s := range probeStrings() {
		if got, want := needsQuoting(s), slogMsg(t, Text, s) != s; got != want {
			t.Errorf("needsQuoting(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestAppendEscapedJSONString(t *testing.T) {
	for _, s := range probeStrings() {
		if got, want := string(appendEscapedJSONString([]byte("prefix"), s)), "prefix"+slogMsg(t, JSON, s); got != want {
			t.Errorf("appendEscapedJSONString(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	tests := []float64{
		0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, math.Pi, 1e20, 1e21, -1e21, 123456789012345678901,
		1e-6, 1e-7, -1e-7, 9.999999e-7, 5e-324, math.MaxFloat64, -math.MaxFloat64, 1e100, 1e-100, 2.5e-9, 100,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		tests = append(tests, math.Float64frombits(r.Uint64()))
	}
	for _, f := range tests {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONFloat(nil, f); string(got) != string(want) {
			t.Errorf("appendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestCachedTime checks the times formatted from the per-second cache
// against the full formatting, for cache misses and hits.
func TestCachedTime(t *testing.T) {
	locs := []*time.Location{
		time.UTC,
		time.Local,
		time.FixedZone("CET", 3600),
		time.FixedZone("LMT", -(3*3600 + 25*60 + 7)),
		time.FixedZone("far", 14*3600),
		time.FixedZone("zero offset, not UTC", 0),
	}
	for _, name := range []string{"America/New_York", "Europe/Dublin", "Australia/Lord_Howe"} {
		if loc, err := time.LoadLocation(name); err == nil {
			locs = append(locs, loc)
		}
	}
	times := []time.Time{
		t0,
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999500000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), // around European DST changes
		time.Date(2026, 10, 25, 0, 59, 59, 500000000, time.UTC),
		time.Date(2026, 10, 25, 1, 0, 0, 500000000, time.UTC),
		time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC),      // year 0: not cached
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),  // not cached
		time.Date(-500, 1, 1, 0, 0, 0, 5e6, time.UTC), // not cached
	}
	r := rand.New(rand.NewPCG(3, 4))
	lo, hi := times[1].Unix(), times[3].Unix()
	for range 2000 {
		times = append(times, time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9)))
	}
	c := &common{}
	for _, tm := range times {
		for _, loc := range locs {
			tm := tm.In(loc)
			// Format twice (a miss, then a hit), then another instant of
			// the same second (a hit with another fraction).
			other := tm.Add(time.Duration(r.Int64N(1e9)) - time.Duration(tm.Nanosecond()))
			for _, x := range []time.Time{tm, tm, other} {
				if got, want := string(c.appendTextTime(nil, x)), string(appendRFC3339Millis(nil, x)); got != want {
					t.Errorf("appendTextTime(%v) = %s, want %s", x, got, want)
				}
				if !jsonTimeOK(x) {
					continue
				}
				if got, want := string(c.appendJSONTime(nil, x)), strconv.Quote(x.Format(time.RFC3339Nano)); got != want {
					t.Errorf("appendJSONTime(%v) = %s, want %s", x, got, want)
				}
			}
		}
	}
}

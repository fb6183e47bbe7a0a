// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"encoding/json"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		var ds []time.Duration
		for _, v := range vs {
			ds = append(ds, time.Duration(v)*time.Millisecond)
		}
		return ds
	}
	tests := []struct {
		name     string
		in       []time.Duration
		p50, p90 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"ten, unsorted", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5 * time.Millisecond, 9 * time.Millisecond},
		{"three", ms(30, 10, 20), 20 * time.Millisecond, 30 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, 50); got != tt.p50 {
				t.Errorf("p50 = %v, want %v", got, tt.p50)
			}
			if got := percentile(tt.in, 90); got != tt.p90 {
				t.Errorf("p90 = %v, want %v", got, tt.p90)
			}
		})
	}
}

func TestSummarizeHandshake(t *testing.T) {
	ms := time.Millisecond
	got := summarize([]sample{
		{Connect: 10 * ms, TLS: 40 * ms, Total: 60 * ms},
		{Connect: 20 * ms, TLS: 20 * ms, Total: 50 * ms},
		{Connect: 30 * ms, TLS: 60 * ms, Total: 100 * ms},
	})
	if got.Samples != 3 || got.Handshake.P50 != 50*ms || got.Handshake.P90 != 90*ms || got.Total.P50 != 60*ms {
		t.Errorf("summarize = %+v", got)
	}
}

// The JSON contract: the fields scripts rely on are always there, null
// when unknown, in milliseconds and seconds.
func TestReportJSON(t *testing.T) {
	r := report(found(1500*time.Millisecond), "timeout=1")
	r.TLS.CipherSuite = "TLS_AES_128_GCM_SHA256"
	r.Cold.Handshake.P50 = 52345 * time.Microsecond
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"protocol":                         "h2",
		"tls_version":                      "TLS 1.3",
		"cold_p50_ms":                      120.0,
		"warm_p50_ms":                      30.0,
		"saving_p50_ms":                    90.0,
		"handshake_p50_ms":                 52.345,
		"idle_timeout_seconds":             1.5,
		"keepalive_header":                 "timeout=1",
		"recommended_idle_timeout_seconds": 0.8,
		"max_requests_per_connection":      nil,
		"tls_resumption":                   nil, // not checked
	}
	for k, v := range want {
		got, ok := j[k]
		if !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for _, k := range []string{"recommendations", "warnings", "notes", "idle_probes"} {
		if _, ok := j[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, j[k])
		}
	}
}

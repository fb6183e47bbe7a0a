// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestJSONHasTheDocumentedFields(t *testing.T) {
	m := startMock(t, mock.Options{TLS: true})
	summary := []string{"p50", "p90", "p99", "p999", "min", "max", "mean"}
	for _, tc := range []struct {
		name       string
		o          Options
		wantFirst  bool
		wantServer bool
	}{
		{"plain run", Options{}, false, true},
		{"stream without server stats", Options{Stream: true, NoServerStats: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Target, o.RootCAs, o.Requests, o.Concurrency = m.URL()+"/v1", m.CertPool(), 10, 2
			b, err := json.Marshal(run(t, o))
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"target", "requests", "errors", "duration_seconds", "throughput_rps",
				"latency_ms", "status", "errors_by_class", "client_new_connections", "client_tls_handshakes", "server"} {
				if _, ok := got[k]; !ok {
					t.Errorf("no %q in %s", k, b)
				}
			}
			keys := []string{"latency_ms"}
			if _, ok := got["first_chunk_ms"]; ok != tc.wantFirst {
				t.Errorf("first_chunk_ms present: %v, want %v", ok, tc.wantFirst)
			} else if ok {
				keys = append(keys, "first_chunk_ms")
			}
			for _, k := range keys {
				s, _ := got[k].(map[string]any)
				for _, f := range summary {
					if v, ok := s[f].(float64); !ok || v <= 0 {
						t.Errorf("%s.%s = %v", k, f, s[f])
					}
				}
			}
			if got["requests"] != 10.0 || got["target"] != m.URL()+"/v1/chat/completions" {
				t.Errorf("requests %v target %v", got["requests"], got["target"])
			}
			if st, _ := got["status"].(map[string]any); st["200"] != 10.0 {
				t.Errorf("status = %v, want {\"200\":10}", got["status"])
			}
			if ec, ok := got["errors_by_class"].(map[string]any); !ok || len(ec) != 0 {
				t.Errorf("errors_by_class = %v, want {}", got["errors_by_class"])
			}
			srv, isObj := got["server"].(map[string]any)
			switch {
			case tc.wantServer && (!isObj || srv["connections_accepted"] == nil || srv["tls_handshakes"] == nil):
				t.Errorf("server = %v", got["server"])
			case !tc.wantServer && got["server"] != nil:
				t.Errorf("server = %v, want null", got["server"])
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	r := &Result{
		Target: "http://127.0.0.1:1/v1/chat/completions", Mode: "open", RateRPS: 100, MaxInFlight: 2,
		Requests: 12, OK: 7, Errors: 3, Dropped: 4, Canceled: 1, Interrupted: true,
		DurationSeconds: 1.5, ThroughputRPS: 8,
		Latency:    Summary{Count: 7, P50: 0.052, P90: 1.234, P99: 153.4, P999: 2345, Min: 0.05, Max: 2345, Mean: 10},
		FirstChunk: &Summary{Count: 7, P50: 20},
		Status:     map[int]int{200: 7, 503: 2},
		ErrorsByClass: map[string]ErrorClass{
			ClassTimeout: {Count: 2, Example: "context deadline exceeded"}, ClassReset: {Count: 1, Example: "unexpected EOF"},
		},
		Protocols:            map[string]int{"HTTP/1.1": 9},
		ClientNewConnections: 2,
		Server:               &ServerStats{URL: "http://127.0.0.1:1/mock/stats", ConnectionsAccepted: 2},
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"POST http://127.0.0.1:1/v1/chat/completions",
		"open loop: 100 req/s on a fixed timetable, at most 2 in flight",
		"12 in 1.5s: 7 ok, 2 non-2xx, 3 errors",
		"4 arrivals not sent",
		"1 requests in flight were canceled",
		"8.0 req/s",
		"HTTP/1.1: 9",
		"52µs", "1.23ms", "153ms", "2.345s",
		"first chunk", "20ms",
		"200: 7, 503: 2",
		"reset: 1 (e.g. unexpected EOF)", "timeout: 2 (e.g. context deadline exceeded)",
		"client: 2 dialed, 0 TLS handshakes",
		"server: 2 accepted, 0 TLS handshakes (from http://127.0.0.1:1/mock/stats)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	r = &Result{Mode: "closed", Concurrency: 8, Requests: 5, Errors: 5,
		ErrorsByClass: map[string]ErrorClass{ClassConnectRefused: {Count: 5, Example: "dial tcp: connection refused"}}}
	b.Reset()
	_ = r.WriteTable(&b)
	for _, want := range []string{"closed loop: 8 workers", "none: no 2xx answers", "connect refused: 5", "server: not known"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestRoundDuration(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{51567 * time.Nanosecond, "52µs"}, {1234567 * time.Nanosecond, "1.23ms"}, {12345678 * time.Nanosecond, "12.3ms"},
		{153456789 * time.Nanosecond, "153ms"}, {2345678901 * time.Nanosecond, "2.346s"}, {61234567890, "1m1.23s"},
	} {
		if got := roundDuration(tc.in).String(); got != tc.want {
			t.Errorf("roundDuration(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

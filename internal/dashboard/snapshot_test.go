// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/warmgate/warmgate/upstream"
)

// newPool is a pool over upstreams that are never called (the tests feed
// the observer directly); it is closed when the test ends.
func newPool(t *testing.T, names ...string) *upstream.Pool {
	t.Helper()
	var cfgs []upstream.Config
	for _, n := range names {
		cfgs = append(cfgs, upstream.Config{Name: n, BaseURL: "http://127.0.0.1:9/v1"})
	}
	p, err := upstream.New(cfgs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestSnapshotOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := New()
		d.Watch(newPool(t, "a", "b"))
		o := d.Observer()
		start := time.Now()

		for i := range 3 {
			o.Attempt(upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 200, NewConn: i == 0, Reused: i > 0, FirstByte: 20 * time.Millisecond})
		}
		time.Sleep(time.Second)
		o.Attempt(upstream.AttemptInfo{Upstream: "b", Attempt: 1, Kind: upstream.KindDial})
		o.Retry("b", upstream.ReasonConnect)
		o.Attempt(upstream.AttemptInfo{Upstream: "a", Attempt: 2, Status: 200, Reused: true})
		time.Sleep(2 * time.Second)

		s := d.Snapshot()
		if !s.Time.Equal(start.Add(3*time.Second)) || s.Gateway.UptimeSeconds != 3 || s.WindowSeconds != windowSeconds {
			t.Errorf("time %v, uptime %v, window %d; want start+3s, 3, %d", s.Time, s.Gateway.UptimeSeconds, s.WindowSeconds, windowSeconds)
		}
		if len(s.Upstreams) != 2 || s.Upstreams[0].Name != "a" || s.Upstreams[1].Name != "b" {
			t.Fatalf("upstreams = %+v, want a then b (config order)", s.Upstreams)
		}
		a, b := s.Upstreams[0], s.Upstreams[1]
		if !slices.Equal(a.Window.Requests, []uint32{3, 1, 0}) || !slices.Equal(b.Window.Requests, []uint32{0, 1, 0}) {
			t.Errorf("requests per second: a %v, b %v; want [3 1 0], [0 1 0]", a.Window.Requests, b.Window.Requests)
		}
		if !a.Window.End.Equal(start.Add(3 * time.Second)) {
			t.Errorf("window end = %v, want start+3s", a.Window.End)
		}
		g := s.Gateway
		if !slices.Equal(g.RequestsSeries, []uint32{3, 1, 0}) || !slices.Equal(g.ErrorsSeries, []uint32{0, 1, 0}) {
			t.Errorf("gateway series: requests %v, errors %v; want [3 1 0], [0 1 0]", g.RequestsSeries, g.ErrorsSeries)
		}
		if g.Requests != 4 || g.Attempts != 5 || g.Errors != 1 || g.Retries != 1 {
			t.Errorf("gateway = %+v; want 4 requests, 5 attempts, 1 error, 1 retry", g)
		}
		if want := 4.0 / 3; math.Abs(g.RequestsPerSecond-want) > 1e-9 {
			t.Errorf("gateway requests/s = %v, want %v", g.RequestsPerSecond, want)
		}
		if r := a.LastMinute.ReuseRatio; r == nil || *r != 0.75 {
			t.Errorf("a's reuse in the last minute = %v, want 0.75", r)
		}
		if b.LastMinute.ReuseRatio != nil || b.LastMinute.Errors["dial"] != 1 || b.LastMinute.Retries["connect"] != 1 {
			t.Errorf("b's last minute = %+v; want no reuse figure, one dial error, one connect retry", b.LastMinute)
		}

		time.Sleep(400 * time.Second)
		s = d.Snapshot()
		a = s.Upstreams[0]
		if a.Window.Seconds != windowSeconds || slices.Max(a.Window.Requests) != 0 || a.LastMinute.ReuseRatio != nil {
			t.Errorf("after 400s idle: %d seconds, max %d requests/s, reuse %v; want %d, 0, null",
				a.Window.Seconds, slices.Max(a.Window.Requests), a.LastMinute.ReuseRatio, windowSeconds)
		}
		if r := a.Total.ReuseRatio; a.Total.Requests != 3 || r == nil || *r != 0.75 {
			t.Errorf("a's totals = %+v; want 3 requests with 0.75 reuse since start", a.Total)
		}
	})
}

// TestSnapshotBeforeWatch: a dashboard that has no pool yet has nothing to
// show, and says so with an empty list, not null.
func TestSnapshotBeforeWatch(t *testing.T) {
	b, err := json.Marshal(New().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"upstreams":[]`) {
		t.Errorf("snapshot = %s, want an empty upstreams list", b)
	}
}

// TestSnapshotJSONShape pins the JSON the page reads (and that the gateway
// tests read: upstreams[].name and connections_opened).
func TestSnapshotJSONShape(t *testing.T) {
	var b []byte
	synctest.Test(t, func(t *testing.T) {
		d := New()
		d.Watch(newPool(t, "a"))
		f := *fresh(time.Millisecond) // with a TLS handshake
		f.Upstream = "a"
		d.Observer().Attempt(f)
		d.Observer().Attempt(upstream.AttemptInfo{Upstream: "a", Attempt: 1, Status: 200, NewConn: true, FirstByte: time.Millisecond})
		time.Sleep(2 * time.Second)
		var err error
		if b, err = json.Marshal(d.Snapshot()); err != nil {
			t.Fatal(err)
		}
	})
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ups := doc["upstreams"].([]any)
	u := ups[0].(map[string]any)
	tests := []struct {
		path string
		want string // JSON type: number, string, array, object, bool, null
	}{
		{"time", "string"},
		{"window_seconds", "number"},
		{"gateway.started", "string"},
		{"gateway.uptime_seconds", "number"},
		{"gateway.requests", "number"},
		{"gateway.attempts", "number"},
		{"gateway.errors", "number"},
		{"gateway.retries", "number"},
		{"gateway.requests_per_second", "number"},
		{"gateway.requests_series", "array"},
		{"gateway.errors_series", "array"},
		{"keys.recorded", "bool"},
		{"keys.limits", "array"},
		{"u.name", "string"},
		{"u.base_url", "string"},
		{"u.connections_opened", "number"},
		{"u.connections_active", "number"},
		{"u.connections_idle", "number"},
		{"u.connections_reused", "number"},
		{"u.idle_timeout_ns", "number"},
		{"u.learned_idle_timeout_ns", "number"},
		{"u.pool_exhausted", "number"},
		{"u.tls_avg_ns", "number"},
		{"u.tls_handshakes", "number"},
		{"u.window.seconds", "number"},
		{"u.window.end", "string"},
		{"u.window.requests", "array"},
		{"u.window.new_connections", "array"},
		{"u.window.reused", "array"},
		{"u.window.reuse_ratio", "array"},
		{"u.window.errors", "array"},
		{"u.last_minute.requests", "number"},
		{"u.last_minute.requests_per_second", "number"},
		{"u.last_minute.new_connections", "number"},
		{"u.last_minute.reused", "number"},
		{"u.last_minute.reuse_ratio", "number"},
		{"u.last_minute.first_byte.count", "number"},
		{"u.last_minute.first_byte.p50_ms", "number"},
		{"u.last_minute.first_byte.p99_ms", "number"},
		{"u.last_minute.body.count", "number"},
		{"u.last_minute.pool_wait.p50_ms", "number"},
		{"u.last_minute.tls_handshake.p99_ms", "number"},
		{"u.last_minute.errors", "object"},
		{"u.last_minute.retries", "object"},
		{"u.total.requests", "number"},
		{"u.total.reuse_ratio", "number"},
		{"u.total.errors", "object"},
		{"u.total.retries", "object"},
		{"u.protocol", "string"},
		{"answers.classes", "array"},
		{"answers.series", "object"},
		{"answers.series.5xx", "array"},
		{"answers.last_minute", "object"},
		{"answers.last_minute.429", "number"},
		{"answers.total", "object"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var v any = doc
			parts := strings.Split(tt.path, ".")
			if parts[0] == "u" {
				v, parts = u, parts[1:]
			}
			for _, p := range parts {
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%s: %v is not an object", tt.path, v)
				}
				if v, ok = m[p]; !ok {
					t.Fatalf("%s: no field %q in %s", tt.path, p, b)
				}
			}
			if got := jsonType(v); got != tt.want {
				t.Errorf("%s is a %s (%v), want a %s", tt.path, got, v, tt.want)
			}
		})
	}
	if got := u["window"].(map[string]any)["reuse_ratio"]; !slices.Equal(got.([]any), []any{0.0, nil}) {
		t.Errorf("reuse_ratio = %v, want [0 null]: a second without a connection is null", got)
	}
	if doc["keys"].(map[string]any)["recorded"] != false {
		t.Errorf("keys.recorded = %v: nothing records per-key usage yet", doc["keys"])
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

func TestRatiosJSON(t *testing.T) {
	tests := []struct {
		name string
		in   ratios
		want string
	}{
		{"empty", ratios{}, `[]`},
		{"values and gaps", ratios{1, math.NaN(), 0.98765}, `[1.0000,null,0.9877]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Errorf("Marshal = %s, %v; want %s", b, err, tt.want)
			}
		})
	}
}

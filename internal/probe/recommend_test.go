// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"strings"
	"testing"
	"time"
)

func TestSafeUnder(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{"nginx 75s", 75 * time.Second, 60 * time.Second},
		{"ALB 60s", 60 * time.Second, 48 * time.Second},
		{"node 5s", 5 * time.Second, 4 * time.Second},
		{"1.55s", 1550 * time.Millisecond, 1200 * time.Millisecond},
		{"1s", time.Second, 800 * time.Millisecond},
		{"odd seconds", 13 * time.Second, 10 * time.Second},
		{"tiny", 5 * time.Millisecond, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safeUnder(tt.in); got != tt.want {
				t.Errorf("safeUnder(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseKeepAlive(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		timeout time.Duration
		max     int
	}{
		{"empty", "", 0, 0},
		{"both", "timeout=5, max=100", 5 * time.Second, 100},
		{"spaces and case", " Timeout = 75 ,MAX=3", 75 * time.Second, 3},
		{"timeout only", "timeout=1", time.Second, 0},
		{"junk", "timeout=soon, max=-1, foo", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout, maxReq := parseKeepAlive(tt.in)
			if timeout != tt.timeout || maxReq != tt.max {
				t.Errorf("parseKeepAlive(%q) = %v, %d; want %v, %d", tt.in, timeout, maxReq, tt.timeout, tt.max)
			}
		})
	}
}

func TestCodeDurations(t *testing.T) {
	tests := []struct {
		name     string
		in       time.Duration
		goExpr   string
		pySecs   string
		shortStr string
	}{
		{"minutes", 2 * time.Minute, "2 * time.Minute", "120.0", "120s"},
		{"seconds", 48 * time.Second, "48 * time.Second", "48.0", "48s"},
		{"millis", 1200 * time.Millisecond, "1200 * time.Millisecond", "1.2", "1.2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := goDuration(tt.in); got != tt.goExpr {
				t.Errorf("goDuration = %q, want %q", got, tt.goExpr)
			}
			if got := pySeconds(tt.in); got != tt.pySecs {
				t.Errorf("pySeconds = %q, want %q", got, tt.pySecs)
			}
			if got := seconds(tt.in); got != tt.shortStr {
				t.Errorf("seconds = %q, want %q", got, tt.shortStr)
			}
		})
	}
}

// report is a measured endpoint for Recommend: h2, keep-alive, and the
// idle search as given.
func report(idle IdleResult, header string) *Report {
	ms := time.Millisecond
	return &Report{
		Protocol: "h2", TLS: &TLSInfo{Version: "TLS 1.3", ALPN: "h2"}, Status: 200,
		KeepAlive: true, KeepAliveHeader: header,
		Cold: Timings{Samples: 5, Total: Percentiles{P50: 120 * ms}, Handshake: Percentiles{P50: 90 * ms}},
		Warm: Timings{Samples: 5, Reused: 5, Total: Percentiles{P50: 30 * ms}},
		Idle: idle,
	}
}

func found(d time.Duration) IdleResult {
	return IdleResult{Max: DefaultIdleMax, Found: true, Timeout: d, Survived: d - d/40, Closed: d + d/40}
}

func TestRecommend(t *testing.T) {
	s := time.Second
	tests := []struct {
		name         string
		r            *Report
		idle         time.Duration
		nRecs        int
		warn         []string // substrings of the warnings
		noWarn       []string
		configSubstr []string // substrings of some recommendation's config
	}{
		{"short server timeout races every default", report(found(3*s), ""), 2400 * time.Millisecond, 5,
			[]string{"Go http.DefaultTransport IdleConnTimeout 90s", "httpx keepalive_expiry 5s", "globalAgent timeout 5s", "undici) keepAliveTimeout 4s"},
			nil,
			[]string{"idle_timeout: 2.4s", "tr.IdleConnTimeout = 2400 * time.Millisecond", "keepalive_expiry=2.4", "timeout: 2400", "keepAliveTimeout: 2400", "http2=True"}},
		{"60s races only Go's 90s", report(found(60*s), ""), 48 * s, 5,
			[]string{"Go http.DefaultTransport IdleConnTimeout 90s"},
			[]string{"httpx keepalive_expiry"},
			[]string{"idle_timeout: 48s", "48 * time.Second", "keepalive_expiry=48.0", "timeout: 48000"}},
		{"advertised shorter than measured wins", report(found(10*s), "timeout=5"), 4 * s, 5,
			[]string{"not clearly under the server's advertised 5s", "IdleConnTimeout 90s", "httpx keepalive_expiry 5s"}, []string{"undici"}, []string{"idle_timeout: 4s"}},
		{"advertised longer than measured: warning", report(found(2*s), "timeout=10"), 1600 * time.Millisecond, 5,
			[]string{"advertises Keep-Alive: timeout=10 but closed idle connections after 2s"}, nil, nil},
		{"none found up to the default", report(IdleResult{Max: DefaultIdleMax, Survived: DefaultIdleMax}, ""), 90 * s, 5,
			nil, []string{"stale-connection race"}, []string{"idle_timeout: 1m30s", "90 * time.Second"}},
		{"none found up to 10s", report(IdleResult{Max: 10 * s, Survived: 10 * s}, ""), 10 * s, 5,
			nil, []string{"stale-connection race"}, []string{"idle_timeout: 10s"}},
		{"not measured, advertised", report(IdleResult{Skipped: "turned off"}, "timeout=5"), 4 * s, 5,
			nil, []string{"stale-connection race"}, []string{"idle_timeout: 4s"}},
		{"not measured", report(IdleResult{Skipped: "turned off"}, ""), 0, 4,
			nil, []string{"stale-connection race"}, []string{"pool: {max_idle: 64, http2: true}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Recommend(tt.r)
			if a.IdleTimeout != tt.idle {
				t.Errorf("IdleTimeout = %v, want %v (basis %q)", a.IdleTimeout, tt.idle, a.Basis)
			}
			if len(a.Recommendations) != tt.nRecs {
				t.Errorf("%d recommendations, want %d", len(a.Recommendations), tt.nRecs)
			}
			warnings := strings.Join(a.Warnings, "\n")
			for _, w := range tt.warn {
				if !strings.Contains(warnings, w) {
					t.Errorf("warnings lack %q:\n%s", w, warnings)
				}
			}
			for _, w := range tt.noWarn {
				if strings.Contains(warnings, w) {
					t.Errorf("warnings have %q:\n%s", w, warnings)
				}
			}
			var configs strings.Builder
			for _, r := range a.Recommendations {
				configs.WriteString(r.Config + "\n")
				if r.Why == "" || strings.Contains(r.Why, "\n") {
					t.Errorf("%s: why %q is not one line", r.Client, r.Why)
				}
			}
			for _, c := range tt.configSubstr {
				if !strings.Contains(configs.String(), c) {
					t.Errorf("configs lack %q:\n%s", c, configs.String())
				}
			}
		})
	}
}

func TestRecommendMaxRequests(t *testing.T) {
	r := report(found(60*time.Second), "")
	r.Protocol = "http/1.1"
	r.MaxRequests = MaxRequestsResult{Sent: 100, Limit: 100}
	a := Recommend(r)
	if !strings.Contains(strings.Join(a.Notes, "\n"), "after 100 requests (without notice)") {
		t.Errorf("notes lack the cap: %q", a.Notes)
	}
	if !strings.Contains(strings.Join(a.Warnings, "\n"), "without Connection: close") {
		t.Errorf("warnings lack the silent close: %q", a.Warnings)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

const ms100 = 100 * time.Millisecond

func TestGrowingGaps(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		in   time.Duration
		want []time.Duration
	}{
		{"under the first gap", 500 * time.Millisecond, []time.Duration{500 * time.Millisecond}},
		{"exactly one", s, []time.Duration{s}},
		{"power of two", 4 * s, []time.Duration{s, 2 * s, 4 * s}},
		{"between", 3 * s, []time.Duration{s, 2 * s, 3 * s}},
		{"default", DefaultIdleMax, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 120 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := growingGaps(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("growingGaps(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		lo, hi time.Duration
		n      int
		want   []time.Duration
	}{
		{"tenths", s, 2 * s, 9, []time.Duration{1100 * time.Millisecond, 1200 * time.Millisecond, 1300 * time.Millisecond,
			1400 * time.Millisecond, 1500 * time.Millisecond, 1600 * time.Millisecond, 1700 * time.Millisecond,
			1800 * time.Millisecond, 1900 * time.Millisecond}},
		{"from zero", 0, s, 4, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond}},
		{"narrower than n ms", s, s + 3*time.Millisecond, 9, []time.Duration{s + time.Millisecond, s + 2*time.Millisecond}},
		{"one ms wide", s, s + time.Millisecond, 9, []time.Duration{s + 500*time.Microsecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spread(tt.lo, tt.hi, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("spread(%v, %v, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
			}
		})
	}
}

func TestBracket(t *testing.T) {
	s := time.Second
	ok := func(g time.Duration) IdleProbe { return IdleProbe{Gap: g, Survived: true} }
	gone := func(g time.Duration) IdleProbe { return IdleProbe{Gap: g} }
	tests := []struct {
		name             string
		in               []IdleProbe
		lo, hi           time.Duration
		wantInconsistent bool
	}{
		{"all survive", []IdleProbe{ok(s), ok(2 * s)}, 2 * s, 0, false},
		{"none survive", []IdleProbe{gone(s), gone(2 * s)}, 0, s, false},
		{"bracketed", []IdleProbe{ok(s), gone(2 * s), ok(1500 * time.Millisecond), gone(1600 * time.Millisecond)},
			1500 * time.Millisecond, 1600 * time.Millisecond, false},
		{"inconsistent", []IdleProbe{ok(s), gone(2 * s), ok(4 * s)}, s, 2 * s, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, inc := bracket(tt.in)
			if lo != tt.lo || hi != tt.hi || inc != tt.wantInconsistent {
				t.Errorf("bracket = %v, %v, %v; want %v, %v, %v", lo, hi, inc, tt.lo, tt.hi, tt.wantInconsistent)
			}
		})
	}
}

func TestPrecise(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi time.Duration
		want   bool
	}{
		{"doubling", time.Second, 2 * time.Second, false},
		{"10 percent", time.Second, 1100 * time.Millisecond, true},
		{"11 percent", time.Second, 1110 * time.Millisecond, false},
		{"from zero, wide", 0, time.Second, false},
		{"from zero, under the floor", 0, ms100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := precise(tt.lo, tt.hi); got != tt.want {
				t.Errorf("precise(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
			}
		})
	}
}

// The idle timeout search against the mock, in the configurations the
// issue names: 1s, 1.5s and 3s, HTTP/2 and HTTP/1.1, with and without a
// Keep-Alive header. The cases run in parallel: each mostly sleeps.
func TestIdleTimeoutFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		idle      time.Duration
		noH2      bool
		advertise bool
		idleMax   time.Duration
		proto     string
		header    string
	}{
		{"h2 1.5s advertised", 1500 * time.Millisecond, false, true, 4 * time.Second, "h2", "timeout=1"},
		{"http1 1s", time.Second, true, false, 2 * time.Second, "http/1.1", ""},
		{"http1 3s advertised", 3 * time.Second, true, true, 4 * time.Second, "http/1.1", "timeout=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startMock(t, mock.Options{TLS: true, NoH2: tt.noH2, IdleTimeout: tt.idle, AdvertiseKeepAlive: tt.advertise})
			o := options(s)
			o.IdleMax = tt.idleMax
			r := run(t, o)

			if r.Protocol != tt.proto {
				t.Errorf("Protocol = %q, want %q", r.Protocol, tt.proto)
			}
			if r.KeepAliveHeader != tt.header {
				t.Errorf("KeepAliveHeader = %q, want %q", r.KeepAliveHeader, tt.header)
			}
			if r.KeepAliveHeaderHTTP1 != (tt.header != "" && tt.proto == "h2") {
				t.Errorf("KeepAliveHeaderHTTP1 = %v for %s", r.KeepAliveHeaderHTTP1, tt.proto)
			}
			if !r.Idle.Found || !within(r.Idle.Timeout, tt.idle, 0.10) {
				t.Fatalf("idle timeout = %v (found %v, probes %+v), want %v ± 10%%", r.Idle.Timeout, r.Idle.Found, r.Idle.Probes, tt.idle)
			}
			if r.Idle.Survived >= r.Idle.Closed || r.Idle.Closed-r.Idle.Survived > r.Idle.Survived/10 {
				t.Errorf("bracket [%v, %v] wider than 10%% of its low end", r.Idle.Survived, r.Idle.Closed)
			}
			if r.Idle.Elapsed > 3*tt.idleMax {
				t.Errorf("the search took %v, more than 3 × idle-max", r.Idle.Elapsed)
			}
			a := Recommend(r)
			if a.IdleTimeout <= 0 || a.IdleTimeout >= tt.idle {
				t.Errorf("recommended idle timeout %v, want in (0, %v)", a.IdleTimeout, tt.idle)
			}
			if !strings.Contains(strings.Join(a.Warnings, "\n"), "httpx keepalive_expiry 5s") {
				t.Errorf("no warning that httpx's 5s default outlives a %v server: %q", tt.idle, a.Warnings)
			}
		})
	}
}

// With no idle timeout up to IdleMax, none is reported, and the
// recommendation stays within what was seen to work.
func TestIdleTimeoutNone(t *testing.T) {
	t.Parallel()
	s := startMock(t, mock.Options{TLS: true, NoH2: true})
	o := options(s)
	o.IdleMax = time.Second
	r := run(t, o)
	if r.Idle.Found || r.Idle.Closed != 0 || r.Idle.Survived != time.Second {
		t.Fatalf("Idle = %+v, want none found and 1s survived", r.Idle)
	}
	if a := Recommend(r); a.IdleTimeout != time.Second {
		t.Errorf("recommended %v, want the 1s seen to work", a.IdleTimeout)
	}
	b, _ := json.Marshal(r)
	var j map[string]any
	_ = json.Unmarshal(b, &j)
	if v, ok := j["idle_timeout_seconds"]; !ok || v != nil {
		t.Errorf("idle_timeout_seconds = %v (present %v), want null", v, ok)
	}
	if j["recommended_idle_timeout_seconds"] != 1.0 {
		t.Errorf("recommended_idle_timeout_seconds = %v, want 1", j["recommended_idle_timeout_seconds"])
	}
}

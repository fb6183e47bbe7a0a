// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package probe

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startMock runs a mock upstream on a free loopback port for the test.
func startMock(t *testing.T, o mock.Options) *mock.Server {
	t.Helper()
	s, err := mock.Start(o, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mock.Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// options probe s's /v1 with few samples and no request cap search.
func options(s *mock.Server) Options {
	return Options{URL: s.URL() + "/v1", RootCAs: s.CertPool(), Samples: 3, MaxRequests: -1}
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

// within reports whether got is within frac of want.
func within(got, want time.Duration, frac float64) bool {
	return math.Abs(float64(got-want)) <= frac*float64(want)
}

// Plain http:// works: HTTP/1.1, no TLS fields (null in JSON); the API
// key goes out as a bearer token and never into the report.
func TestPlainHTTP(t *testing.T) {
	t.Parallel()
	s := startMock(t, mock.Options{})
	o := options(s)
	o.IdleMax = -1
	o.MaxRequests = 5
	o.APIKey = "sk-test-secret"
	r := run(t, o)
	if r.Protocol != "http/1.1" || r.TLS != nil {
		t.Errorf("Protocol %q, TLS %+v: want http/1.1 without TLS", r.Protocol, r.TLS)
	}
	if r.MaxRequests.Sent != 5 || r.MaxRequests.Limit != 0 {
		t.Errorf("MaxRequests = %+v, want 5 sent and no limit", r.MaxRequests)
	}
	b, _ := json.Marshal(r)
	var text strings.Builder
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"JSON": string(b), "text": text.String()} {
		if strings.Contains(out, "sk-test-secret") {
			t.Errorf("the %s report shows the API key", name)
		}
	}
	var j map[string]any
	_ = json.Unmarshal(b, &j)
	if v, ok := j["tls_version"]; !ok || v != nil {
		t.Errorf("tls_version = %v (present %v), want null", v, ok)
	}
}

// Failures to connect name their phase, and a private CA gets a hint.
func TestConnectFailures(t *testing.T) {
	t.Parallel()
	tlsMock := startMock(t, mock.Options{TLS: true})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	ln.Close()

	// A resolver that never leaves the machine: every query fails.
	offline := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no network in tests")
	}}

	tests := []struct {
		name  string
		o     Options
		phase Phase
		want  []string
	}{
		{"dns", Options{URL: "https://api.example.invalid/v1", Resolver: offline},
			PhaseDNS, []string{"probe: DNS lookup of api.example.invalid failed"}},
		{"refused", Options{URL: "http://" + closedPort + "/v1"},
			PhaseConnect, []string{"probe: TCP connect to " + closedPort + " failed", "connection refused"}},
		{"unknown CA", Options{URL: tlsMock.URL() + "/v1"},
			PhaseTLS, []string{"probe: TLS handshake with " + strings.TrimPrefix(tlsMock.URL(), "https://") + " failed",
				"certificate signed by unknown authority", "--ca FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(t.Context(), tt.o)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Run = %v, %v; want an *Error", r, err)
			}
			if pe.Phase != tt.phase {
				t.Errorf("phase %q, want %q (%v)", pe.Phase, tt.phase, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// Run stops when its context ends, leaving nothing behind (goleak checks).
func TestRunCanceled(t *testing.T) {
	t.Parallel()
	s := startMock(t, mock.Options{TLS: true})
	o := options(s)
	o.IdleMax = 10 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no URL", Options{}, "no URL"},
		{"bad scheme", Options{URL: "ftp://x/v1"}, "scheme must be http or https"},
		{"no host", Options{URL: "https:///v1"}, "no host"},
		{"credentials", Options{URL: "https://u:p@x/v1"}, "credentials"},
		{"idle-max tiny", Options{URL: "https://x/v1", IdleMax: time.Millisecond}, "idle-max must be at least"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newProber(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newProber = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		name, url, path, want, hostPort string
	}{
		{"default path", "https://api.openai.com/v1", "", "https://api.openai.com/v1/models", "api.openai.com:443"},
		{"trailing slash", "https://api.openai.com/v1/", "/models", "https://api.openai.com/v1/models", "api.openai.com:443"},
		{"custom path", "http://127.0.0.1:8080", "health", "http://127.0.0.1:8080/health", "127.0.0.1:8080"},
		{"query kept", "https://x.example/openai?api-version=1", "/models", "https://x.example/openai/models?api-version=1", "x.example:443"},
		{"ipv6", "http://[::1]:9/v1", "", "http://[::1]:9/v1/models", "[::1]:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newProber(Options{URL: tt.url, Path: tt.path})
			if err != nil {
				t.Fatal(err)
			}
			if p.target != tt.want || p.hostPort != tt.hostPort {
				t.Errorf("target %q, hostPort %q; want %q, %q", p.target, p.hostPort, tt.want, tt.hostPort)
			}
		})
	}
}

// TestHeader: Options.Header goes out on every request (the mock, given a
// key, answers Anthropic's /v1/models only with x-api-key and
// anthropic-version) and never into the report.
func TestHeader(t *testing.T) {
	t.Parallel()
	s := startMock(t, mock.Options{APIKey: "sk-ant-header-secret"})
	o := options(s)
	o.IdleMax, o.Samples = -1, 2
	o.Header = http.Header{"X-Api-Key": {"sk-ant-header-secret"}, "Anthropic-Version": {"2023-06-01"}}
	r := run(t, o)
	if r.Status != http.StatusOK {
		t.Errorf("status %d, want 200: the headers did not go out", r.Status)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "sk-ant-header-secret") {
		t.Error("the report shows the key")
	}
	o.Header = nil
	if r := run(t, o); r.Status != http.StatusUnauthorized {
		t.Errorf("without the headers: status %d, want 401", r.Status)
	}
}

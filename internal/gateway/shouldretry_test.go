// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// X-Should-Retry and Retry-After: the official SDKs retry every 429 and 5xx
// (twice, by default) unless X-Should-Retry says otherwise. Behind a
// gateway that already retried, that multiplies each failure: 3 SDK
// attempts × 3 gateway attempts. The gateway says "false" once it retried
// or when a retry cannot help, "true" when waiting Retry-After can, and
// every 503 it makes says how long to wait.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// countingUpstream answers every request with status (and Retry-After,
// when not ""), counting them.
func countingUpstream(t *testing.T, status int, retryAfter string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"message":"upstream says no","type":"server_error","code":null}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestSDKRetriesNotMultiplied: openai-go with its default retry settings
// against the gateway (3 attempts) in front of a failing upstream: the
// upstream sees the gateway's 3 attempts, not 3 × 3, because the answer
// says X-Should-Retry: false.
func TestSDKRetriesNotMultiplied(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
	}{
		{"500", http.StatusInternalServerError, ""},
		{"503", http.StatusServiceUnavailable, ""},
		{"429 with Retry-After: 1", http.StatusTooManyRequests, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, n := countingUpstream(t, tt.status, tt.retryAfter)
			g := startGateway(t, upstreamAt(up.URL), nil)
			tr := &http.Transport{}
			t.Cleanup(tr.CloseIdleConnections)
			c := openai.NewClient(option.WithBaseURL(g.URL()+"/"), option.WithAPIKey("k"),
				option.WithHTTPClient(&http.Client{Transport: tr})) // the SDK's default retries
			_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"))
			var ae *openai.Error
			if !errors.As(err, &ae) || ae.StatusCode != tt.status {
				t.Fatalf("err = %v, want the upstream's %d", err, tt.status)
			}
			if v := ae.Response.Header.Get("X-Should-Retry"); v != "false" {
				t.Errorf("X-Should-Retry = %q, want false", v)
			}
			if got := n.Load(); got != 3 {
				t.Errorf("the upstream got %d requests, want the gateway's 3 attempts", got)
			}
		})
	}
}

// TestShouldRetryHeaders: what the gateway's own answers say.
func TestShouldRetryHeaders(t *testing.T) {
	up, _ := countingUpstream(t, http.StatusOK, "")
	t.Run("refusals", func(t *testing.T) {
		g := startGateway(t, upstreamAt(up.URL)+limitKeysYAML, limitEnv)
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
		checkError(t, a, http.StatusUnauthorized, "missing_api_key")
		if v := a.header.Get("X-Should-Retry"); v != "false" {
			t.Errorf("401: X-Should-Retry = %q, want false", v)
		}
		for range 3 {
			g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), bearerOf("KEY_RPM")...)
		}
		a = g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), bearerOf("KEY_RPM")...)
		checkError(t, a, http.StatusTooManyRequests, "rate_limit_exceeded")
		if v := a.header.Get("X-Should-Retry"); v != "true" || a.header.Get("Retry-After") == "" {
			t.Errorf("key's rpm: X-Should-Retry = %q, Retry-After %q; want true and a wait", v, a.header.Get("Retry-After"))
		}
	})
}

// TestNoHealthyUpstreamRetryAfter: once the upstream's circuit is open,
// the gateway's 503 carries Retry-After: the time until the circuit lets a
// probe through (the 30s cooldown, less what passed), and X-Should-Retry:
// true.
func TestNoHealthyUpstreamRetryAfter(t *testing.T) {
	up, n := countingUpstream(t, http.StatusBadGateway, "")
	g := startGateway(t, "upstreams:\n  - name: up\n    base_url: "+up.URL+"/v1\n    models: [\"gpt-*\"]\n"+
		"    retry: {attempts: 1}\n    circuit: {failures: 1, cooldown: 30s}\n", nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
	if a.status != http.StatusBadGateway || a.header.Get("X-Should-Retry") != "false" {
		t.Fatalf("first: %d, X-Should-Retry %q; want the upstream's 502, false", a.status, a.header.Get("X-Should-Retry"))
	}
	a = g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
	checkError(t, a, http.StatusServiceUnavailable, "no_healthy_upstream")
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 25 || s > 30 {
		t.Errorf("Retry-After = %q, want the cooldown left (about 30 s)", a.header.Get("Retry-After"))
	}
	if v := a.header.Get("X-Should-Retry"); v != "true" {
		t.Errorf("X-Should-Retry = %q, want true", v)
	}
	if n.Load() != 1 {
		t.Errorf("upstream got %d requests, want 1 (the circuit is open)", n.Load())
	}
}

// TestPoolExhaustedRetryAfter: a 503 pool_exhausted carries a short
// Retry-After, and X-Should-Retry: false once the gateway retried.
func TestPoolExhaustedRetryAfter(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // the first request holds the only connection
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	g := startGateway(t, upstreamAt(up.URL, "pool: {max_conns: 1}", "timeouts: {pool_wait: 50ms}"), nil)
	held := make(chan struct{})
	go func() {
		defer close(held)
		resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
		resp.Body.Close()
	}()
	eventually(t, requestTimeout, "the first request holding the connection", func() bool { return n.Load() == 1 })
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
	checkError(t, a, http.StatusServiceUnavailable, "pool_exhausted")
	if a.header.Get("Retry-After") != "1" || a.header.Get("X-Should-Retry") != "false" {
		t.Errorf("Retry-After %q, X-Should-Retry %q; want 1 and false (the gateway retried)",
			a.header.Get("Retry-After"), a.header.Get("X-Should-Retry"))
	}
	release <- struct{}{}
	<-held
}

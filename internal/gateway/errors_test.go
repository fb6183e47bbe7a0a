// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/warmgate/warmgate/sse"
	"github.com/warmgate/warmgate/upstream"
)

// TestStatusFor pins the one mapping from upstream failures to what the
// client sees (DESIGN.md: 502 upstream failed, 503 no healthy upstream or
// pool exhausted, 504 upstream timed out).
func TestStatusFor(t *testing.T) {
	tests := []struct {
		name       string
		in         error
		wantStatus int
		wantCode   string
		wantRetry  int
	}{
		{name: "dial", in: &upstream.Error{Kind: upstream.KindDial, Upstream: "a"}, wantStatus: 502, wantCode: "upstream_connect_error"},
		{name: "dns", in: &upstream.Error{Kind: upstream.KindDNS}, wantStatus: 502, wantCode: "upstream_dns_error"},
		{name: "tls", in: &upstream.Error{Kind: upstream.KindTLS}, wantStatus: 502, wantCode: "upstream_tls_error"},
		{name: "conn reset", in: &upstream.Error{Kind: upstream.KindConnReset}, wantStatus: 502, wantCode: "upstream_error"},
		{name: "stale conn", in: &upstream.Error{Kind: upstream.KindStaleConn}, wantStatus: 502, wantCode: "upstream_error"},
		{name: "truncated", in: &upstream.Error{Kind: upstream.KindTruncated}, wantStatus: 502, wantCode: "upstream_error"},
		{name: "header timeout", in: &upstream.Error{Kind: upstream.KindHeaderTimeout}, wantStatus: 504, wantCode: "upstream_timeout"},
		{name: "stream idle", in: &upstream.Error{Kind: upstream.KindStreamIdle}, wantStatus: 504, wantCode: "upstream_timeout"},
		{name: "stream incomplete", in: &upstream.Error{Kind: upstream.KindTruncated, Err: sse.ErrIncomplete}, wantStatus: 502, wantCode: "stream_incomplete"},
		// Every 503 carries a Retry-After: pool_exhausted a short one, no_healthy_upstream
		// the time until a circuit lets a probe through (rounded up), or 1 s when unknown.
		{name: "pool exhausted", in: &upstream.Error{Kind: upstream.KindPoolExhausted}, wantStatus: 503, wantCode: "pool_exhausted", wantRetry: 1},
		{name: "no upstream", in: &upstream.Error{Kind: upstream.KindNoUpstream}, wantStatus: 503, wantCode: "no_healthy_upstream", wantRetry: 1},
		{name: "no upstream, circuit opens in 1.5s", in: &upstream.Error{Kind: upstream.KindNoUpstream, RetryAfter: 1500 * time.Millisecond},
			wantStatus: 503, wantCode: "no_healthy_upstream", wantRetry: 2},
		{name: "canceled", in: &upstream.Error{Kind: upstream.KindCanceled}, wantStatus: statusClientClosed, wantCode: "client_closed"},
		{name: "wrapped", in: fmt.Errorf("relay: %w", &upstream.Error{Kind: upstream.KindDial}), wantStatus: 502, wantCode: "upstream_connect_error"},
		{name: "not an upstream error", in: errors.New("boom"), wantStatus: 502, wantCode: "upstream_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := statusFor(tt.in)
			if got.status != tt.wantStatus || got.code != tt.wantCode || got.retryAfter != tt.wantRetry {
				t.Errorf("statusFor = %d %q retry %d, want %d %q retry %d",
					got.status, got.code, got.retryAfter, tt.wantStatus, tt.wantCode, tt.wantRetry)
			}
			if got.message == "" || got.typ == "" {
				t.Errorf("statusFor = %+v: empty message or type", got)
			}
		})
	}
}

// TestWriteErrorClientClosed: a 499 is logged, never sent.
func TestWriteErrorClientClosed(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, statusFor(&upstream.Error{Kind: upstream.KindCanceled}))
	if rec.Body.Len() != 0 || rec.Code != http.StatusOK || len(rec.Header()) != 0 {
		t.Errorf("wrote %d %v %q for a client that left", rec.Code, rec.Header(), rec.Body)
	}
}

// TestShouldRetry pins X-Should-Retry, which the official SDKs obey over
// their own rule: "false" once the gateway retried, or when a retry cannot
// help; "true" only for a refusal that asks the client to wait.
func TestShouldRetry(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		code    string
		retried bool
		wait    bool
		want    string
	}{
		{"success", 200, "", false, false, ""},
		{"redirect", 304, "", false, false, ""},
		{"bad request", 400, "invalid_json", false, false, "false"},
		{"bad key", 401, "invalid_api_key", false, false, "false"},
		{"model not allowed", 403, "model_not_allowed", false, false, "false"},
		{"too large", 413, "body_too_large", false, false, "false"},
		{"key's rpm, Retry-After", 429, "rate_limit_exceeded", false, true, "true"},
		{"key's budget spent", 429, "budget_exceeded", false, true, "false"},
		{"no healthy upstream, Retry-After", 503, "no_healthy_upstream", false, true, "true"},
		{"pool exhausted after retries", 503, "pool_exhausted", true, true, "false"},
		{"pool exhausted, one attempt", 503, "pool_exhausted", false, true, "true"},
		{"limits unavailable", 503, "limits_unavailable", false, true, "true"},
		{"connect error", 502, "upstream_connect_error", false, false, "false"},
		{"connect error after retries", 502, "upstream_connect_error", true, false, "false"},
		{"timeout", 504, "upstream_timeout", false, false, "false"},
		{"relayed 500 after retries", 500, "", true, false, "false"},
		{"relayed 500, one attempt", 500, "", false, false, "false"},
		{"relayed 429 after retries", 429, "", true, true, "false"},
		{"relayed 429, wait longer than the gateway may", 429, "", false, true, "true"},
		{"relayed 429 without Retry-After", 429, "", false, false, "false"},
		{"relayed 503, Retry-After", 503, "", false, true, "true"},
		{"relayed 409", 409, "", false, false, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldRetry(tt.status, tt.code, tt.retried, tt.wait); got != tt.want {
				t.Errorf("shouldRetry(%d, %q, retried %v, wait %v) = %q, want %q", tt.status, tt.code, tt.retried, tt.wait, got, tt.want)
			}
		})
	}
}

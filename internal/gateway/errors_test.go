package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
		{name: "pool exhausted", in: &upstream.Error{Kind: upstream.KindPoolExhausted}, wantStatus: 503, wantCode: "pool_exhausted"},
		{name: "no upstream", in: &upstream.Error{Kind: upstream.KindNoUpstream}, wantStatus: 503, wantCode: "no_healthy_upstream"},
		{name: "breaker open", in: &upstream.Error{Kind: upstream.KindBreakerOpen, RetryAfter: 1500 * time.Millisecond},
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

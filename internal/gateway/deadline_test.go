// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The request's deadline (X-Warmgate-Timeout) against an upstream that
// answers, but too slowly: the client gets the gateway's 504 as long as
// nothing of the answer has reached it.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// trickler is an upstream that sends its headers at once, then a JSON
// answer one byte every gap, until it is done or the request ends.
func trickler(t *testing.T, body string, gap time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := range len(body) {
			if _, err := w.Write([]byte{body[i]}); err != nil {
				return
			}
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(gap):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRequestTimeoutWhileTheAnswerTrickles: the upstream's headers and
// first bytes come at once, the rest more slowly than X-Warmgate-Timeout
// allows. The gateway has sent nothing yet, so the client gets 504
// request_timeout in OpenAI's shape, not a connection closed without an
// answer. An answer that trickles but ends within the deadline is relayed
// whole.
func TestRequestTimeoutWhileTheAnswerTrickles(t *testing.T) {
	answer := `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4.1-mini","choices":[` +
		`{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("x", 40) + `"},"finish_reason":"stop"}]}`
	up := trickler(t, answer, 20*time.Millisecond) // about 3 s for the whole answer
	yaml := fmt.Sprintf("upstreams:\n  - name: slow\n    base_url: %s/v1\n    %s\n    %s\n", up.URL, testModels, noCircuit)
	g := startGateway(t, yaml, nil)

	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Warmgate-Timeout", "300ms")
	checkError(t, a, http.StatusGatewayTimeout, "request_timeout", "X-Warmgate-Timeout")
	checkRequestID(t, a.header, "")

	short := `{"id":"chatcmpl-2","choices":[]}`
	up2 := trickler(t, short, 5*time.Millisecond)
	yaml2 := fmt.Sprintf("upstreams:\n  - name: slow\n    base_url: %s/v1\n    %s\n    %s\n", up2.URL, testModels, noCircuit)
	g2 := startGateway(t, yaml2, nil)
	a = g2.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Warmgate-Timeout", "30s")
	if a.status != http.StatusOK || string(a.body) != short {
		t.Errorf("a trickled answer within the deadline: %d %q, want 200 %q", a.status, a.body, short)
	}
}

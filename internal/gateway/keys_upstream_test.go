// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestSeveralKeysForOneProvider: two upstreams with one base URL and two
// API keys share the traffic; each request carries exactly one of the keys.
func TestSeveralKeysForOneProvider(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
	}))
	t.Cleanup(up.Close)
	yaml := fmt.Sprintf(`upstreams:
  - name: openai-key1
    base_url: %[1]s/v1
    api_key_env: KEY1
  - name: openai-key2
    base_url: %[1]s/v1
    api_key_env: KEY2
`, up.URL)
	g := startGateway(t, yaml, map[string]string{"KEY1": "sk-upstream-one", "KEY2": "sk-upstream-two"})
	const n = 200
	for range n {
		if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	one, two := seen["Bearer sk-upstream-one"], seen["Bearer sk-upstream-two"]
	if one+two != n || one < n/4 || two < n/4 {
		t.Errorf("keys seen upstream: %v; want both keys used, %d requests in all", seen, n)
	}
}

// TestTotalTimeoutPerUpstream: timeouts.total bounds the whole request,
// stream included; past it a stream ends with an error event, never [DONE].
func TestTotalTimeoutPerUpstream(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 40, TokenInterval: 50 * time.Millisecond})
	g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "mock", m, testModels, "timeouts: {total: 400ms}", noCircuit), nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "ttft=2s")
	checkError(t, a, http.StatusGatewayTimeout, "request_timeout", "timeouts.total")
	status, body := rawStream(t, g)
	if status != 200 || !strings.Contains(body, "data: ") || !strings.Contains(body, "event: error") || strings.Contains(body, "[DONE]") {
		t.Errorf("a stream longer than timeouts.total: %d\n%s\nwant some chunks, then an error event, no [DONE]", status, body)
	}
}

// TestAnthropicUpstreamKind: an upstream of kind anthropic, its base_url
// given without /v1 as Anthropic's SDKs take it, gets the gateway's key as
// x-api-key with an anthropic-version (the mock checks both), never as
// Authorization; the client's own credentials do not reach it, and the key
// is in no log line.
func TestAnthropicUpstreamKind(t *testing.T) {
	const key = "sk-ant-gateway-secret"
	m := startMock(t, mock.Options{APIKey: key})
	yaml := fmt.Sprintf(`upstreams:
  - name: claude
    kind: anthropic
    base_url: %s
    api_key_env: ANTHROPIC_KEY
    models: ["claude-*"]
    %s
`, m.URL(), fastRetry)
	g := startGateway(t, yaml, map[string]string{"ANTHROPIC_KEY": key})
	for _, stream := range []bool{false, true} {
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":32,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
		a := g.do(t, http.MethodPost, "/v1/messages", body, "X-Api-Key", "client-own-key", "Anthropic-Version", "2023-06-01")
		if a.status != http.StatusOK || a.header.Get("X-Mock-Has-Api-Key") != "true" || a.header.Get("X-Mock-Has-Authorization") != "false" {
			t.Fatalf("stream=%v: status %d, x-api-key sent %s, Authorization sent %s: %s", stream, a.status,
				a.header.Get("X-Mock-Has-Api-Key"), a.header.Get("X-Mock-Has-Authorization"), a.body)
		}
		if stream && !strings.HasSuffix(string(a.body), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
			t.Errorf("stream: %s", a.body)
		}
		if a.header.Get("Anthropic-Ratelimit-Requests-Limit") == "" {
			t.Errorf("stream=%v: the upstream's anthropic-ratelimit-* headers did not reach the client", stream)
		}
	}
	// Overloaded once (529): retried by the gateway, then answered.
	a := g.do(t, http.MethodPost, "/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`,
		"Anthropic-Version", "2023-06-01", mock.FaultHeader, "status=529,times=1")
	if a.status != http.StatusOK || g.stats(t).Retries["status_5xx"] != 1 {
		t.Errorf("after a 529: status %d, status_5xx retries %d; want 200 after 1: %s", a.status, g.stats(t).Retries["status_5xx"], a.body)
	}
	// GET /v1/models lists the anthropic upstream's models: its list is
	// fetched through the pool, with the key and the version.
	a = g.do(t, http.MethodGet, "/v1/models", "")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"id":"claude-sonnet-4-5"`) {
		t.Errorf("/v1/models: %d %s", a.status, a.body)
	}
	if strings.Contains(g.logs.String(), key) {
		t.Error("the gateway logged the upstream key")
	}
}

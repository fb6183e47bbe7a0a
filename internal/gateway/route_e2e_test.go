// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

func answeredModel(t *testing.T, a answer) string {
	t.Helper()
	var v struct {
		Model string `json:"model"`
	}
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, a.body)
	}
	return v.Model
}

func TestAliasRewritesTheModel(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+"aliases: {fast: gpt-4.1-mini}\n", nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("fast", false))
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if got := answeredModel(t, a); got != "gpt-4.1-mini" {
		t.Errorf("the upstream answered for model %q, want the alias target gpt-4.1-mini", got)
	}
	if a := g.do(t, http.MethodGet, "/v1/models", ""); !json.Valid(a.body) || !strings.Contains(string(a.body), `"id":"fast"`) {
		t.Errorf("/v1/models does not list the alias: %s", a.body)
	}
}

func TestFallbackModelWhenEveryUpstreamFailed(t *testing.T) {
	broken := startMock(t, mock.Options{Fault: "status=503"})
	healthy := startMock(t, mock.Options{})
	yaml := "upstreams:\n" +
		upstreamYAML(t, "big", broken, `models: ["gpt-4.1"]`, fastRetry, noCircuit) +
		upstreamYAML(t, "small", healthy, `models: ["gpt-4.1-mini"]`, fastRetry) +
		"fallbacks: {gpt-4.1: [gpt-4.1-mini]}\n"
	g := startGateway(t, yaml, nil)
	for _, stream := range []bool{false, true} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1", stream))
		if a.status != 200 {
			t.Fatalf("stream=%v: status %d: %s", stream, a.status, a.body)
		}
		if !stream {
			if got := answeredModel(t, a); got != "gpt-4.1-mini" {
				t.Errorf("answered by model %q, want the fallback gpt-4.1-mini", got)
			}
		}
	}
	if got := broken.Stats().Requests; got != 6 {
		t.Errorf("the failing upstream saw %d requests, want 3 attempts per request before the fallback", got)
	}
}

// TestFallbackToAnUnservedModel: a fallback no upstream serves is skipped;
// the client gets the first model's failure, not an empty answer.
func TestFallbackToAnUnservedModel(t *testing.T) {
	broken := startMock(t, mock.Options{Fault: "status=503"})
	yaml := "upstreams:\n" + upstreamYAML(t, "big", broken, `models: ["gpt-4.1"]`, fastRetry, noCircuit) +
		"fallbacks: {gpt-4.1: [nobody-serves-this]}\n"
	g := startGateway(t, yaml, nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1", false))
	if a.status != http.StatusServiceUnavailable || len(a.body) == 0 {
		t.Errorf("status %d, body %q; want the upstream's 503 passed through", a.status, a.body)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// rawStream sends a streaming chat request and returns the whole raw answer
// (until the server ends or aborts it) and the status.
func rawStream(t *testing.T, g *gw, hdr ...string) (int, string) {
	t.Helper()
	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true), hdr...)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body) // an aborted stream ends with an error: keep what came
	return resp.StatusCode, string(b)
}

func TestHeartbeatsWhileWaitingForTheFirstToken(t *testing.T) {
	m := startMock(t, mock.Options{TTFT: 350 * time.Millisecond, Tokens: 3})
	g := startGateway(t, defaultYAML(t, m)+"server: {heartbeat: 100ms}\n", nil)
	status, body := rawStream(t, g)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	hb, data := strings.Index(body, ": keep-alive"), strings.Index(body, "data: ")
	if hb < 0 || data < 0 || hb > data {
		t.Fatalf("want keep-alive comments before the first event:\n%s", body)
	}
	if !strings.Contains(body, "data: [DONE]") {
		t.Errorf("the stream did not complete:\n%s", body)
	}
}

func TestErrorAfterHeartbeatIsAnEvent(t *testing.T) {
	m := startMock(t, mock.Options{})
	yaml := "upstreams:\n" + upstreamYAML(t, "mock", m, testModels, "retry: {attempts: 1}", noCircuit) + "server: {heartbeat: 100ms}\n"
	g := startGateway(t, yaml, nil)
	status, body := rawStream(t, g, mock.FaultHeader, "ttft=350ms,status=503")
	if status != 200 || !strings.Contains(body, ": keep-alive") {
		t.Fatalf("want a 200 committed by heartbeats; got %d:\n%s", status, body)
	}
	if !strings.Contains(body, "event: error") || !strings.Contains(body, `"error"`) {
		t.Errorf("no SSE error event carrying the upstream's error:\n%s", body)
	}
	if strings.Contains(body, "[DONE]") {
		t.Errorf("a failed stream must not end with [DONE]:\n%s", body)
	}
}

func TestFailoverUnderHeartbeats(t *testing.T) {
	slow := startMock(t, mock.Options{TTFT: 3 * time.Second})
	fast := startMock(t, mock.Options{Tokens: 2})
	yaml := "upstreams:\n" +
		upstreamYAML(t, "slow", slow, testModels, "priority: 0", "timeouts: {first_byte: 300ms}", noCircuit) +
		upstreamYAML(t, "fast", fast, testModels, "priority: 1") +
		"server: {heartbeat: 100ms}\n"
	g := startGateway(t, yaml, nil)
	status, body := rawStream(t, g)
	if status != 200 || !strings.Contains(body, ": keep-alive") || !strings.Contains(body, "data: [DONE]") {
		t.Fatalf("want heartbeats, then the second upstream's whole stream; got %d:\n%s", status, body)
	}
	if fast.Stats().Requests != 1 {
		t.Errorf("the second upstream saw %d requests, want 1", fast.Stats().Requests)
	}
}

func TestRequestTimeoutHeader(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"X-Warmgate-Timeout", "200ms", mock.FaultHeader, "ttft=2s")
	checkError(t, a, http.StatusGatewayTimeout, "request_timeout", "X-Warmgate-Timeout")
	for _, bad := range []struct{ in, says string }{
		{"soon", "is not a duration"},
		{"0", "out of range"},
		{"3h", "out of range"},
		{"30", `"30" has no unit`}, // seconds? milliseconds? refused, not guessed
		{"1.5", "has no unit"},
	} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Warmgate-Timeout", bad.in)
		checkError(t, a, http.StatusBadRequest, "invalid_timeout", "X-Warmgate-Timeout", bad.says)
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Warmgate-Timeout", "30s"); a.status != 200 {
		t.Errorf("with a generous timeout: status %d: %s", a.status, a.body)
	}
}

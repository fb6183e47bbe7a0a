// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Bad input and failing upstreams: every error the gateway makes itself is
// OpenAI-shaped with the fitting status and a message that says what to
// fix; every error an upstream makes passes through unchanged.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// Client keys of the bad-input gateway: team-a may use every model, team-b
// only gpt-4.1-mini.
var badInputEnv = map[string]string{
	"KEY_A": "sk-team-a-aaaaaaaaaaaaaaaa",
	"KEY_B": "sk-team-b-bbbbbbbbbbbbbbbb",
}

// startBadInputGateway serves three upstreams, routed by model: the mock
// (gpt-*, text-embedding-*), a dead address (dead-*) and the mock again
// with a 200ms first-byte timeout and no retries (slow-*). Bodies are
// limited to 4 KiB and client keys are required.
func startBadInputGateway(t *testing.T) (*gw, *mock.Server) {
	t.Helper()
	m := startMock(t, mock.Options{})
	yaml := "upstreams:\n" +
		upstreamYAML(t, "mock", m, testModels, fastRetry) +
		fmt.Sprintf("  - name: dead\n    base_url: http://%s/v1\n    models: [\"dead-*\"]\n    retry: {attempts: 2, base: 5ms, max: 10ms}\n    %s\n", closedAddr(t), noCircuit) +
		upstreamYAML(t, "slow", m, `models: ["slow-*"]`, `timeouts: {first_byte: 200ms}`, `retry: {attempts: 1}`, noCircuit) +
		`keys:
  - name: team-a
    key_env: KEY_A
  - name: team-b
    key_env: KEY_B
    models: ["gpt-4.1-mini"]
server:
  max_body_bytes: 4096
`
	return startGateway(t, yaml, badInputEnv), m
}

func TestBadInput(t *testing.T) {
	g, _ := startBadInputGateway(t)
	keyA := "Bearer " + badInputEnv["KEY_A"]
	keyB := "Bearer " + badInputEnv["KEY_B"]
	big := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`

	tests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string // Authorization is keyA unless set here
		status       int
		code         string
		msg          []string // parts the message must contain
		allow        string   // Allow header, for 405
	}{
		{name: "invalid JSON", method: "POST", path: "/v1/chat/completions", body: `{"model":"gpt-4.1-mini",`,
			status: 400, code: "invalid_json", msg: []string{"not valid JSON"}},
		{name: "model of the wrong type", method: "POST", path: "/v1/chat/completions", body: `{"model":5,"messages":[]}`,
			status: 400, code: "invalid_json", msg: []string{"model"}},
		{name: "empty body", method: "POST", path: "/v1/chat/completions", body: ``,
			status: 400, code: "invalid_json", msg: []string{"not valid JSON"}},
		{name: "missing model", method: "POST", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}]}`,
			status: 400, code: "missing_model", msg: []string{`"model"`}},
		{name: "missing model, embeddings", method: "POST", path: "/v1/embeddings", body: `{"input":"hi"}`,
			status: 400, code: "missing_model", msg: []string{`"model"`}},
		{name: "unknown route", method: "GET", path: "/nope",
			status: 404, code: "unknown_route", msg: []string{"GET /nope", "/v1/"}},
		{name: "unknown route, other version", method: "POST", path: "/v2/chat/completions", body: chatBody("gpt-4.1-mini", false),
			status: 404, code: "unknown_route", msg: []string{"/v2/chat/completions"}},
		{name: "oversized body", method: "POST", path: "/v1/chat/completions", body: big,
			status: 413, code: "body_too_large", msg: []string{"4 KiB", "server.max_body_bytes"}},
		{name: "GET on a POST route", method: "GET", path: "/v1/chat/completions",
			status: 405, code: "method_not_allowed", msg: []string{"POST"}, allow: "POST"},
		{name: "DELETE on a POST route", method: "DELETE", path: "/v1/embeddings",
			status: 405, code: "method_not_allowed", msg: []string{"POST"}, allow: "POST"},
		{name: "POST on /v1/models", method: "POST", path: "/v1/models", body: `{}`,
			status: 405, code: "method_not_allowed", msg: []string{"GET"}, allow: "GET"},
		{name: "unknown model", method: "POST", path: "/v1/chat/completions", body: chatBody("no-such-model", false),
			status: 404, code: "model_not_found", msg: []string{`"no-such-model"`, "/v1/models"}},
		{name: "unknown model, stream", method: "POST", path: "/v1/chat/completions", body: chatBody("no-such-model", true),
			status: 404, code: "model_not_found", msg: []string{`"no-such-model"`}},
		{name: "missing key", method: "POST", path: "/v1/chat/completions", body: chatBody("gpt-4.1-mini", false),
			hdr: []string{"Authorization", ""}, status: 401, code: "missing_api_key", msg: []string{"Authorization: Bearer"}},
		{name: "missing key on /v1/models", method: "GET", path: "/v1/models",
			hdr: []string{"Authorization", ""}, status: 401, code: "missing_api_key"},
		{name: "not a bearer key", method: "POST", path: "/v1/chat/completions", body: chatBody("gpt-4.1-mini", false),
			hdr: []string{"Authorization", "Basic Zm9vOmJhcg=="}, status: 401, code: "missing_api_key"},
		{name: "invalid key", method: "POST", path: "/v1/chat/completions", body: chatBody("gpt-4.1-mini", false),
			hdr: []string{"Authorization", "Bearer sk-not-a-key"}, status: 401, code: "invalid_api_key", msg: []string{"invalid API key"}},
		{name: "model not allowed for key", method: "POST", path: "/v1/chat/completions", body: chatBody("gpt-4.1", false),
			hdr: []string{"Authorization", keyB}, status: 403, code: "model_not_allowed", msg: []string{`"gpt-4.1"`}},
		{name: "upstream refuses connections", method: "POST", path: "/v1/chat/completions", body: chatBody("dead-1", false),
			status: 502, code: "upstream_connect_error", msg: []string{"dead", "refused"}},
		{name: "upstream refuses connections, stream", method: "POST", path: "/v1/chat/completions", body: chatBody("dead-1", true),
			status: 502, code: "upstream_connect_error", msg: []string{"dead"}},
		{name: "upstream times out", method: "POST", path: "/v1/chat/completions", body: chatBody("slow-1", false),
			hdr: []string{mock.FaultHeader, "ttft=3s"}, status: 504, code: "upstream_timeout", msg: []string{"first_byte"}},
		{name: "upstream times out, stream", method: "POST", path: "/v1/chat/completions", body: chatBody("slow-1", true),
			hdr: []string{mock.FaultHeader, "ttft=3s"}, status: 504, code: "upstream_timeout", msg: []string{"first_byte"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range []string{"", "client-id-" + strings.ReplaceAll(tt.name, " ", "-")} {
				hdr := append([]string{"Authorization", keyA}, tt.hdr...)
				if id != "" {
					hdr = append(hdr, "X-Request-Id", id)
				}
				a := g.do(t, tt.method, tt.path, tt.body, hdr...)
				checkError(t, a, tt.status, tt.code, tt.msg...)
				if got := a.header.Get("Allow"); got != tt.allow {
					t.Errorf("Allow = %q, want %q", got, tt.allow)
				}
				checkRequestID(t, a.header, id)
			}
		})
	}
}

// TestBadInputChunkedOversizedBody: a body without Content-Length is cut
// at the limit too.
func TestBadInputChunkedOversizedBody(t *testing.T) {
	g, m := startBadInputGateway(t)
	body := io.MultiReader(strings.NewReader(`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"`),
		strings.NewReader(strings.Repeat("x", 1<<20)), strings.NewReader(`"}]}`))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.base+"/v1/chat/completions", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+badInputEnv["KEY_A"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkError(t, answer{status: resp.StatusCode, header: resp.Header, body: b}, 413, "body_too_large")
	if n := m.Stats().Requests; n != 0 {
		t.Errorf("the mock got %d requests; an oversized body must not be forwarded", n)
	}
}

// TestUpstreamErrorsPassThrough: an upstream's own error answer reaches the
// client with its status and body unchanged.
func TestUpstreamErrorsPassThrough(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			for _, fault := range []string{"status=400", "status=422", "status=401", "status=404", "status=429,retry_after=60"} {
				t.Run(fault, func(t *testing.T) {
					body := chatBody("gpt-4.1-mini", false)
					want := mockDirect(t, m, http.MethodPost, "/v1/chat/completions", body, mock.FaultHeader, fault)
					before := m.Stats().Requests
					got := g.do(t, http.MethodPost, "/v1/chat/completions", body, mock.FaultHeader, fault)
					if got.status != want.status || !bytes.Equal(got.body, want.body) {
						t.Errorf("through the gateway: %d %s\nfrom the mock:       %d %s", got.status, got.body, want.status, want.body)
					}
					if g, w := got.header.Get("Content-Type"), want.header.Get("Content-Type"); g != w {
						t.Errorf("Content-Type = %q, want the upstream's %q", g, w)
					}
					if ra := want.header.Get("Retry-After"); got.header.Get("Retry-After") != ra {
						t.Errorf("Retry-After = %q, want the upstream's %q", got.header.Get("Retry-After"), ra)
					}
					// 4xx are never retried; a 429 asking for 60s is passed on
					// rather than waited for.
					if n := m.Stats().Requests - before; n != 1 {
						t.Errorf("the mock saw %d requests, want 1 (no retry)", n)
					}
					checkRequestID(t, got.header, "")
				})
			}
		})
	}
}

// TestUpstream503Retried: two 503s then success: the client only sees the
// success.
func TestUpstream503Retried(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			for i, stream := range []bool{false, true} {
				before := m.Stats().Requests
				// A distinct spec per round: the mock counts times=N per spec.
				fault := fmt.Sprintf("status=503,times=2,ttft=%dms", i+1)
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", stream), mock.FaultHeader, fault)
				if a.status != http.StatusOK {
					t.Fatalf("stream=%t: status %d: %s", stream, a.status, a.body)
				}
				if stream && !strings.HasSuffix(string(a.body), "data: [DONE]\n\n") {
					t.Errorf("stream=%t: the stream does not end in [DONE]: %q", stream, a.body)
				}
				if n := m.Stats().Requests - before; n != 3 {
					t.Errorf("stream=%t: the mock saw %d requests, want 3 (two 503s, then success)", stream, n)
				}
			}
			if r := g.stats(t).Retries["status_5xx"]; r != 4 {
				t.Errorf("status_5xx retries = %d, want 4", r)
			}
		})
	}
}

// TestUpstreamHTMLError documents what a client sees when the upstream (or
// a proxy in front of it) answers an HTML page instead of JSON: the
// gateway passes the answer through unchanged, status, Content-Type and
// body, after retrying it like any 502. It does not crash, and it does not
// dress the page up as a JSON error: the upstream's answer is the truth.
func TestUpstreamHTMLError(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	for _, tt := range []struct {
		fault    string
		status   int
		attempts int64
	}{
		{fault: "html=1", status: 502, attempts: 3},            // retryable: retried, then passed on
		{fault: "html=1,status=404", status: 404, attempts: 1}, // not retryable
	} {
		t.Run(tt.fault, func(t *testing.T) {
			before := m.Stats().Requests
			for _, stream := range []bool{false, true} {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", stream), mock.FaultHeader, tt.fault)
				if a.status != tt.status {
					t.Errorf("stream=%t: status = %d, want the upstream's %d", stream, a.status, tt.status)
				}
				if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
					t.Errorf("stream=%t: Content-Type = %q, want the upstream's text/html", stream, ct)
				}
				if !strings.Contains(string(a.body), "<html>") {
					t.Errorf("stream=%t: body = %q, want the upstream's page", stream, a.body)
				}
				checkRequestID(t, a.header, "")
			}
			if n := m.Stats().Requests - before; n != 2*tt.attempts {
				t.Errorf("the mock saw %d requests, want %d", n, 2*tt.attempts)
			}
		})
	}
	// Still serving.
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
		t.Errorf("after HTML errors: status %d: %s", a.status, a.body)
	}
}

// TestOtherV1PathsPassThrough: /v1/ paths the gateway does not route
// itself go to the upstream, and its answer, 404 included, comes back.
// (GET /v1/models/{id} is the gateway's own; other methods pass through.)
func TestOtherV1PathsPassThrough(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	a := g.do(t, http.MethodDelete, "/v1/models/gpt-4.1", "")
	want := mockDirect(t, m, http.MethodDelete, "/v1/models/gpt-4.1", "")
	if a.status != want.status || !bytes.Equal(a.body, want.body) {
		t.Errorf("DELETE /v1/models/gpt-4.1: %d %s, want the upstream's %d %s", a.status, a.body, want.status, want.body)
	}
	a = g.do(t, http.MethodGet, "/v1/no-such-endpoint", "")
	want = mockDirect(t, m, http.MethodGet, "/v1/no-such-endpoint", "")
	if a.status != http.StatusNotFound || !bytes.Equal(a.body, want.body) {
		t.Errorf("GET /v1/no-such-endpoint: %d %s, want the upstream's %d %s", a.status, a.body, want.status, want.body)
	}
	checkRequestID(t, a.header, "")
}

// checkRequestID asserts that the answer carries the client's X-Request-Id
// when it sent one (sent != ""), else one the gateway made.
func checkRequestID(t *testing.T, h http.Header, sent string) {
	t.Helper()
	got := h.Values("X-Request-Id")
	switch {
	case len(got) != 1:
		t.Errorf("X-Request-Id = %q, want exactly one", got)
	case sent != "" && got[0] != sent:
		t.Errorf("X-Request-Id = %q, want the client's %q", got[0], sent)
	case sent == "" && !strings.HasPrefix(got[0], "req_"):
		t.Errorf("X-Request-Id = %q, want one made by the gateway (req_…)", got[0])
	case sent == "" && strings.HasPrefix(got[0], "req_mock"):
		t.Errorf("X-Request-Id = %q is the upstream's, not the gateway's", got[0])
	}
}

// TestUpstreamBodyFails: the upstream sent its headers, then its body
// stalled or broke. A non-streamed answer is held until whole, so nothing
// has reached the client and the gateway can still answer an error of its
// own; a stream's events went out one by one, so the only honest thing is
// an error event and an aborted response.
func TestUpstreamBodyFails(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			g := startGateway(t, defaultYAML(t, m, `timeouts: {stream_idle: 200ms}`), nil)
			t.Run("stall before the body", func(t *testing.T) {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "stall=3s")
				checkError(t, a, http.StatusGatewayTimeout, "upstream_timeout", "stream_idle")
				checkRequestID(t, a.header, "")
			})
			t.Run("reset before the body", func(t *testing.T) {
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "reset_after_chunks=0")
				checkError(t, a, http.StatusBadGateway, "upstream_error")
				checkRequestID(t, a.header, "")
			})
			t.Run("reset mid-body", func(t *testing.T) {
				// Half the body reached the gateway, none the client: the
				// gateway holds a non-streamed answer until it is whole, so
				// the client gets a 502 of its own, never a clean, short
				// answer.
				a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), mock.FaultHeader, "reset_after_chunks=1")
				checkError(t, a, http.StatusBadGateway, "upstream_error", "cut off")
				checkRequestID(t, a.header, "")
			})
			t.Run("stall mid-stream", func(t *testing.T) {
				resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true), mock.FaultHeader, "stall=3s")
				defer resp.Body.Close()
				var events []sseEvent
				err := readEvents(resp.Body, func(ev sseEvent) bool { events = append(events, ev); return true })
				if err == nil || len(events) == 0 {
					t.Fatalf("err = %v after %d events, want an aborted stream", err, len(events))
				}
				last := events[len(events)-1]
				if last.name != "error" || !strings.Contains(last.data, "upstream_timeout") {
					t.Errorf("last event = %+v, want an upstream_timeout error event", last)
				}
			})
		})
	}
}

// TestCircuitOpens: an upstream that keeps refusing connections has its
// circuit opened; the gateway then answers 503 at once, without calling it,
// with a message that says why, while /readyz stays 200.
func TestCircuitOpens(t *testing.T) {
	yaml := fmt.Sprintf("upstreams:\n  - name: dead\n    base_url: http://%s/v1\n    retry: {attempts: 1}\n    circuit: {failures: 3, cooldown: 1m}\n", closedAddr(t))
	g := startGateway(t, yaml, nil)
	for range 3 {
		checkError(t, g.do(t, "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false)), 502, "upstream_connect_error")
	}
	checkError(t, g.do(t, "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false)), 503, "no_healthy_upstream", "circuit open")
	if st := g.stats(t); st.Requests != 3 || st.Circuit.String() != "open" {
		t.Errorf("after the circuit opened: %d attempts, circuit %v; want 3 and open", st.Requests, st.Circuit)
	}
	// The instance can still serve (other models, the upstream after its
	// cooldown): one upstream's open circuit must not take every replica
	// out of its load balancer. The details say which circuit is open.
	a := g.do(t, "GET", "/readyz", "")
	if a.status != 200 || !strings.Contains(string(a.body), `"circuit":"open"`) {
		t.Errorf("/readyz = %d %s; want 200 naming the open circuit", a.status, a.body)
	}
}

// TestErrorsDoNotShowUpstreamAddresses: a client learns which upstream
// failed and why, not where it lives.
func TestErrorsDoNotShowUpstreamAddresses(t *testing.T) {
	dead := closedAddr(t)
	g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: dead\n    base_url: http://%s/v1\n    retry: {attempts: 1}\n", dead), nil)
	a := g.do(t, "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
	msg := checkError(t, a, 502, "upstream_connect_error", `"dead"`, "connection refused")
	host, port, _ := strings.Cut(dead, ":")
	if strings.Contains(msg, port) || strings.Contains(msg, host) {
		t.Errorf("the message shows the upstream's address %s: %q", dead, msg)
	}
	if !strings.Contains(g.logs.String(), dead) {
		t.Errorf("the gateway log should keep the full error with the address")
	}
}

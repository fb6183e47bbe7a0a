// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// What the gateway logs: one line per request with its id, and never a
// secret, whatever happens to the request.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestLogsHoldNoSecrets drives successes and failures of every kind
// through a gateway that has a client key and upstream keys, with the log
// at debug level, and checks that no key's bytes reach the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	const (
		clientKey   = "sk-client-SECRET-c0ffee0123456789"
		upstreamKey = "sk-upstream-SECRET-deadbeef98765"
		wrongKey    = "sk-wrong-SECRET-0badc0de4242"
	)
	env := map[string]string{"CLIENT_KEY": clientKey, "UPSTREAM_KEY": upstreamKey}
	m := startMock(t, mock.Options{})
	yaml := "upstreams:\n" +
		upstreamYAML(t, "mock", m, testModels, fastRetry, "api_key_env: UPSTREAM_KEY") +
		fmt.Sprintf("  - name: dead\n    base_url: http://%s/v1\n    api_key_env: UPSTREAM_KEY\n    models: [\"dead-*\"]\n    retry: {attempts: 1}\n", closedAddr(t)) +
		upstreamYAML(t, "slow", m, `models: ["slow-*"]`, "api_key_env: UPSTREAM_KEY", `timeouts: {first_byte: 100ms}`, `retry: {attempts: 1}`) +
		"keys:\n  - name: team-a\n    key_env: CLIENT_KEY\n"
	g := startGateway(t, yaml, env)

	auth := "Bearer " + clientKey
	requests := []struct {
		name         string
		method, path string
		body         string
		hdr          []string
		status       int
	}{
		{"chat", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), []string{"Authorization", auth}, 200},
		{"stream", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", true), []string{"Authorization", auth}, 200},
		{"key in X-Api-Key", "POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, []string{"X-Api-Key", clientKey}, 200},
		{"models", "GET", "/v1/models", "", []string{"Authorization", auth}, 200},
		{"wrong key", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), []string{"Authorization", "Bearer " + wrongKey}, 401},
		{"wrong key in X-Api-Key", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), []string{"X-Api-Key", wrongKey}, 401},
		{"missing key", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), nil, 401},
		{"upstream 401", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), []string{"Authorization", auth, mock.FaultHeader, "status=401"}, 401},
		{"upstream 500", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), []string{"Authorization", auth, mock.FaultHeader, "status=500"}, 500},
		{"stream reset", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", true), []string{"Authorization", auth, mock.FaultHeader, "reset_after_chunks=1"}, 200},
		{"dead upstream", "POST", "/v1/chat/completions", chatBody("dead-1", false), []string{"Authorization", auth}, 502},
		{"slow upstream", "POST", "/v1/chat/completions", chatBody("slow-1", false), []string{"Authorization", auth, mock.FaultHeader, "ttft=2s"}, 504},
		{"invalid JSON", "POST", "/v1/chat/completions", `{"model":`, []string{"Authorization", auth}, 400},
	}
	for _, r := range requests {
		resp := g.send(t, t.Context(), r.method, r.path, r.body, append(r.hdr, "X-Request-Id", "secrets-"+strings.ReplaceAll(r.name, " ", "-"))...)
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body) // a reset stream ends in an error: expected
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Errorf("%s: status %d, want %d: %s", r.name, resp.StatusCode, r.status, buf.Bytes())
		}
		if r.status == 200 && r.name == "chat" && resp.Header.Get("X-Mock-Has-Authorization") != "true" {
			t.Errorf("the upstream got no Authorization: upstream key not sent")
		}
	}
	// Shut down now, so that everything the server logs (aborted handlers,
	// closing connections) is in the buffer.
	if err := g.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}

	logs := g.logs.Bytes()
	for _, secret := range []string{clientKey, upstreamKey, wrongKey, "SECRET"} {
		if i := bytes.Index(logs, []byte(secret)); i >= 0 {
			t.Errorf("the log holds %q: …%s…", secret, logs[max(0, i-200):min(len(logs), i+100)])
		}
	}
	// The log is not empty: it has one line per request, with its id and
	// status, so the check above looked at real lines.
	logged := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg       string  `json:"msg"`
			RequestID string  `json:"request_id"`
			Status    float64 `json:"status"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "request" {
			logged[line.RequestID] = line.Status
		}
	}
	for _, r := range requests {
		id := "secrets-" + strings.ReplaceAll(r.name, " ", "-")
		if st, ok := logged[id]; !ok {
			t.Errorf("no log line for request %s", id)
		} else if int(st) != r.status && r.name != "stream reset" {
			t.Errorf("request %s logged with status %v, want %d", id, st, r.status)
		}
	}
}

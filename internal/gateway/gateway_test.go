// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestRequestID: every answer carries X-Request-Id: the client's when it
// sent a sane one, else a fresh one made by the gateway. The upstream's
// own id does not replace it; it comes back as X-Upstream-Request-Id. The
// gateway's own errors are covered by TestBadInput.
func TestRequestID(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	requests := []struct {
		name         string
		method, path string
		body         string
		relayed      bool // answered by the upstream
	}{
		{"chat", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", false), true},
		{"stream", "POST", "/v1/chat/completions", chatBody("gpt-4.1-mini", true), true},
		{"embeddings", "POST", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`, true},
		{"pass-through", "GET", "/v1/files", "", true},
		{"models", "GET", "/v1/models", "", false},
		{"model", "GET", "/v1/models/gpt-4.1", "", false}, // from the gateway's model table
		{"healthz", "GET", "/healthz", "", false},
		{"readyz", "GET", "/readyz", "", false},
		{"gateway error", "POST", "/v1/chat/completions", `{}`, false},
	}
	made := map[string]bool{}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			for _, sent := range []string{"", "my-id-0123", "bad id with spaces", strings.Repeat("x", 200)} {
				a := g.do(t, r.method, r.path, r.body, "X-Request-Id", sent)
				if sent == "my-id-0123" {
					checkRequestID(t, a.header, sent)
				} else { // absent or unusable: the gateway makes one
					checkRequestID(t, a.header, "")
					id := a.header.Get("X-Request-Id")
					if made[id] {
						t.Errorf("X-Request-Id %q made twice", id)
					}
					made[id] = true
				}
				up := a.header.Get("X-Upstream-Request-Id")
				if r.relayed && !strings.HasPrefix(up, "req_mock") {
					t.Errorf("X-Upstream-Request-Id = %q, want the mock's id", up)
				}
				if !r.relayed && up != "" {
					t.Errorf("X-Upstream-Request-Id = %q on an answer the gateway made", up)
				}
			}
		})
	}
	if !strings.Contains(g.logs.String(), `"request_id":"my-id-0123"`) {
		t.Error("the client's request id is not in the log")
	}
}

// TestPprof: the profiler is off by default; on, it is behind the admin
// key like the other operational endpoints.
func TestPprof(t *testing.T) {
	m := startMock(t, mock.Options{})
	off := startGateway(t, defaultYAML(t, m), nil)
	checkError(t, off.do(t, http.MethodGet, "/debug/pprof/", ""), http.StatusNotFound, "pprof_off", "admin.pprof")

	env := map[string]string{"ADMIN_KEY": "admin-secret-0123456789", "K": "sk-client-0123456789"}
	on := startGateway(t, defaultYAML(t, m)+"keys: [{name: k, key_env: K}]\nadmin: {key_env: ADMIN_KEY, pprof: true}\n", env)
	checkError(t, on.do(t, http.MethodGet, "/debug/pprof/heap", "", "Authorization", "Bearer "+env["K"]), http.StatusUnauthorized, "invalid_admin_key")
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"} {
		a := on.do(t, http.MethodGet, p, "", "Authorization", "Bearer "+env["ADMIN_KEY"])
		if a.status != http.StatusOK || len(a.body) == 0 {
			t.Errorf("GET %s: %d, %d bytes", p, a.status, len(a.body))
		}
	}
	if a := on.do(t, http.MethodGet, "/debug/pprof/heap?debug=1", "", "Authorization", "Bearer "+env["ADMIN_KEY"]); !strings.Contains(string(a.body), "heap profile") {
		t.Errorf("heap profile: %.200s", a.body)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"net/http"
	"strings"
	"testing"
)

// TestAzureDialect: Azure's paths in both styles, its api-key, its errors
// (no api-version, unknown deployment, bad key) in its own shape, and its
// faults: 429 with retry-after-ms, and the content filter's 400 and
// finish_reason.
func TestAzureDialect(t *testing.T) {
	t.Parallel()
	s := start(t, Options{APIKey: "az-key", AzureDeployments: []string{"my-gpt"}})
	c := &http.Client{}
	base := s.URL()
	const q = "?api-version=2024-10-21"
	for _, tt := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		want                     []string // substrings of the body
		wantHeader               map[string]string
	}{
		{"deployment chat", "POST", "/openai/deployments/my-gpt/chat/completions" + q, chatBody, []string{"Api-Key", "az-key"},
			200, []string{`"object":"chat.completion"`, `"finish_reason":"stop"`}, map[string]string{"X-Mock-Has-Authorization": "false"}},
		{"deployment embeddings", "POST", "/openai/deployments/my-gpt/embeddings" + q, `{"model":"m","input":"x"}`, []string{"Api-Key", "az-key"},
			200, []string{`"object":"list"`, `"embedding"`}, nil},
		{"deployment models", "GET", "/openai/models" + q, "", []string{"Api-Key", "az-key"},
			200, []string{`"object":"list"`}, nil},
		{"v1 chat without api-version", "POST", "/openai/v1/chat/completions", chatBody, []string{"Api-Key", "az-key"},
			200, []string{`"object":"chat.completion"`}, nil},
		{"v1 models, the key as a bearer token", "GET", "/openai/v1/models", "", []string{"Authorization", "Bearer az-key"},
			200, []string{`"object":"list"`}, nil},
		{"no api-version", "POST", "/openai/deployments/my-gpt/chat/completions", chatBody, []string{"Api-Key", "az-key"},
			404, []string{`{"error":{"code":"404","message":"Resource not found"}}`}, nil},
		{"unknown deployment", "POST", "/openai/deployments/other/chat/completions" + q, chatBody, []string{"Api-Key", "az-key"},
			404, []string{`"code":"DeploymentNotFound"`}, nil},
		{"bad key", "POST", "/openai/deployments/my-gpt/chat/completions" + q, chatBody, []string{"Api-Key", "nope"},
			401, []string{`"code":"401"`, "Access denied"}, nil},
		{"the key in Authorization on OpenAI's form is not api-key", "POST", "/openai/v1/chat/completions", chatBody, nil,
			401, []string{`"code":"401"`}, nil},
		{"throttled", "POST", "/openai/deployments/my-gpt/chat/completions" + q, chatBody, []string{"Api-Key", "az-key", FaultHeader, "retry_after=2"},
			429, []string{`"code":"429"`, "retry after 2 seconds"}, map[string]string{"Retry-After": "2", "Retry-After-Ms": "2000"}},
		{"throttled in ms", "POST", "/openai/v1/chat/completions", chatBody, []string{"Api-Key", "az-key", FaultHeader, "retry_after_ms=150"},
			429, []string{`"code":"429"`}, map[string]string{"Retry-After-Ms": "150"}},
		{"prompt filtered", "POST", "/openai/deployments/my-gpt/chat/completions" + q, chatBody, []string{"Api-Key", "az-key", FaultHeader, "content_filter=1"},
			400, []string{`"code":"content_filter"`, `"type":null`, `"innererror":{"code":"ResponsibleAIPolicyViolation"`}, nil},
		{"output filtered", "POST", "/openai/deployments/my-gpt/chat/completions" + q, chatBody, []string{"Api-Key", "az-key", FaultHeader, "content_filter=output"},
			200, []string{`"finish_reason":"content_filter"`}, nil},
		{"output filtered, streamed", "POST", "/openai/v1/chat/completions", streamBody(false), []string{"Api-Key", "az-key", FaultHeader, "content_filter=output"},
			200, []string{`"finish_reason":"content_filter"`, "data: [DONE]"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := call(t, c, tt.method, base+tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("body lacks %q: %s", w, b)
				}
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestAzureFaultSpecs(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{
		"content_filter=1":            "status=400,content_filter=prompt",
		"content_filter=output":       "content_filter=output",
		"retry_after_ms=250":          "status=429,retry_after_ms=250",
		"status=503,retry_after_ms=0": "status=503,retry_after_ms=0",
	} {
		f, err := ParseFault(spec)
		if err != nil {
			t.Fatalf("ParseFault(%q): %v", spec, err)
		}
		if got := f.String(); got != want {
			t.Errorf("ParseFault(%q).String() = %q, want %q", spec, got, want)
		}
	}
	if _, err := ParseFault("content_filter=maybe"); err == nil || !strings.Contains(err.Error(), "want prompt (or 1) or output") {
		t.Errorf("content_filter=maybe: error %v", err)
	}
}

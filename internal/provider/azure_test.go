// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// azureRequest is a request as the pool hands it to Prepare: the base URL
// plus the gateway's path, the body, and the model in its context when
// ctxModel is set.
func azureRequest(t *testing.T, e *Endpoint, method, path, body, ctxModel string) *http.Request {
	t.Helper()
	ctx := context.Background()
	if ctxModel != "" {
		ctx = WithModel(ctx, ctxModel)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if e.Header != nil {
		for k, v := range e.Header {
			req.Header[k] = v
		}
	}
	return req
}

// TestAzureURLs: where each request goes in both URL styles, with the
// deployments map, the model from the context or the body, and the
// api-version query.
func TestAzureURLs(t *testing.T) {
	deploy := Settings{Kind: Azure, BaseURL: "https://res.openai.azure.com/", APIKey: "k", APIVersion: "2024-10-21",
		Deployments: map[string]string{"gpt-4o": "my-gpt-4o"}}
	v1 := Settings{Kind: Azure, BaseURL: "https://res.openai.azure.com/openai/v1/", APIKey: "k"}
	apim := Settings{Kind: Azure, BaseURL: "https://apim.example.com/aoai/openai", APIKey: "k"} // a gateway's prefix, /openai given; default version
	tests := []struct {
		name                string
		s                   Settings
		method, path, body  string
		ctxModel            string
		wantBase, wantURL   string
		wantProbe, wantAuth string
	}{
		{"deployment: mapped model from the context", deploy, "POST", "/chat/completions", `{"model":"ignored"}`, "gpt-4o",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21",
			"/models?api-version=2024-10-21", ""},
		{"deployment: unmapped model from the body", deploy, "POST", "/embeddings", `{"input":"x","model":"text-embedding-3-small"}`, "",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
			"/models?api-version=2024-10-21", ""},
		{"deployment: completions", deploy, "POST", "/completions", `{"model":"gpt-4o"}`, "",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/deployments/my-gpt-4o/completions?api-version=2024-10-21",
			"/models?api-version=2024-10-21", ""},
		{"deployment: other paths under /openai, the client's query kept", deploy, "GET", "/files?purpose=batch", "", "",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/files?api-version=2024-10-21&purpose=batch",
			"/models?api-version=2024-10-21", ""},
		{"deployment: warm-up GET /models", deploy, "GET", "/models", "", "",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/models?api-version=2024-10-21",
			"/models?api-version=2024-10-21", ""},
		{"deployment: a name to escape", deploy, "POST", "/chat/completions", ``, "a b/c",
			"https://res.openai.azure.com/openai", "https://res.openai.azure.com/openai/deployments/a%20b%2Fc/chat/completions?api-version=2024-10-21",
			"/models?api-version=2024-10-21", ""},
		{"deployment: prefix kept, default version", apim, "POST", "/chat/completions", `{"model":"gpt-4o"}`, "",
			"https://apim.example.com/aoai/openai", "https://apim.example.com/aoai/openai/deployments/gpt-4o/chat/completions?api-version=" + DefaultAzureAPIVersion,
			"/models?api-version=" + DefaultAzureAPIVersion, ""},
		{"v1: OpenAI's paths, no api-version", v1, "POST", "/chat/completions", `{"model":"gpt-4o"}`, "",
			"https://res.openai.azure.com/openai/v1", "https://res.openai.azure.com/openai/v1/chat/completions",
			"/models", ""},
		{"v1: the configured version as the query", Settings{Kind: Azure, BaseURL: "https://res.openai.azure.com/openai/v1", APIVersion: "preview", EntraToken: "tok"},
			"GET", "/models", "", "",
			"https://res.openai.azure.com/openai/v1", "https://res.openai.azure.com/openai/v1/models?api-version=preview",
			"/models?api-version=preview", "Bearer tok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if e.BaseURL != tt.wantBase || e.Dialect != DialectOpenAI || e.ProbePath != tt.wantProbe {
				t.Errorf("base %q, dialect %q, probe %q; want %q, openai, %q", e.BaseURL, e.Dialect, e.ProbePath, tt.wantBase, tt.wantProbe)
			}
			req := azureRequest(t, e, tt.method, tt.path, tt.body, tt.ctxModel)
			if err := e.Prepare(req); err != nil {
				t.Fatal(err)
			}
			if got := req.URL.String(); got != tt.wantURL {
				t.Errorf("URL\n got %s\nwant %s", got, tt.wantURL)
			}
			if got := req.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
			if tt.s.APIKey != "" && req.Header.Get("Api-Key") != tt.s.APIKey {
				t.Errorf("api-key = %q, want the key", req.Header.Get("Api-Key"))
			}
		})
	}
}

func TestAzureErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		in   Settings
		want string
	}{
		{"deployments with v1", Settings{Kind: Azure, BaseURL: "https://r.openai.azure.com/openai/v1", Deployments: map[string]string{"a": "b"}},
			"deployments apply to the deployment style only"},
		{"bad version", Settings{Kind: Azure, BaseURL: "https://r.openai.azure.com", APIVersion: "v2"}, `api_version "v2" is not an Azure API version`},
		{"key and token", Settings{Kind: Azure, BaseURL: "https://r", APIKey: "k", EntraToken: "t"}, "not both"},
		{"token file missing", Settings{Kind: Azure, BaseURL: "https://r", EntraTokenFile: filepath.Join(dir, "none")}, "entra_token_file " + filepath.Join(dir, "none") + ": no such file"},
		{"azure keys on openai", Settings{BaseURL: "https://x/v1", Deployments: map[string]string{"a": "b"}}, "deployments applies to kind azure only"},
		{"anthropic version on azure", Settings{Kind: Azure, BaseURL: "https://r", AnthropicVersion: "2023-06-01"}, "anthropic_version applies to kind anthropic only"},
		{"relative URL", Settings{Kind: Azure, BaseURL: "res.openai.azure.com"}, "e.g. https://RESOURCE.openai.azure.com/openai/v1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	for _, v := range []string{"2024-10-21", "2025-04-01-preview", "preview", "latest"} {
		if err := CheckAPIVersion(v); err != nil {
			t.Errorf("CheckAPIVersion(%q): %v", v, err)
		}
	}
}

// TestAzureEntraTokenFile: the token goes out as a bearer token (no
// api-key), is read again when the file changes, and the last one is kept
// while the file is briefly empty or gone.
func TestAzureEntraTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("token-one\n", t0)
	e, err := New(Settings{Kind: Azure, BaseURL: "https://r.openai.azure.com/openai/v1", EntraTokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	auth := func() string {
		t.Helper()
		req := azureRequest(t, e, "GET", "/models", "", "")
		if err := e.Prepare(req); err != nil {
			t.Fatal(err)
		}
		if req.Header.Get("Api-Key") != "" {
			t.Error("an api-key header went out with a token")
		}
		return req.Header.Get("Authorization")
	}
	if got := auth(); got != "Bearer token-one" {
		t.Fatalf("Authorization = %q, want Bearer token-one", got)
	}
	if got := e.ProbeHeader().Get("Authorization"); got != "Bearer token-one" {
		t.Errorf("ProbeHeader's Authorization = %q", got)
	}
	write("token-two", t0.Add(time.Second)) // renewed
	if got := auth(); got != "Bearer token-two" {
		t.Errorf("after the file changed: Authorization = %q, want Bearer token-two", got)
	}
	write("", t0.Add(2*time.Second)) // being rewritten
	if got := auth(); got != "Bearer token-two" {
		t.Errorf("while the file is empty: Authorization = %q, want the last token", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := auth(); got != "Bearer token-two" {
		t.Errorf("while the file is gone: Authorization = %q, want the last token", got)
	}
	write("token-three", t0.Add(3*time.Second))
	if got := auth(); got != "Bearer token-three" {
		t.Errorf("after the file is back: Authorization = %q, want Bearer token-three", got)
	}
}

// TestAzureModelWithoutContext: without WithModel, only the body's model
// field is read, from GetBody's copy; the body itself is left unread.
func TestAzureModelWithoutContext(t *testing.T) {
	e, err := New(Settings{Kind: Azure, BaseURL: "https://r.openai.azure.com", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	req := azureRequest(t, e, "POST", "/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4o-mini"}`, "")
	if err := e.Prepare(req); err != nil {
		t.Fatal(err)
	}
	if want := "/openai/deployments/gpt-4o-mini/chat/completions"; req.URL.Path != want {
		t.Errorf("path %q, want %q", req.URL.Path, want)
	}
	req = azureRequest(t, e, "POST", "/chat/completions", `{"messages":[]}`, "")
	if err := e.Prepare(req); err == nil || !strings.Contains(err.Error(), "no deployment") {
		t.Errorf("a request without a model: error %v, want one saying there is no deployment", err)
	}
}

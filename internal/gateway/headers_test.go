// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// What the gateway sends upstream of the client's headers, and what it
// relays back of the upstream's: the client does not choose the account
// the gateway's key bills (OpenAI-Organization, OpenAI-Project,
// X-Goog-User-Project) nor claim an address (X-Forwarded-For, ...), unless
// the upstream's config says so; the upstream's own address does not reach
// the client through Location.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// headerEcho is an upstream that records the headers of every request and
// answers 201 with the request's X-Test-Location, if any, as its Location
// (and Content-Location).
type headerEcho struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func startHeaderEcho(t *testing.T) *headerEcho {
	t.Helper()
	e := &headerEcho{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Clone())
		e.mu.Unlock()
		if loc := r.Header.Get("X-Test-Location"); loc != "" {
			w.Header().Set("Location", loc)
			w.Header().Set("Content-Location", loc)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "{}\n")
	}))
	t.Cleanup(e.Close)
	return e
}

// clientHeaders are the forwardable headers a client sends in these tests.
var clientHeaders = []string{
	"OpenAI-Organization", "org-client", "OpenAI-Project", "proj_client", "X-Goog-User-Project", "client-project",
	"X-Forwarded-For", "203.0.113.7", "X-Real-IP", "203.0.113.7", "True-Client-IP", "203.0.113.7",
	"X-Client-IP", "203.0.113.7", "CF-Connecting-IP", "203.0.113.7", "X-Custom", "kept",
}

func TestClientHeadersThatChooseBilling(t *testing.T) {
	a, b := startHeaderEcho(t), startHeaderEcho(t)
	env := map[string]string{"UP_KEY": "sk-upstream-0123456789"}
	chat := chatBody("gpt-4.1-mini", false)
	tests := []struct {
		name string
		yaml string
		// want maps each forwardable header to what the upstream must get
		// ("" = nothing); headers not named must not arrive.
		want map[string]string
	}{
		{
			name: "dropped by default",
			yaml: fmt.Sprintf("  - name: a\n    base_url: %s/v1\n    api_key_env: UP_KEY\n", a.URL),
			want: map[string]string{},
		},
		{
			name: "forward_headers passes the listed ones",
			yaml: fmt.Sprintf("  - name: a\n    base_url: %s/v1\n    api_key_env: UP_KEY\n    forward_headers: [openai-project, X-Forwarded-For]\n", a.URL),
			want: map[string]string{"Openai-Project": "proj_client", "X-Forwarded-For": "203.0.113.7"},
		},
		{
			name: "headers sets them over the client's",
			yaml: fmt.Sprintf("  - name: a\n    base_url: %s/v1\n    api_key_env: UP_KEY\n    headers: {OpenAI-Organization: org-gateway, X-Extra: x}\n", a.URL),
			want: map[string]string{"Openai-Organization": "org-gateway", "X-Extra": "x"},
		},
		{
			// No upstream key, no client keys: the client's own key goes
			// upstream, and so does its choice of account.
			name: "the client's own key",
			yaml: fmt.Sprintf("  - name: a\n    base_url: %s/v1\n", a.URL),
			want: map[string]string{"Openai-Organization": "org-client", "Openai-Project": "proj_client", "X-Goog-User-Project": "client-project"},
		},
		{
			// The pool picks between a and b after the request is built:
			// a header goes only if both take it.
			name: "two upstreams, one takes it",
			yaml: fmt.Sprintf("  - name: a\n    base_url: %s/v1\n    api_key_env: UP_KEY\n    forward_headers: [OpenAI-Project]\n"+
				"  - name: b\n    base_url: %s/v1\n    api_key_env: UP_KEY\n", a.URL, b.URL),
			want: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGateway(t, "upstreams:\n"+tt.yaml, env)
			ans := g.do(t, "POST", "/v1/chat/completions", chat, append([]string{"Authorization", "Bearer sk-client-own"}, clientHeaders...)...)
			if ans.status != http.StatusCreated {
				t.Fatalf("status %d: %s", ans.status, ans.body)
			}
			var got http.Header
			a.mu.Lock()
			b.mu.Lock()
			switch {
			case len(a.seen) > 0:
				got = a.seen[len(a.seen)-1]
			case len(b.seen) > 0:
				got = b.seen[len(b.seen)-1]
			}
			a.seen, b.seen = nil, nil
			b.mu.Unlock()
			a.mu.Unlock()
			if got == nil {
				t.Fatal("no upstream got the request")
			}
			for i := 0; i < len(clientHeaders); i += 2 {
				k := http.CanonicalHeaderKey(clientHeaders[i])
				if k == "X-Custom" {
					continue
				}
				if v := strings.Join(got.Values(k), ","); v != tt.want[k] {
					t.Errorf("%s upstream = %q, want %q", k, v, tt.want[k])
				}
			}
			for k, v := range tt.want {
				if got.Get(k) != v {
					t.Errorf("%s upstream = %q, want %q", k, got.Get(k), v)
				}
			}
			if got.Get("X-Custom") != "kept" {
				t.Errorf("X-Custom = %q: other headers must still be forwarded", got.Get("X-Custom"))
			}
		})
	}
}

// TestUpstreamLocationNotRelayed: a Location pointing inside the upstream's
// base URL becomes the same path under the gateway's /v1; one pointing
// elsewhere (another host, the upstream host outside its base path) is not
// relayed.
func TestUpstreamLocationNotRelayed(t *testing.T) {
	up := startHeaderEcho(t)
	g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: a\n    base_url: %s/base/v1\n", up.URL), nil)
	host := strings.TrimPrefix(up.URL, "http://")
	for _, tt := range []struct {
		name, loc, want string
	}{
		{"absolute, inside the base", up.URL + "/base/v1/files/file-1?x=1", "/v1/files/file-1?x=1"},
		{"absolute, the base itself", up.URL + "/base/v1", "/v1"},
		{"absolute path, inside the base", "/base/v1/batches/b-1", "/v1/batches/b-1"},
		{"relative to the request", "file-2", "/v1/files/file-2"},
		{"absolute, upper-case host", "http://" + strings.ToUpper(host) + "/base/v1/files/x", "/v1/files/x"},
		{"the upstream host, outside the base", up.URL + "/internal/admin", ""},
		{"absolute path outside the base", "/base/v1x/files", ""},
		{"dot segments out of the base", "../../internal", ""},
		{"another host", "http://10.0.0.7:8080/base/v1/files/x", ""},
		{"another scheme", "https://" + host + "/base/v1/files/x", ""},
		{"network-path reference", "//evil.example/base/v1/x", ""},
		{"with credentials", "http://u:p@" + host + "/base/v1/files/x", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, "POST", "/v1/files/upload", `{"purpose":"batch"}`, "X-Test-Location", tt.loc)
			if a.status != http.StatusCreated {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			for _, k := range []string{"Location", "Content-Location"} {
				if got := strings.Join(a.header.Values(k), ","); got != tt.want {
					t.Errorf("%s = %q, want %q", k, got, tt.want)
				}
			}
		})
	}
}

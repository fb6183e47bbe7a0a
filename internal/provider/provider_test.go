// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name        string
		in          Settings
		wantBase    string
		wantDialect Dialect
		wantHeader  http.Header
		wantProbe   http.Header // ProbeHeader
	}{
		{"openai by default", Settings{BaseURL: "https://api.openai.com/v1/", APIKey: "sk-o"},
			"https://api.openai.com/v1", DialectOpenAI,
			http.Header{"Authorization": {"Bearer sk-o"}}, http.Header{"Authorization": {"Bearer sk-o"}}},
		{"openai keyless, path as given", Settings{Kind: OpenAI, BaseURL: "http://127.0.0.1:8000/api"},
			"http://127.0.0.1:8000/api", DialectOpenAI, nil, http.Header{}},
		{"anthropic without /v1", Settings{Kind: Anthropic, BaseURL: "https://api.anthropic.com", APIKey: "sk-ant"},
			"https://api.anthropic.com/v1", DialectAnthropic,
			http.Header{"X-Api-Key": {"sk-ant"}}, http.Header{"X-Api-Key": {"sk-ant"}, "Anthropic-Version": {DefaultAnthropicVersion}}},
		{"anthropic with /v1/", Settings{Kind: Anthropic, BaseURL: "https://api.anthropic.com/v1/", APIKey: "sk-ant"},
			"https://api.anthropic.com/v1", DialectAnthropic,
			http.Header{"X-Api-Key": {"sk-ant"}}, http.Header{"X-Api-Key": {"sk-ant"}, "Anthropic-Version": {DefaultAnthropicVersion}}},
		{"anthropic behind a proxy path, own version", Settings{Kind: Anthropic, BaseURL: "https://proxy.internal/anthropic", AnthropicVersion: "2026-10-21"},
			"https://proxy.internal/anthropic/v1", DialectAnthropic,
			nil, http.Header{"Anthropic-Version": {"2026-10-21"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if e.BaseURL != tt.wantBase || e.Dialect != tt.wantDialect || e.ProbePath != "/models" {
				t.Errorf("base %q, dialect %q, probe path %q; want %q, %q, /models", e.BaseURL, e.Dialect, e.ProbePath, tt.wantBase, tt.wantDialect)
			}
			if !reflect.DeepEqual(e.Header, tt.wantHeader) {
				t.Errorf("Header = %v, want %v", e.Header, tt.wantHeader)
			}
			if got := e.ProbeHeader(); !reflect.DeepEqual(got, tt.wantProbe) {
				t.Errorf("ProbeHeader = %v, want %v", got, tt.wantProbe)
			}
			if e.Kind == Anthropic && e.Header.Get("Authorization") != "" {
				t.Error("an anthropic upstream gets an Authorization header")
			}
		})
	}
}

// TestAnthropicClientVersionWins: the hook sets anthropic-version only on a
// request that has none; the client's own and its anthropic-beta pass.
func TestAnthropicClientVersionWins(t *testing.T) {
	e, err := New(Settings{Kind: Anthropic, BaseURL: "https://api.anthropic.com", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		client http.Header
		want   string
	}{
		{"client sent none", http.Header{}, DefaultAnthropicVersion},
		{"client's own", http.Header{"Anthropic-Version": {"2026-10-21"}, "Anthropic-Beta": {"tools-2024"}}, "2026-10-21"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &http.Request{Header: tt.client.Clone(), URL: &url.URL{Path: "/v1/messages"}}
			if err := e.Prepare(req); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Anthropic-Version"); got != tt.want {
				t.Errorf("anthropic-version = %q, want %q", got, tt.want)
			}
			if got := req.Header.Get("Anthropic-Beta"); got != tt.client.Get("Anthropic-Beta") {
				t.Errorf("anthropic-beta = %q, want the client's %q", got, tt.client.Get("Anthropic-Beta"))
			}
		})
	}
	if want := []string{"Anthropic-Version", "Anthropic-Beta"}; !reflect.DeepEqual(e.Passes, want) {
		t.Errorf("Passes = %v, want %v", e.Passes, want)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Settings
		want string
	}{
		{"unknown kind", Settings{Kind: "gemini-ish", BaseURL: "https://x"}, `unknown kind "gemini-ish" (use one of: openai, anthropic, `},
		{"relative URL", Settings{Kind: Anthropic, BaseURL: "api.anthropic.com"}, "base_url must be an absolute http:// or https:// URL, e.g. https://api.anthropic.com"},
		{"version on openai", Settings{BaseURL: "https://x", AnthropicVersion: "2023-06-01"}, "anthropic_version applies to kind anthropic only"},
		{"bad version", Settings{Kind: Anthropic, BaseURL: "https://x", AnthropicVersion: "v1"}, `anthropic_version "v1" is not a version date (use YYYY-MM-DD`},
		{"password not echoed", Settings{Kind: Anthropic, BaseURL: "ftp://u:hunter2@x", APIKey: "sk-secret"}, "base_url must be"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sk-secret") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	if got := Kinds(); len(got) < 2 || got[0] != OpenAI {
		t.Errorf("Kinds() = %v, want openai first", got)
	}
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
		s := Settings{Kind: k, BaseURL: "https://example.test"}
		if k == Bedrock {
			awsEnv(t, testAccessKey, testSecretKey, "")
			s.Region = "us-east-1"
		}
		e, err := New(s)
		if err != nil {
			t.Errorf("New(kind %q): %v", k, err)
		} else if d := DialectOf(k); d != e.Dialect {
			t.Errorf("DialectOf(%q) = %q, but its Endpoint speaks %q", k, d, e.Dialect)
		}
	}
	if d := DialectOf(""); d != DialectOpenAI {
		t.Errorf(`DialectOf("") = %q, want openai`, d)
	}
	if k, err := ParseKind(""); err != nil || k != OpenAI {
		t.Errorf(`ParseKind("") = %q, %v; want openai`, k, err)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestGeminiEndpoint: kind gemini takes its base URL with or without the
// API version (a bare host gets /v1beta), sends the key as x-goog-api-key
// and never in the URL, and probes with GET /models.
func TestGeminiEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name, base, want string
	}{
		{"bare host", "https://generativelanguage.googleapis.com", GeminiBase},
		{"bare host with slash", "https://generativelanguage.googleapis.com/", GeminiBase},
		{"v1beta", "https://generativelanguage.googleapis.com/v1beta/", GeminiBase},
		{"v1 as given", "https://generativelanguage.googleapis.com/v1", "https://generativelanguage.googleapis.com/v1"},
		{"v1alpha as given", "https://generativelanguage.googleapis.com/v1alpha", "https://generativelanguage.googleapis.com/v1alpha"},
		{"behind a proxy path", "http://127.0.0.1:9000/gemini", "http://127.0.0.1:9000/gemini/v1beta"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(Settings{Kind: Gemini, BaseURL: tt.base, APIKey: "AIza-secret"})
			if err != nil {
				t.Fatal(err)
			}
			if e.BaseURL != tt.want || e.Dialect != DialectGemini || e.ProbePath != "/models" {
				t.Errorf("base %q, dialect %q, probe %q; want %q, gemini, /models", e.BaseURL, e.Dialect, e.ProbePath, tt.want)
			}
			want := http.Header{"X-Goog-Api-Key": {"AIza-secret"}}
			if !reflect.DeepEqual(e.Header, want) || !reflect.DeepEqual(e.ProbeHeader(), want) {
				t.Errorf("Header %v, ProbeHeader %v; want %v", e.Header, e.ProbeHeader(), want)
			}
			if strings.Contains(e.BaseURL, "key=") || strings.Contains(e.BaseURL, "AIza") {
				t.Errorf("the key is in the URL: %s", e.BaseURL)
			}
		})
	}
	e, err := New(Settings{Kind: Gemini, BaseURL: GeminiBase})
	if err != nil || e.Header != nil {
		t.Errorf("keyless: header %v, err %v; want none", e.Header, err)
	}
	if _, err := New(Settings{Kind: Gemini, BaseURL: GeminiBase, AnthropicVersion: "2023-06-01"}); err == nil {
		t.Error("anthropic_version on a gemini upstream is accepted")
	}
	if _, err := New(Settings{Kind: Gemini, BaseURL: "generativelanguage.googleapis.com"}); err == nil ||
		!strings.Contains(err.Error(), GeminiBase) {
		t.Errorf("relative base URL: %v, want an error naming %s", err, GeminiBase)
	}
}

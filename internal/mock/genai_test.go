// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

// Google's official Gemini client (google.golang.org/genai, a test-only
// dependency) against the mock: what it reads is the mock's Gemini dialect
// as the real API's client reads it.

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/genai"
)

// genaiClient is Google's official Gemini client pointed at s, with key
// and extra headers (a fault), without retries of its own.
func genaiClient(t *testing.T, s *Server, key string, hdr ...string) *genai.Client {
	t.Helper()
	for _, v := range []string{"GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GEMINI_BASE_URL"} {
		t.Setenv(v, "")
	}
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	c, err := genai.NewClient(t.Context(), &genai.ClientConfig{APIKey: key, Backend: genai.BackendGeminiAPI, HTTPClient: s.Client(),
		HTTPOptions: genai.HTTPOptions{BaseURL: s.URL() + "/", APIVersion: "v1beta", Headers: h}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userText(s string) []*genai.Content {
	return []*genai.Content{genai.NewContentFromText(s, genai.RoleUser)}
}

// TestGeminiGenAI: Google's own client reads the mock's answers: text and
// usage, a stream, a function call and the turn with its result,
// embeddings, the model list.
func TestGeminiGenAI(t *testing.T) {
	s := start(t, Options{Tokens: 3, APIKey: geminiTestKey})
	c := genaiClient(t, s, geminiTestKey)
	ctx := t.Context()

	r, err := c.Models.GenerateContent(ctx, "gemini-2.5-flash", userText("hi"), nil)
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	if r.Text() != "word1 word2 word3" || r.Candidates[0].FinishReason != genai.FinishReasonStop ||
		r.UsageMetadata.CandidatesTokenCount != 3 || r.UsageMetadata.PromptTokenCount == 0 || r.ResponseID == "" {
		t.Errorf("answer = %+v", r)
	}

	var text strings.Builder
	var last *genai.GenerateContentResponse
	n := 0
	for chunk, err := range c.Models.GenerateContentStream(ctx, "gemini-2.5-flash", userText("hi"), nil) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		text.WriteString(chunk.Text())
		last, n = chunk, n+1
	}
	if text.String() != "word1 word2 word3" || n != 3 || last.Candidates[0].FinishReason != genai.FinishReasonStop ||
		last.UsageMetadata.CandidatesTokenCount != 3 {
		t.Errorf("stream: %d chunks, text %q, last %+v", n, text.String(), last)
	}

	tools := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name: "get_weather", Parameters: &genai.Schema{Type: genai.TypeObject,
			Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}, Required: []string{"city"}}}}}}}
	r, err = c.Models.GenerateContent(ctx, "gemini-2.5-flash", userText("weather?"), tools)
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	calls := r.FunctionCalls()
	if len(calls) != 1 || calls[0].Name != "get_weather" || calls[0].Args["city"] != "mock" {
		t.Fatalf("function calls = %+v", calls)
	}
	turns := append(userText("weather?"), r.Candidates[0].Content,
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"temp": 21}, genai.RoleUser))
	r, err = c.Models.GenerateContent(ctx, "gemini-2.5-flash", turns, tools)
	if err != nil || len(r.FunctionCalls()) != 0 || r.Text() != "word1 word2 word3" {
		t.Errorf("function response turn: %+v, %v; want text", r, err)
	}

	e, err := c.Models.EmbedContent(ctx, "gemini-embedding-001", []*genai.Content{
		genai.NewContentFromText("one", genai.RoleUser), genai.NewContentFromText("two", genai.RoleUser)}, nil)
	if err != nil || len(e.Embeddings) != 2 || len(e.Embeddings[0].Values) != defaultDimensions {
		t.Errorf("EmbedContent: %+v, %v; want 2 embeddings of %d", e, err, defaultDimensions)
	}

	var names []string
	for m, err := range c.Models.All(ctx) {
		if err != nil {
			t.Fatalf("Models.All: %v", err)
		}
		names = append(names, m.Name)
	}
	if len(names) != len(geminiModels) || names[0] != "models/gemini-2.5-flash" {
		t.Errorf("models = %v", names)
	}
}

// TestGeminiGenAIErrors: Google's client reads the mock's errors as
// APIErrors with Google's code and status, and its safety blocks.
func TestGeminiGenAIErrors(t *testing.T) {
	s := start(t, Options{APIKey: geminiTestKey})
	for _, tt := range []struct {
		name, key, model, fault string
		code                    int
		status                  string
	}{
		{"wrong key", "AIza-wrong", "gemini-2.5-flash", "", 400, "INVALID_ARGUMENT"},
		{"unknown model", geminiTestKey, "gemini-no-such", "", 404, "NOT_FOUND"},
		{"rate limit", geminiTestKey, "gemini-2.5-flash", "status=429", 429, "RESOURCE_EXHAUSTED"},
		{"overloaded", geminiTestKey, "gemini-2.5-flash", "status=503", 503, "UNAVAILABLE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.fault != "" {
				hdr = []string{FaultHeader, tt.fault}
			}
			_, err := genaiClient(t, s, tt.key, hdr...).Models.GenerateContent(t.Context(), tt.model, userText("hi"), nil)
			var ae genai.APIError
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.Status != tt.status || ae.Message == "" {
				t.Errorf("err = %v (%T), want APIError %d %s", err, err, tt.code, tt.status)
			}
		})
	}
	r, err := genaiClient(t, s, geminiTestKey, FaultHeader, "safety=prompt").Models.GenerateContent(t.Context(), "gemini-2.5-flash", userText("hi"), nil)
	if err != nil || r.PromptFeedback == nil || r.PromptFeedback.BlockReason != genai.BlockedReasonSafety || len(r.Candidates) != 0 {
		t.Errorf("safety=prompt: %+v, %v", r, err)
	}
	r, err = genaiClient(t, s, geminiTestKey, FaultHeader, "safety=response").Models.GenerateContent(t.Context(), "gemini-2.5-flash", userText("hi"), nil)
	if err != nil || len(r.Candidates) != 1 || r.Candidates[0].FinishReason != genai.FinishReasonSafety {
		t.Errorf("safety=response: %+v, %v", r, err)
	}
}

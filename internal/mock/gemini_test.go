// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

const geminiTestKey = "AIza-mock-secret"

// TestGeminiWire: the stream's framing is Gemini's ("data: {...}" and
// CRLF CRLF, no [DONE]); the key is taken from x-goog-api-key or the key
// parameter, and none is Google's 403; errors have Google's shape; a
// stream without alt=sse is refused.
func TestGeminiWire(t *testing.T) {
	s := start(t, Options{Tokens: 2, APIKey: geminiTestKey})
	c := s.Client()
	gen := s.URL() + "/v1beta/models/gemini-2.5-flash:"
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`

	resp, err := send(t.Context(), c, http.MethodPost, gen+"streamGenerateContent?alt=sse", body, "X-Goog-Api-Key", geminiTestKey)
	if err != nil {
		t.Fatal(err)
	}
	b := new(strings.Builder)
	_, _ = bufio.NewReader(resp.Body).WriteTo(b)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	chunks := strings.Split(strings.TrimSuffix(b.String(), "\r\n\r\n"), "\r\n\r\n")
	if len(chunks) != 2 || !strings.HasPrefix(chunks[0], `data: {"candidates":[{"content":{"role":"model","parts":[{"text":"word1"}]}`) ||
		!strings.Contains(chunks[1], `"finishReason":"STOP"`) || !strings.Contains(chunks[1], `"candidatesTokenCount":2`) ||
		strings.Contains(b.String(), "[DONE]") {
		t.Errorf("stream body:\n%q", b.String())
	}

	for _, tt := range []struct {
		name, url string
		hdr       []string
		status    int
		want      string
	}{
		{"key parameter", gen + "generateContent?key=" + geminiTestKey, nil, 200, `"text":"word1 word2"`},
		{"no key", gen + "generateContent", nil, 403, `"status":"PERMISSION_DENIED"`},
		{"wrong key", gen + "generateContent", []string{"X-Goog-Api-Key", "nope"}, 400, `"reason":"API_KEY_INVALID"`},
		{"fault", gen + "generateContent", []string{"X-Goog-Api-Key", geminiTestKey, FaultHeader, "status=429,retry_after=1"}, 429,
			`{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota). (mock fault)","status":"RESOURCE_EXHAUSTED"}}`},
		{"stream without alt=sse", gen + "streamGenerateContent", []string{"X-Goog-Api-Key", geminiTestKey}, 400, `"status":"INVALID_ARGUMENT"`},
		{"unknown verb", gen + "fly", []string{"X-Goog-Api-Key", geminiTestKey}, 404, `"status":"NOT_FOUND"`},
		{"batch model mismatch", s.URL() + "/v1beta/models/gemini-embedding-001:batchEmbedContents",
			[]string{"X-Goog-Api-Key", geminiTestKey}, 400, `differs from the request's model`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := body
			if strings.Contains(tt.url, "batchEmbed") {
				in = `{"requests":[{"model":"models/other","content":{"parts":[{"text":"x"}]}}]}`
			}
			resp, b := call(t, c, http.MethodPost, tt.url, in, tt.hdr...)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, b, tt.status, tt.want)
			}
		})
	}
}

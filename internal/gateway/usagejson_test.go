// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// usageByDecoder is the reference parseUsage must agree with.
func usageByDecoder(b []byte) (wireUsage, bool) {
	w := noUsage
	err := json.NewDecoder(bytes.NewReader(b)).Decode(&w)
	return w, err == nil
}

var usageSeeds = []string{
	`{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}`,
	`{ "input_tokens" : 5 , "output_tokens":7, "input_tokens_details": {"cached_tokens": 1, "x": [1, {"y": "}"}]}, "total_tokens": 12 }`,
	`{"prompt_tokens":null,"completion_tokens":-3}`,
	`{"prompt_tokens":"12"}`,
	`{"prompt_tokens":1.5}`,
	`{"prompt_tokens":1e3}`,
	`{"prompt_tokens":01}`,
	`{"prompt_tokens":99999999999999999999}`,
	`{"prompt_tokens":9223372036854775807}`,
	`{"prompt_tokens":-9223372036854775808,"total_tokens":9223372036854775808}`,
	`{"note":"a \"quoted\" } brace","total_tokens":3}`,
	`{}`,
	`{"prompt_tokens":1`,
	`{"prompt_tokens" 1}`,
	`{"prompt_tokens":1,}`,
	`{"a":true,"b":false,"c":null,"total_tokens":2}`,
}

func TestParseUsage(t *testing.T) {
	for _, s := range usageSeeds {
		got, ok := parseUsage([]byte(s))
		want, wantOK := usageByDecoder([]byte(s))
		if wantOK && (!ok || got != want) {
			t.Errorf("parseUsage(%s) = %+v, %v; encoding/json reads %+v", s, got, ok, want)
		}
		if !wantOK && ok && got != noUsage && bytes.Contains([]byte(s), []byte("tokens\":")) {
			// Lenient only about what it skips, never about a usage number.
			if _, err := json.Marshal(got); err == nil && !json.Valid([]byte(s)) {
				t.Errorf("parseUsage(%s) = %+v, accepted what encoding/json refuses", s, got)
			}
		}
	}
}

// FuzzParseUsage: wherever encoding/json reads a usage object (with keys
// spelled exactly: encoding/json also matches other cases), parseUsage
// reads the same numbers; and it never panics.
func FuzzParseUsage(f *testing.F) {
	for _, s := range usageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '{' {
			return
		}
		got, ok := parseUsage(b)
		want, wantOK := usageByDecoder(b)
		if !wantOK || bytes.ContainsAny(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\\\u017f\u212a") {
			return
		}
		if !ok || got != want {
			t.Errorf("parseUsage(%q) = %+v, %v; encoding/json reads %+v", b, got, ok, want)
		}
	})
}

func BenchmarkFindUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello there, general kenobi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := findUsage(body); !ok {
			b.Fatal("no usage")
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	chat := "/v1/chat/completions"
	tests := []struct {
		path, body string
		want       int // beyond len(body)/4
	}{
		{chat, `{"model":"m"}`, 1024},
		{chat, `{"model":"m","max_tokens":100}`, 100},
		{chat, `{"max_tokens":100,"model":"m","max_completion_tokens":50}`, 50},
		{"/v1/responses", `{"model":"m","max_output_tokens":70}`, 70},
		{chat, `{"model":"m","max_tokens":100,"n":3}`, 300},
		{chat, `{"model":"m","max_tokens":10,"n":1000}`, 1280},
		{chat, `{"model":"m","max_tokens":"12"}`, 1024},
		{chat, `{"model":"m","max_tokens":1.5}`, 1024},
		{chat, `{"model":"m","max_tokens":-5}`, 1024},
		{chat, `{"model":"m","max_tokens":null}`, 1024},
		{chat, `{"model":"m","messages":[{"role":"user","content":"x","max_tokens":5}]}`, 1024},
		{"/v1/completions", ` { "model" : "m" , "max_tokens" : 7 } `, 7},
		{"/v1/embeddings", `{"model":"m","input":"hello","max_tokens":5}`, 0},
		{"/v1/models", `{"model":"m"}`, -1},
	}
	for _, tt := range tests {
		want := len(tt.body)/4 + tt.want
		if tt.want < 0 {
			want = 0
		}
		if got := estimateTokens(endpointFor(tt.path, http.MethodPost).class, []byte(tt.body)); got != want {
			t.Errorf("estimateTokens(%s, %s) = %d, want %d", tt.path, tt.body, got, want)
		}
	}
}

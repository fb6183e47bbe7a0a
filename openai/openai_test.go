// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package openai

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		code       string
		retryAfter int
		wantRA     string
		wantCode   any
	}{
		{name: "with code", status: 404, code: "model_not_found", wantCode: "model_not_found"},
		{name: "null code", status: 400, wantCode: nil},
		{name: "retry after", status: 429, code: "rate_limited", retryAfter: 3, wantRA: "3", wantCode: "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.status, TypeInvalidRequest, tt.code, "bad thing", tt.retryAfter)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRA {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRA)
			}
			var body map[string]map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
			}
			e := body["error"]
			if e["message"] != "bad thing" || e["type"] != TypeInvalidRequest || e["code"] != tt.wantCode {
				t.Errorf("error body = %v", e)
			}
		})
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4.1","stream":true}`))
	f.Add([]byte(`{"model":1}`))
	f.Add([]byte(`[[[[[[[[[[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Envelope
		_ = json.Unmarshal(b, &e)
	})
}

func TestChatWireForms(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means the same as in
	}{
		{name: "string content", in: `{"role":"user","content":"hi"}`},
		{name: "null content", in: `{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":""}}]}`},
		{name: "parts", in: `{"role":"user","content":[{"type":"text","text":""},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m ChatMessage
			if err := json.Unmarshal([]byte(tt.in), &m); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(m)
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	var r ChatRequest
	if err := json.Unmarshal([]byte(`{"model":"m","messages":[],"stop":"x","tool_choice":{"type":"function","function":{"name":"f"}}}`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Stop) != 1 || r.Stop[0] != "x" || r.ToolChoice == nil || r.ToolChoice.Name != "f" {
		t.Errorf("decoded %+v", r)
	}
	if b, _ := json.Marshal(ToolChoice{Mode: ToolChoiceRequired}); string(b) != `"required"` {
		t.Errorf("tool choice mode encodes as %s", b)
	}
}

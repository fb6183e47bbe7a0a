// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"net/http"
	"testing"

	"github.com/warmgate/warmgate/sse"
)

func TestHasFinishReason(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"stop", `{"choices":[{"delta":{},"finish_reason":"stop"}]}`, true},
		{"spaces", `{"choices":[{"finish_reason" :  "length"}]}`, true},
		{"null", `{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}`, false},
		{"absent", `{"choices":[{"delta":{"content":"a"}}]}`, false},
		{"in content", `{"choices":[{"delta":{"content":"\"finish_reason\":\"stop\""},"finish_reason":null}]}`, false},
		{"second choice finishes", `{"choices":[{"finish_reason":null},{"finish_reason":"stop"}]}`, true},
		{"usage chunk", `{"choices":[],"usage":{"prompt_tokens":1}}`, false},
		{"key cut short", `{"finish_reason"`, false},
		{"empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasFinishReason([]byte(tt.in)); got != tt.want {
				t.Errorf("hasFinishReason(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestResponsesEnd(t *testing.T) {
	tests := []struct {
		name, event, data string
		want              bool
	}{
		{"completed", "response.completed", `{"type":"response.completed"}`, true},
		{"failed", "response.failed", `{}`, true},
		{"incomplete", "response.incomplete", `{}`, true},
		{"error", "error", `{"type":"error","message":"x"}`, true},
		{"delta", "response.output_text.delta", `{"type":"response.output_text.delta"}`, false},
		{"unnamed completed", "", `{"type":"response.completed","response":{}}`, true},
		{"unnamed delta", "", `{"type":"response.output_text.delta","delta":"response.completed"}`, false},
		{"not JSON", "", `[DONE]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := responsesEnd(sse.Event{Name: tt.event, Data: []byte(tt.data)}); got != tt.want {
				t.Errorf("responsesEnd(%q, %s) = %v, want %v", tt.event, tt.data, got, tt.want)
			}
		})
	}
}

// TestChatEnd: [DONE] ends a chat stream only after a finish_reason, and
// a [DONE] before one is held back.
func TestChatEnd(t *testing.T) {
	se := endpointFor("/v1/chat/completions", http.MethodPost).end()
	tok := sse.Event{Data: []byte(`{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}`)}
	fin := sse.Event{Data: []byte(`{"choices":[{"delta":{},"finish_reason":"stop"}]}`)}
	done := sse.Event{Data: []byte("[DONE]")}
	if se.end(tok) || se.hold(tok) {
		t.Error("a token chunk ends the stream or is held")
	}
	if !se.hold(done) {
		t.Error("[DONE] before any finish_reason is not held back")
	}
	if se.end(fin) || se.hold(fin) {
		t.Error("the finish chunk ends the stream by itself, or is held")
	}
	if se.hold(done) || !se.end(done) {
		t.Error("[DONE] after a finish_reason does not end the stream")
	}
	if endpointFor("/v1/files", http.MethodPost).end != nil {
		t.Error("a passed-through path has an end rule")
	}
}

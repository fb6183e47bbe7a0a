// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"testing"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// TestAnthropicErrorType: the gateway's statuses get the error types
// Anthropic's API gives with them (anthropic.TypeForStatus, which the
// Anthropic front writes its errors with).
func TestAnthropicErrorType(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   string
	}{
		{400, "invalid_request_error"}, {405, "invalid_request_error"}, {408, "invalid_request_error"},
		{415, "invalid_request_error"}, {401, "authentication_error"}, {402, "billing_error"},
		{403, "permission_error"}, {404, "not_found_error"}, {413, "request_too_large"},
		{429, "rate_limit_error"}, {500, "api_error"}, {502, "api_error"}, {503, "overloaded_error"},
		{529, "overloaded_error"}, {504, "timeout_error"},
	} {
		if got := anthropic.TypeForStatus(tt.status); got != tt.want {
			t.Errorf("anthropic.TypeForStatus(%d) = %q, want %q", tt.status, got, tt.want)
		}
	}
}

// TestMessagesEnd: message_stop or an error event ends a Messages stream,
// named by the SSE event field or, without one, by the data's type.
func TestMessagesEnd(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       bool
	}{
		{"message_stop", `{"type":"message_stop"}`, true},
		{"", `{"type":"message_stop"}`, true},
		{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, true},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"}}`, false},
		{"", `{"type":"content_block_delta","delta":{"type":"text_delta","text":"\"type\":\"message_stop\""}}`, false},
		{"ping", `{"type": "ping"}`, false},
	} {
		if got := newMessagesEnd().end(sse.Event{Name: tt.name, Data: []byte(tt.data)}); got != tt.want {
			t.Errorf("end(%q, %s) = %v, want %v", tt.name, tt.data, got, tt.want)
		}
	}
}

// TestAnthropicStreamUsage: a Messages stream's usage adds up from
// message_start (input and cache tokens) and the message_delta events
// (output tokens so far, and input tokens where the API repeats them).
func TestAnthropicStreamUsage(t *testing.T) {
	events := []string{
		`{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":3,"output_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":3},"service_tier":"standard"}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\"usage\":{\"output_tokens\":999}"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}`,
		`{"type":"message_delta","delta":{},"usage":{"input_tokens":10,"output_tokens":7}}`,
	}
	w := &respWriter{}
	w.watch(anthropicUsage, false, false)
	for _, d := range events {
		w.onEvent(sse.Event{Data: []byte(d)})
	}
	want := openai.Usage{PromptTokens: 18, CompletionTokens: 7, TotalTokens: 25}
	if !w.known || w.usage != want {
		t.Errorf("usage %+v (known %v), want %+v", w.usage, w.known, want)
	}
}

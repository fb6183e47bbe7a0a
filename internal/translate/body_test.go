// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"errors"
	"testing"
)

func TestBodyFunctions(t *testing.T) {
	b, err := ChatRequestBodyToMessages([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil || !sameJSON(b, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4096}`)) {
		t.Errorf("ChatRequestBodyToMessages = %s, %v", b, err)
	}
	b, err = MessagesRequestBodyToChat([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil || !sameJSON(b, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)) {
		t.Errorf("MessagesRequestBodyToChat = %s, %v", b, err)
	}
	b, u, err := MessagesResponseBodyToChat([]byte(`{"id":"msg","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"x"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2,"cache_read_input_tokens":10}}`), 1)
	if err != nil || u != (Usage{InputTokens: 3, OutputTokens: 2, CacheReadTokens: 10}) || len(b) == 0 {
		t.Errorf("MessagesResponseBodyToChat = %s, %+v, %v", b, u, err)
	}
	b, u, err = ChatResponseBodyToMessages([]byte(`{"id":"c","object":"chat.completion","created":1,"model":"g","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":2,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":10}}}`))
	if err != nil || u != (Usage{InputTokens: 3, OutputTokens: 2, CacheReadTokens: 10}) || len(b) == 0 {
		t.Errorf("ChatResponseBodyToMessages = %s, %+v, %v", b, u, err)
	}

	var re *RequestError
	if _, err := ChatRequestBodyToMessages([]byte(`{"messages":`)); !errors.As(err, &re) {
		t.Errorf("a broken request body gave %v, want a *RequestError", err)
	}
	if _, err := MessagesRequestBodyToChat([]byte(`[]`)); !errors.As(err, &re) {
		t.Errorf("a broken request body gave %v, want a *RequestError", err)
	}
	var ae *AnswerError
	if _, _, err := MessagesResponseBodyToChat([]byte(`<html>`), 1); !errors.As(err, &ae) {
		t.Errorf("a broken answer gave %v, want an *AnswerError", err)
	}
	if _, _, err := ChatResponseBodyToMessages([]byte(`{"choices":{}}`)); !errors.As(err, &ae) {
		t.Errorf("a broken answer gave %v, want an *AnswerError", err)
	}
}

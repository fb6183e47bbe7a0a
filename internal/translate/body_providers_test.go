// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"errors"
	"testing"
)

// TestProviderBodyFunctions: the Gemini and Bedrock body functions
// translate, return the answer's usage, and refuse broken bodies with the
// right error kind.
func TestProviderBodyFunctions(t *testing.T) {
	chat := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
	msgs := []byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	for name, f := range map[string]func([]byte) ([]byte, error){
		"ChatRequestBodyToGemini": ChatRequestBodyToGemini, "MessagesRequestBodyToGemini": MessagesRequestBodyToGemini,
		"ChatRequestBodyToConverse": ChatRequestBodyToConverse, "MessagesRequestBodyToConverse": MessagesRequestBodyToConverse,
	} {
		in := chat
		if name[0] == 'M' {
			in = msgs
		}
		b, err := f(in)
		if err != nil || len(b) == 0 {
			t.Errorf("%s = %s, %v", name, b, err)
		}
		var re *RequestError
		if _, err := f([]byte(`{"messages":`)); !errors.As(err, &re) {
			t.Errorf("%s of a broken body gave %v, want a *RequestError", name, err)
		}
	}
	b, err := ChatRequestBodyToGemini(chat)
	if want := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":5}}`; err != nil || !sameJSON(b, []byte(want)) {
		t.Errorf("ChatRequestBodyToGemini = %s, %v; want %s", b, err, want)
	}
	b, err = ChatRequestBodyToConverse(chat)
	if want := `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":5}}`; err != nil || !sameJSON(b, []byte(want)) {
		t.Errorf("ChatRequestBodyToConverse = %s, %v; want %s", b, err, want)
	}

	gem := []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"x"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":13,"candidatesTokenCount":2,"cachedContentTokenCount":10,"thoughtsTokenCount":1},"responseId":"r"}`)
	wantU := Usage{InputTokens: 3, CacheReadTokens: 10, OutputTokens: 3}
	if b, u, err := GeminiResponseBodyToChat(gem, 1, "g"); err != nil || u != wantU || len(b) == 0 {
		t.Errorf("GeminiResponseBodyToChat = %s, %+v, %v", b, u, err)
	}
	if b, u, err := GeminiResponseBodyToMessages(gem, "g"); err != nil || u != wantU || len(b) == 0 {
		t.Errorf("GeminiResponseBodyToMessages = %s, %+v, %v", b, u, err)
	}
	bed := []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":2,"totalTokens":20,"cacheReadInputTokens":10,"cacheWriteInputTokens":5}}`)
	wantU = Usage{InputTokens: 3, CacheReadTokens: 10, CacheCreationTokens: 5, OutputTokens: 2}
	if b, u, err := ConverseResponseBodyToChat(bed, "id", 1, "b"); err != nil || u != wantU || len(b) == 0 {
		t.Errorf("ConverseResponseBodyToChat = %s, %+v, %v", b, u, err)
	}
	if b, u, err := ConverseResponseBodyToMessages(bed, "id", "b"); err != nil || u != wantU || len(b) == 0 {
		t.Errorf("ConverseResponseBodyToMessages = %s, %+v, %v", b, u, err)
	}
	var ae *AnswerError
	for name, err := range map[string]error{
		"GeminiResponseBodyToChat":       second(GeminiResponseBodyToChat([]byte(`<html>`), 1, "g")),
		"GeminiResponseBodyToMessages":   second(GeminiResponseBodyToMessages([]byte(`[]`), "g")),
		"ConverseResponseBodyToChat":     second(ConverseResponseBodyToChat([]byte(`<html>`), "id", 1, "b")),
		"ConverseResponseBodyToMessages": second(ConverseResponseBodyToMessages([]byte(`{"output":[]}`), "id", "b")),
	} {
		if !errors.As(err, &ae) {
			t.Errorf("%s of a broken answer gave %v, want an *AnswerError", name, err)
		}
	}
}

func second(_ []byte, _ Usage, err error) error { return err }

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"testing"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/translate/gemini"
	"github.com/warmgate/warmgate/openai"
)

// The Gemini golden tables (see golden_test.go for the format).
func init() {
	tables["chat_request_to_gemini"] = func(t *testing.T, c goldenCase) any {
		var in openai.ChatRequest
		mustDecode(t, c.In, &in)
		out, err := ChatRequestToGemini(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["messages_request_to_gemini"] = func(t *testing.T, c goldenCase) any {
		var in anthropic.Request
		mustDecode(t, c.In, &in)
		out, err := MessagesRequestToGemini(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["gemini_response_to_chat"] = func(t *testing.T, c goldenCase) any {
		var in gemini.Response
		mustDecode(t, c.In, &in)
		out, err := GeminiResponseToChat(&in, created, "gemini-2.5-flash")
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["gemini_response_to_messages"] = func(t *testing.T, c goldenCase) any {
		var in gemini.Response
		mustDecode(t, c.In, &in)
		out, err := GeminiResponseToMessages(&in, "gemini-2.5-flash")
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["gemini_error_to_chat"] = func(t *testing.T, c goldenCase) any {
		var in errorOut
		mustDecode(t, c.In, &in)
		status, body := GeminiErrorToChat(in.Status, in.Body)
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	}
	tables["gemini_error_to_messages"] = func(t *testing.T, c goldenCase) any {
		var in errorOut
		mustDecode(t, c.In, &in)
		status, body := GeminiErrorToMessages(in.Status, in.Body)
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	}
	tables["gemini_stream_to_chat"] = func(t *testing.T, c goldenCase) any {
		var o streamOptions
		if len(c.Options) > 0 {
			mustDecode(t, c.Options, &o)
		}
		tr := NewGeminiToChatStream(GeminiToChatOptions{IncludeUsage: o.IncludeUsage, Created: created, Model: "gemini-2.5-flash"})
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkOpenAIStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed OpenAI stream: %v", err)
			}
		}
		return out
	}
	tables["gemini_stream_to_messages"] = func(t *testing.T, c goldenCase) any {
		tr := NewGeminiToMessagesStream("gemini-2.5-flash")
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkAnthropicStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed Anthropic stream: %v", err)
			}
		}
		return out
	}
	tables["chat_embeddings_to_gemini"] = func(t *testing.T, c goldenCase) any {
		var in openai.EmbeddingsRequest
		mustDecode(t, c.In, &in)
		out, err := ChatEmbeddingsToGemini(&in, "text-embedding-004")
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["gemini_embeddings_to_chat"] = func(t *testing.T, c goldenCase) any {
		var o struct {
			EncodingFormat string `json:"encoding_format"`
			Inputs         int    `json:"inputs"`
		}
		mustDecode(t, c.Options, &o)
		var in gemini.BatchEmbedResponse
		mustDecode(t, c.In, &in)
		out, err := GeminiEmbeddingsToChat(&in, "text-embedding-004", o.EncodingFormat, o.Inputs)
		if err != nil {
			return errorResult(err)
		}
		return out
	}
}

// FuzzGeminiToOpenAIStream: whatever a Gemini upstream sends, the
// translator does not panic, and what it emits is a well-formed OpenAI
// stream (or a prefix of one), ending in [DONE] exactly when End says the
// source was complete.
func FuzzGeminiToOpenAIStream(f *testing.F) {
	seedStreams(f, "gemini_stream_to_chat")
	f.Fuzz(func(t *testing.T, stream []byte, includeUsage bool) {
		tr := NewGeminiToChatStream(GeminiToChatOptions{IncludeUsage: includeUsage, Created: created, Model: "m"})
		out := fuzzStream(t, stream, tr.Event)
		if err := checkOpenAIStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzGeminiToAnthropicStream: the same through the pivot, to an
// Anthropic stream.
func FuzzGeminiToAnthropicStream(f *testing.F) {
	seedStreams(f, "gemini_stream_to_messages")
	f.Fuzz(func(t *testing.T, stream []byte, _ bool) {
		tr := NewGeminiToMessagesStream("m")
		out := fuzzStream(t, stream, tr.Event)
		if err := checkAnthropicStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGeminiSSEBody: a streamGenerateContent?alt=sse body as Gemini
// writes it (CRLF line endings, "data: " lines, no end marker), read with
// sse.Reader as the gateway does, translates to a complete OpenAI stream
// with the final usage.
func TestGeminiSSEBody(t *testing.T) {
	body := "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 5,\"totalTokenCount\": 5},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}\r\n\r\n" +
		"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 5,\"candidatesTokenCount\": 2,\"totalTokenCount\": 7},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"abc\"}\r\n\r\n"
	tr := NewGeminiToChatStream(GeminiToChatOptions{IncludeUsage: true, Created: created})
	out := fuzzStream(t, []byte(body), tr.Event)
	end := tr.End()
	if err := checkOpenAIStream(out, end.Complete); err != nil || !end.Complete {
		t.Fatalf("complete=%v, %v", end.Complete, err)
	}
	if want := (Usage{InputTokens: 5, OutputTokens: 2}); end.Usage != want {
		t.Fatalf("usage %+v, want %+v", end.Usage, want)
	}
	if len(out) != 6 { // role, "Hel", "lo", finish, usage, [DONE]
		t.Fatalf("%d events: %q", len(out), out)
	}
}

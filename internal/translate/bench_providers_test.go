// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
	"github.com/warmgate/warmgate/sse"
)

// BenchmarkProviderRequest measures one request's translation to Gemini
// and to Bedrock, body to body, with the Claude Code-like request of
// BenchmarkRequest. The Anthropic ones go through OpenAI's form (the
// pivot): compare them with anthropic_to_openai in BenchmarkRequest.
func BenchmarkProviderRequest(b *testing.B) {
	for _, c := range []struct {
		name string
		body func(*testing.B) []byte
		f    func([]byte) ([]byte, error)
	}{
		{"openai_to_gemini", benchOpenAIRequest, ChatRequestBodyToGemini},
		{"anthropic_to_gemini", benchAnthropicRequest, MessagesRequestBodyToGemini},
		{"openai_to_bedrock", benchOpenAIRequest, ChatRequestBodyToConverse},
		{"anthropic_to_bedrock", benchAnthropicRequest, MessagesRequestBodyToConverse},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := c.body(b)
			b.SetBytes(int64(len(body)))
			loop(b, func() {
				if _, err := c.f(body); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// cycle is an endless reader repeating one byte string.
type cycle struct {
	b   []byte
	off int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.b[c.off:])
		n += k
		c.off = (c.off + k) % len(c.b)
	}
	return n, nil
}

// BenchmarkProviderStreamEvent measures one stream event's translation in
// the steady state of a stream: a Gemini text chunk (a whole
// GenerateContentResponse, as Gemini sends it), a Bedrock text delta and
// tool input delta, each to OpenAI and (through the pivot) to Anthropic;
// and bedrock/read_and_translate adds the event-stream decoding of each
// message (aws-sdk-go-v2's decoder, checksums included).
func BenchmarkProviderStreamEvent(b *testing.B) {
	nop := func(string, []byte) error { return nil }
	ev := func(name, data string) sse.Event { return sse.Event{Name: name, Data: []byte(data)} }
	geminiChunk := ev("", `{"candidates":[{"content":{"parts":[{"text":" the retry loop"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":15000,"totalTokenCount":15000},"modelVersion":"gemini-2.5-flash","responseId":"rsp_0123456789abcdef"}`)
	b.Run("gemini_to_openai/text_chunk", func(b *testing.B) {
		t := NewGeminiToChatStream(GeminiToChatOptions{IncludeUsage: true, Created: created, Model: "gemini-2.5-flash"})
		_ = t.Event(geminiChunk, nop)
		loop(b, func() {
			if err := t.Event(geminiChunk, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("gemini_to_anthropic/text_chunk", func(b *testing.B) {
		t := NewGeminiToMessagesStream("gemini-2.5-flash")
		_ = t.Event(geminiChunk, nop)
		loop(b, func() {
			if err := t.Event(geminiChunk, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	start := ev("messageStart", `{"p":"abcdefghij","role":"assistant"}`)
	text := ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" the retry loop"},"p":"abcdefghijklmnop"}`)
	toolStart := ev("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_1","name":"tool_03"}},"p":"abcd"}`)
	toolDelta := ev("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"path\": \"/repo"}},"p":"abcdefgh"}`)
	b.Run("bedrock_to_openai/text_delta", func(b *testing.B) {
		t := NewBedrockToChatStream(BedrockToChatOptions{IncludeUsage: true, ID: "chatcmpl-1", Created: created, Model: "anthropic.claude-sonnet-4-5"})
		_ = t.Event(start, nop)
		loop(b, func() {
			if err := t.Event(text, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("bedrock_to_openai/tool_input_delta", func(b *testing.B) {
		t := NewBedrockToChatStream(BedrockToChatOptions{ID: "chatcmpl-1", Created: created, Model: "anthropic.claude-sonnet-4-5"})
		_ = t.Event(start, nop)
		_ = t.Event(toolStart, nop)
		loop(b, func() {
			if err := t.Event(toolDelta, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("bedrock_to_anthropic/text_delta", func(b *testing.B) {
		t := NewBedrockToMessagesStream("msg_1", "anthropic.claude-sonnet-4-5")
		_ = t.Event(start, nop)
		loop(b, func() {
			if err := t.Event(text, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("bedrock/read_and_translate", func(b *testing.B) {
		var msg bytes.Buffer
		if err := bedrock.Encode(&msg, eventstream.NewEncoder(), text.Name, text.Data); err != nil {
			b.Fatal(err)
		}
		r := bedrock.NewReader(&cycle{b: msg.Bytes()}, 0)
		t := NewBedrockToChatStream(BedrockToChatOptions{ID: "chatcmpl-1", Created: created, Model: "anthropic.claude-sonnet-4-5"})
		_ = t.Event(start, nop)
		loop(b, func() {
			e, err := r.Next()
			if err != nil {
				b.Fatal(err)
			}
			if err := t.Event(e, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
}

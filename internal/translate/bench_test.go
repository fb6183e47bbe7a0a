// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// A Claude Code-like request: a 60 KB system prompt, 20 tools with real
// schemas, and a few turns with a tool call and its result.
func benchTools() []map[string]any {
	tools := make([]map[string]any, 20)
	for i := range tools {
		tools[i] = map[string]any{
			"name":        fmt.Sprintf("tool_%02d", i),
			"description": strings.Repeat("Does one precise thing with the workspace. ", 8),
			"schema": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"path":    map[string]any{"type": "string", "description": "Absolute path of the file"},
					"pattern": map[string]any{"type": "string", "description": "A regular expression"},
					"limit":   map[string]any{"type": "integer", "minimum": 1, "maximum": 1000},
					"flags":   map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"i", "m", "s"}}},
				},
				"required": []string{"path"},
			},
		}
	}
	return tools
}

func benchSystem() string {
	// Lines, quotes and tabs: the escapes a real prompt has.
	return strings.Repeat("You are a careful coding agent.\n\t- Follow the \"rules\" <exactly>.\n", 1100)[:60<<10]
}

func benchOpenAIRequest(b *testing.B) []byte {
	var tools []map[string]any
	for _, t := range benchTools() {
		tools = append(tools, map[string]any{"type": "function", "function": map[string]any{
			"name": t["name"], "description": t["description"], "parameters": t["schema"]}})
	}
	req := map[string]any{
		"model": "claude-sonnet-4-5", "stream": true, "stream_options": map[string]any{"include_usage": true},
		"max_completion_tokens": 8192, "tools": tools,
		"messages": []any{
			map[string]any{"role": "system", "content": benchSystem()},
			map[string]any{"role": "user", "content": "Find where the pool retries and explain it."},
			map[string]any{"role": "assistant", "content": "Let me search.", "tool_calls": []any{
				map[string]any{"id": "call_1", "type": "function", "function": map[string]any{"name": "tool_03", "arguments": `{"path":"/repo/upstream","pattern":"retry"}`}}}},
			map[string]any{"role": "tool", "tool_call_id": "call_1", "content": strings.Repeat("upstream/retry.go:42: func shouldRetry(...)\n", 40)},
			map[string]any{"role": "assistant", "content": "The retry loop is in pool.go; shouldRetry decides."},
			map[string]any{"role": "user", "content": "Now show me the backoff."},
		},
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchAnthropicRequest(b *testing.B) []byte {
	var tools []map[string]any
	for _, t := range benchTools() {
		tools = append(tools, map[string]any{"name": t["name"], "description": t["description"], "input_schema": t["schema"]})
	}
	req := map[string]any{
		"model": "claude-sonnet-4-5", "stream": true, "max_tokens": 8192, "tools": tools,
		"system": []any{map[string]any{"type": "text", "text": benchSystem(), "cache_control": map[string]any{"type": "ephemeral"}}},
		"messages": []any{
			map[string]any{"role": "user", "content": "Find where the pool retries and explain it."},
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "text", "text": "Let me search."},
				map[string]any{"type": "tool_use", "id": "toolu_1", "name": "tool_03", "input": map[string]any{"path": "/repo/upstream", "pattern": "retry"}}}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "tool_result", "tool_use_id": "toolu_1", "content": strings.Repeat("upstream/retry.go:42: func shouldRetry(...)\n", 40)}}},
			map[string]any{"role": "assistant", "content": "The retry loop is in pool.go; shouldRetry decides."},
			map[string]any{"role": "user", "content": "Now show me the backoff."},
		},
	}
	body, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// loop runs f in b.Loop and reports, besides the wall time, the process's
// CPU time per operation (cpu-ns/op): on a loaded machine wall time
// includes the waits for a core, CPU time much less so.
func loop(b *testing.B, f func()) {
	b.ReportAllocs()
	start, ok := processCPU()
	for b.Loop() {
		f()
	}
	if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkRequest measures one request's translation, body to body:
// decode, translate, encode. envelope is the baseline: what the gateway
// already pays per request to read the model and stream flag.
func BenchmarkRequest(b *testing.B) {
	b.Run("envelope", func(b *testing.B) {
		body := benchOpenAIRequest(b)
		b.SetBytes(int64(len(body)))
		loop(b, func() {
			var e openai.Envelope
			if err := json.Unmarshal(body, &e); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("openai_to_anthropic", func(b *testing.B) {
		body := benchOpenAIRequest(b)
		b.SetBytes(int64(len(body)))
		loop(b, func() {
			if _, err := ChatRequestBodyToMessages(body); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("anthropic_to_openai", func(b *testing.B) {
		body := benchAnthropicRequest(b)
		b.SetBytes(int64(len(body)))
		loop(b, func() {
			if _, err := MessagesRequestBodyToChat(body); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkStreamEvent measures one stream event's translation, in the
// steady state of a stream: a text delta and a tool call's argument
// fragment, each way.
func BenchmarkStreamEvent(b *testing.B) {
	nop := func(string, []byte) error { return nil }
	ev := func(name, data string) sse.Event { return sse.Event{Name: name, Data: []byte(data)} }
	b.Run("anthropic_to_openai/text_delta", func(b *testing.B) {
		t := NewMessagesToChatStream(MessagesToChatOptions{IncludeUsage: true, Created: created})
		_ = t.Event(ev("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`), nop)
		_ = t.Event(ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`), nop)
		delta := ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the retry loop"}}`)
		loop(b, func() {
			if err := t.Event(delta, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("anthropic_to_openai/input_json_delta", func(b *testing.B) {
		t := NewMessagesToChatStream(MessagesToChatOptions{Created: created})
		_ = t.Event(ev("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}`), nop)
		_ = t.Event(ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"tool_03","input":{}}}`), nop)
		delta := ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"/repo"}}`)
		loop(b, func() {
			if err := t.Event(delta, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("openai_to_anthropic/text_delta", func(b *testing.B) {
		t := NewChatToMessagesStream("gpt-4.1")
		_ = t.Event(ev("", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`), nop)
		delta := ev("", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":" the retry loop"},"finish_reason":null}]}`)
		loop(b, func() {
			if err := t.Event(delta, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("openai_to_anthropic/tool_arguments", func(b *testing.B) {
		t := NewChatToMessagesStream("gpt-4.1")
		_ = t.Event(ev("", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"tool_03","arguments":""}}]},"finish_reason":null}]}`), nop)
		delta := ev("", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\": \"/repo"}}]},"finish_reason":null}]}`)
		loop(b, func() {
			if err := t.Event(delta, nop); err != nil {
				b.Fatal(err)
			}
		})
	})
}

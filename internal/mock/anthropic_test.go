// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/anthropics/anthropic-sdk-go/v2/shared"
)

const mockKey = "sk-ant-mock-secret"

// sdk is the official Anthropic client pointed at s, with key and without
// its own retries (so that each fault shows).
func sdk(s *Server, key string, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithBaseURL(s.URL()), option.WithAPIKey(key),
		option.WithHTTPClient(s.Client()), option.WithMaxRetries(0),
	}, opts...)...)
}

func hello(stream bool) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 1024,
		System:   []anthropic.TextBlockParam{{Text: "You are a mock."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
	}
}

var weatherTool = anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
	Properties: map[string]any{"city": map[string]any{"type": "string"}, "days": map[string]any{"type": "integer"}},
	Required:   []string{"city", "days"},
}, "get_weather")

func TestAnthropicMessagesSDK(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		s := start(t, Options{TLS: tls, APIKey: mockKey})
		c := sdk(s, mockKey)
		ctx := t.Context()

		// Plain.
		msg, err := c.Messages.New(ctx, hello(false))
		if err != nil {
			t.Fatalf("tls=%v: Messages.New: %v", tls, err)
		}
		if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != content(defaultTokens) ||
			msg.StopReason != anthropic.StopReasonEndTurn || msg.Model != "claude-sonnet-4-5" || !strings.HasPrefix(msg.ID, "msg_") {
			t.Errorf("tls=%v: message %s", tls, msg.RawJSON())
		}
		if msg.Usage.InputTokens < 1 || msg.Usage.OutputTokens != defaultTokens {
			t.Errorf("tls=%v: usage %+v", tls, msg.Usage)
		}

		// Streamed: the events add up to the same message.
		stream := c.Messages.NewStreaming(ctx, hello(true))
		var acc anthropic.Message
		var types []string
		for stream.Next() {
			ev := stream.Current()
			types = append(types, ev.Type)
			if err := acc.Accumulate(ev); err != nil {
				t.Fatalf("tls=%v: Accumulate: %v", tls, err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("tls=%v: stream: %v", tls, err)
		}
		_ = stream.Close()
		if len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != anthropic.StopReasonEndTurn ||
			acc.Usage.OutputTokens != defaultTokens || acc.Usage.InputTokens != msg.Usage.InputTokens {
			t.Errorf("tls=%v: streamed message %s", tls, acc.RawJSON())
		}
		if types[0] != "message_start" || types[len(types)-1] != "message_stop" || types[len(types)-2] != "message_delta" {
			t.Errorf("tls=%v: event types %v", tls, types)
		}

		// Token counting.
		n, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-sonnet-4-5",
			System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: hello(false).System},
			Messages: hello(false).Messages})
		if err != nil || n.InputTokens != msg.Usage.InputTokens {
			t.Errorf("tls=%v: CountTokens = %v, %v; want %d as Messages.New's input_tokens", tls, n, err, msg.Usage.InputTokens)
		}

		// Models, Anthropic-shaped.
		m, err := c.Models.Get(ctx, "claude-haiku-4-5", anthropic.ModelGetParams{})
		if err != nil || m.ID != "claude-haiku-4-5" || m.DisplayName == "" {
			t.Errorf("tls=%v: Models.Get = %+v, %v", tls, m, err)
		}
	}
}

func TestAnthropicToolUseSDK(t *testing.T) {
	t.Parallel()
	s := start(t, Options{APIKey: mockKey, Tokens: 3})
	c := sdk(s, mockKey)
	ctx := t.Context()
	p := hello(false)
	p.Tools = []anthropic.ToolUnionParam{weatherTool}

	msg, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 2 || msg.Content[0].Type != "text" || msg.Content[1].Type != "tool_use" || msg.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("message %s", msg.RawJSON())
	}
	call := msg.Content[1]
	if call.Name != "get_weather" || !strings.HasPrefix(call.ID, "toolu_") || string(call.Input) != `{"city":"mock","days":1}` {
		t.Errorf("tool_use %s", call.RawJSON())
	}

	// Streamed: the input_json_delta pieces add up to the same input.
	stream := c.Messages.NewStreaming(ctx, p)
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if len(acc.Content) != 2 || acc.Content[1].Name != "get_weather" || string(acc.Content[1].Input) != string(call.Input) || acc.StopReason != anthropic.StopReasonToolUse {
		t.Errorf("streamed message %s", acc.RawJSON())
	}

	// A forced tool call has no text.
	forced := p
	forced.ToolChoice = anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{Name: "get_weather"}}
	if msg, err := c.Messages.New(ctx, forced); err != nil || len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" {
		t.Errorf("forced tool call: %v, %v", msg, err)
	}

	// The tool result turn gets a text answer.
	p.Messages = append(p.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(call.ID, "sunny", false)))
	final, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(final.Content) != 1 || final.Content[0].Type != "text" || final.StopReason != anthropic.StopReasonEndTurn {
		t.Errorf("answer to the tool result: %s", final.RawJSON())
	}
}

// TestAnthropicErrorsSDK: the SDK raises its typed error for each of the
// mock's Anthropic-shaped errors.
func TestAnthropicErrorsSDK(t *testing.T) {
	t.Parallel()
	s := start(t, Options{APIKey: mockKey})
	fault := func(spec string) option.RequestOption { return option.WithHeader(FaultHeader, spec) }
	for _, tt := range []struct {
		name       string
		key        string
		opt        option.RequestOption
		wantStatus int
		wantType   shared.ErrorType
	}{
		{"wrong key", "sk-ant-wrong", nil, 401, shared.ErrorTypeAuthenticationError},
		{"overloaded", mockKey, fault("status=529"), 529, shared.ErrorTypeOverloadedError},
		{"rate limited", mockKey, fault("status=429,retry_after=7"), 429, shared.ErrorTypeRateLimitError},
		{"permission", mockKey, fault("status=403"), 403, shared.ErrorTypePermissionError},
		{"not found", mockKey, fault("status=404"), 404, shared.ErrorTypeNotFoundError},
		{"server error", mockKey, fault("status=500"), 500, shared.ErrorTypeAPIError},
		{"invalid", mockKey, option.WithJSONSet("max_tokens", 0), 400, shared.ErrorTypeInvalidRequestError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []option.RequestOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			c := sdk(s, tt.key)
			_, err := c.Messages.New(t.Context(), hello(false), opts...)
			var ae *anthropic.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want *anthropic.Error", err, err)
			}
			if ae.StatusCode != tt.wantStatus || ae.Type() != tt.wantType || !strings.HasPrefix(ae.RequestID, "req_") {
				t.Errorf("status %d, type %q, request id %q; want %d, %q, req_…", ae.StatusCode, ae.Type(), ae.RequestID, tt.wantStatus, tt.wantType)
			}
			if strings.Contains(err.Error(), mockKey) {
				t.Error("the error shows the key")
			}
			if tt.wantStatus == 429 {
				h := ae.Response.Header
				if h.Get("Retry-After") != "7" || h.Get("Anthropic-Ratelimit-Requests-Remaining") != "0" {
					t.Errorf("429 headers: retry-after %q, anthropic-ratelimit-requests-remaining %q",
						h.Get("Retry-After"), h.Get("Anthropic-Ratelimit-Requests-Remaining"))
				}
			}
		})
	}
}

// TestAnthropicStreamFaults: a stream cut after some events fails in the
// SDK, and a stall delays the events after the first.
func TestAnthropicStreamFaults(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Tokens: 4})
	c := sdk(s, "any")
	stream := c.Messages.NewStreaming(t.Context(), hello(true), option.WithHeader(FaultHeader, "reset_after_chunks=3"))
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil || n > 3 {
		t.Errorf("cut stream: %d events, error %v; want at most 3 and an error", n, stream.Err())
	}
	_ = stream.Close()

	t0 := time.Now()
	resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/messages", `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		FaultHeader, "stall=150ms", "Anthropic-Version", "2023-06-01")
	if resp.StatusCode != 200 || time.Since(t0) < 150*time.Millisecond || !strings.HasSuffix(string(b), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
		t.Errorf("stalled stream: status %d after %v: %s", resp.StatusCode, time.Since(t0), b)
	}
}

// TestAnthropicStreamWireFormat: the exact events and framing of a stream
// with a text and a tool_use block, and no OpenAI [DONE].
func TestAnthropicStreamWireFormat(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Tokens: 2})
	body := `{"model":"claude-haiku-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}],` +
		`"tools":[{"name":"lookup","input_schema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}]}`
	resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/messages", body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type ev struct{ name, data string }
	var evs []ev
	for _, block := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(block, "\n")
		name, nok := strings.CutPrefix(name, "event: ")
		data, dok := strings.CutPrefix(data, "data: ")
		if !ok || !nok || !dok {
			t.Fatalf("malformed event %q in\n%s", block, b)
		}
		var typ struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(data), &typ); err != nil || typ.Type != name {
			t.Errorf("event %q: data type %q (%v)", name, typ.Type, err)
		}
		evs = append(evs, ev{name, data})
	}
	var names []string
	for _, e := range evs {
		names = append(names, e.name)
	}
	want := "message_start content_block_start ping content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("events\n %s\nwant\n %s", got, want)
	}
	for i, wantData := range map[int]string{
		1:  `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		2:  `{"type":"ping"}`,
		3:  `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word1"}}`,
		5:  `{"type":"content_block_stop","index":0}`,
		7:  `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`,
		8:  `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":\"mo"}}`,
		9:  `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ck\"}"}}`,
		12: `{"type":"message_stop"}`,
	} {
		if i < len(evs) && evs[i].data != wantData {
			t.Errorf("event %d: %s\nwant %s", i, evs[i].data, wantData)
		}
	}
	if !strings.Contains(evs[0].data, `"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`) ||
		!strings.Contains(evs[6].data, `"content_block":{"type":"tool_use","id":"toolu_mock`) || !strings.Contains(evs[6].data, `"name":"lookup","input":{}}`) ||
		!strings.HasPrefix(evs[11].data, `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":`) {
		t.Errorf("message_start %s\ntool block start %s\nmessage_delta %s", evs[0].data, evs[6].data, evs[11].data)
	}
	if strings.Contains(string(b), "[DONE]") {
		t.Error("an Anthropic stream ends with [DONE]")
	}
}

// TestAnthropicAuth: with a key, the Anthropic routes want x-api-key (or
// Bearer) and anthropic-version, and answer Anthropic's errors; OpenAI's
// routes want Bearer and answer OpenAI's. The key is never echoed.
func TestAnthropicAuth(t *testing.T) {
	t.Parallel()
	s := start(t, Options{APIKey: mockKey})
	msgs := `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	for _, tt := range []struct {
		name, path, body string
		hdr              []string
		wantStatus       int
		wantBody         string
	}{
		{"x-api-key", "/v1/messages", msgs, []string{"X-Api-Key", mockKey, "Anthropic-Version", "2023-06-01"}, 200, `"type":"message"`},
		{"bearer", "/v1/messages", msgs, []string{"Authorization", "Bearer " + mockKey, "Anthropic-Version", "2023-06-01"}, 200, `"type":"message"`},
		{"no key", "/v1/messages", msgs, []string{"Anthropic-Version", "2023-06-01"}, 401,
			`{"type":"error","error":{"type":"authentication_error","message":"x-api-key header is required"},"request_id":"req_mock`},
		{"wrong key", "/v1/messages/count_tokens", msgs, []string{"X-Api-Key", "sk-nope", "Anthropic-Version", "2023-06-01"}, 401,
			`"error":{"type":"authentication_error","message":"invalid x-api-key"}`},
		{"no version", "/v1/messages", msgs, []string{"X-Api-Key", mockKey}, 400,
			`"error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}`},
		{"anthropic models", "/v1/models", "", []string{"X-Api-Key", mockKey, "Anthropic-Version", "2023-06-01"}, 200, `"has_more":false`},
		{"anthropic models, wrong key", "/v1/models", "", []string{"X-Api-Key", "sk-nope", "Anthropic-Version", "2023-06-01"}, 401, `"authentication_error"`},
		{"openai models", "/v1/models", "", []string{"Authorization", "Bearer " + mockKey}, 200, `"object":"list"`},
		{"openai, x-api-key only", "/v1/chat/completions", chatBody, []string{"X-Api-Key", mockKey}, 401, `"code":"invalid_api_key"`},
		{"missing max_tokens", "/v1/messages", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, []string{"X-Api-Key", mockKey, "Anthropic-Version", "2023-06-01"}, 400,
			`"error":{"type":"invalid_request_error","message":"max_tokens: Field required"}`},
		{"wrong method", "/v1/messages", "", []string{"X-Api-Key", mockKey, "Anthropic-Version", "2023-06-01"}, 405, `{"type":"error","error":{"type":"invalid_request_error"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodPost
			if tt.body == "" {
				method = http.MethodGet
			}
			resp, b := call(t, s.Client(), method, s.URL()+tt.path, tt.body, tt.hdr...)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("%d %s\nwant %d with %s", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(string(b), mockKey) {
				t.Error("the answer echoes the key")
			}
		})
	}
}

// TestAnthropicOverloadThenRetry: the official SDK's own retry gets past
// two 529s (times=2), as a gateway's would.
func TestAnthropicOverloadThenRetry(t *testing.T) {
	t.Parallel()
	s := start(t, Options{APIKey: mockKey})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := sdk(s, mockKey, option.WithMaxRetries(2))
	msg, err := c.Messages.New(ctx, hello(false),
		option.WithHeader(FaultHeader, "status=529,times=2"), option.WithRequestTimeout(10*time.Second))
	if err != nil || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("after two 529s: %v, %v", msg, err)
	}
	if got := s.Stats().Requests; got != 3 {
		t.Errorf("%d requests at the mock, want 3", got)
	}
}

// TestAnthropicFaults: the faults of the OpenAI routes act on the
// Anthropic ones too: ttft, drop_idle, html, times, a server-wide spec.
func TestAnthropicFaults(t *testing.T) {
	t.Parallel()
	const msgs = `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	const streamed = `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	post := func(t *testing.T, s *Server, c *http.Client, body string, hdr ...string) (*http.Response, []byte, error) {
		resp, err := send(t.Context(), c, http.MethodPost, s.URL()+"/v1/messages", body, hdr...)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	t.Run("ttft", func(t *testing.T) {
		s := start(t, Options{})
		t0 := time.Now()
		resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/messages", streamed, FaultHeader, "ttft=200ms")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		evs, err := readEvents(resp.Body, t0)
		if err != nil || len(evs) == 0 || evs[0].at < 200*time.Millisecond {
			t.Errorf("events %v, %v: want the first after >= 200ms", evs, err)
		}
	})
	t.Run("drop_idle", func(t *testing.T) {
		s := start(t, Options{})
		c := s.Client()
		if resp, _, err := post(t, s, c, msgs, FaultHeader, "drop_idle=100ms,times=1"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("first request: %v, %v", resp, err)
		}
		time.Sleep(150 * time.Millisecond)
		if _, _, err := post(t, s, c, msgs, FaultHeader, "drop_idle=100ms,times=1"); err == nil {
			t.Error("a request on a connection idle for > 100ms was answered, want it dropped")
		}
	})
	t.Run("html", func(t *testing.T) {
		s := start(t, Options{})
		resp, b, err := post(t, s, s.Client(), msgs, FaultHeader, "html=1")
		if err != nil || resp.StatusCode != 502 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "502 Bad Gateway") {
			t.Errorf("%v, %v: %s", resp, err, b)
		}
	})
	t.Run("server-wide 529, twice", func(t *testing.T) {
		s := start(t, Options{Fault: "status=529,times=2"})
		for i, want := range []int{529, 529, 200} {
			resp, b, err := post(t, s, s.Client(), msgs)
			if err != nil || resp.StatusCode != want {
				t.Fatalf("request %d: %v, %v: %s; want %d", i, resp, err, b, want)
			}
			if want == 529 && !strings.Contains(string(b), `"type":"overloaded_error"`) {
				t.Errorf("529 body %s", b)
			}
		}
	})
}

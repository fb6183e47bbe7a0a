// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file builds the answers of Anthropic's Messages API: the shapes of
// api.anthropic.com's /v1/messages (plain and streamed), its token
// counting, its model list and its errors.

// ---- errors ----

type anthropicError struct {
	Type      string              `json:"type"` // "error"
	Error     anthropicErrorInner `json:"error"`
	RequestID string              `json:"request_id,omitempty"`
}

type anthropicErrorInner struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// anthropicErrorType is the error type Anthropic's API answers with status.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case statusOverloaded:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// statusOverloaded is Anthropic's 529: the API is over capacity.
const statusOverloaded = 529

func anthropicErrorBody(status int, typ, msg, requestID string) anthropicError {
	if typ == "" {
		typ = anthropicErrorType(status)
	}
	return anthropicError{Type: "error", Error: anthropicErrorInner{Type: typ, Message: msg}, RequestID: requestID}
}

// anthropicFaultError is the body of a status= fault on an Anthropic route,
// worded like Anthropic's own.
func anthropicFaultError(status int, requestID string) []byte {
	msg := fmt.Sprintf("Mock fault: %d %s.", status, http.StatusText(status))
	switch status {
	case statusOverloaded:
		msg = "Overloaded (mock fault)"
	case http.StatusTooManyRequests:
		msg = "This request would exceed the rate limit for your organization (mock fault). Please try again later."
	case http.StatusUnauthorized:
		msg = "invalid x-api-key (mock fault)"
	}
	return append(mustJSON(anthropicErrorBody(status, "", msg, requestID)), '\n')
}

// anthropicRequestsLimit is the request rate limit the anthropic-ratelimit-*
// headers advertise.
const anthropicRequestsLimit = 4000

// setAnthropicRateLimit sets the anthropic-ratelimit-requests-* headers
// Anthropic's API sends with every answer, for tests that they pass
// through a gateway.
func setAnthropicRateLimit(h http.Header, remaining int) {
	h.Set("Anthropic-Ratelimit-Requests-Limit", strconv.Itoa(anthropicRequestsLimit))
	h.Set("Anthropic-Ratelimit-Requests-Remaining", strconv.Itoa(remaining))
	h.Set("Anthropic-Ratelimit-Requests-Reset", time.Now().Add(time.Minute).UTC().Format(time.RFC3339))
}

// anthropicInvalid is Anthropic's 400 for a request it cannot take.
func anthropicInvalid(format string, args ...any) *apiError {
	return &apiError{anthropic: true, status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// ---- /v1/messages ----

type messagesRequest struct {
	Model         *string         `json:"model"`
	Messages      json.RawMessage `json:"messages"`
	System        json.RawMessage `json:"system"`
	MaxTokens     *int            `json:"max_tokens"`
	Stream        bool            `json:"stream"`
	Tools         []anthropicTool `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	StopSequences []string        `json:"stop_sequences"`
}

type anthropicTool struct {
	Type        string          `json:"type"` // "" or "custom" for a client tool; server tools have others
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type string `json:"type"` // auto, any, tool, none
	Name string `json:"name"`
}

type inputMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// messageObject is a Message, in Anthropic's field order.
type messageObject struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        messageUsage   `json:"usage"`
}

// contentBlock is a text or a tool_use block.
type contentBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

type messageUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// parseMessages validates the fields /v1/messages and count_tokens share,
// as Anthropic's API does, and returns the messages and the prompt's token
// estimate (system, messages and tools).
func parseMessages(body []byte, req *messagesRequest) ([]inputMessage, int, *apiError) {
	if err := json.Unmarshal(body, req); err != nil {
		return nil, 0, anthropicInvalid("There was an error parsing the body of your request (mock): %v", err)
	}
	if req.Model == nil {
		return nil, 0, anthropicInvalid("model: Field required")
	}
	var msgs []inputMessage
	if len(req.Messages) == 0 || string(req.Messages) == "null" {
		return nil, 0, anthropicInvalid("messages: Field required")
	}
	if err := json.Unmarshal(req.Messages, &msgs); err != nil {
		return nil, 0, anthropicInvalid("messages: Input should be a valid list")
	}
	if len(msgs) == 0 {
		return nil, 0, anthropicInvalid("messages: at least one message is required")
	}
	for i, m := range msgs {
		if m.Role != "user" && m.Role != "assistant" {
			return nil, 0, anthropicInvalid("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
	}
	for i, tl := range req.Tools {
		if tl.Name == "" {
			return nil, 0, anthropicInvalid("tools.%d.name: Field required", i)
		}
	}
	tools, _ := json.Marshal(req.Tools)
	return msgs, promptTokens(req.System) + promptTokens(req.Messages) + promptTokens(tools), nil
}

// endsWithToolResult reports whether the last message is the user's
// tool_result turn: the model then answers in text.
func endsWithToolResult(msgs []inputMessage) bool {
	last := msgs[len(msgs)-1]
	var blocks []struct {
		Type string `json:"type"`
	}
	if last.Role != "user" || json.Unmarshal(last.Content, &blocks) != nil {
		return false
	}
	return slices.ContainsFunc(blocks, func(b struct {
		Type string `json:"type"`
	}) bool {
		return b.Type == "tool_result"
	})
}

// pickTool returns the client tool the answer calls, and whether the
// request forces a tool call (tool_choice any or tool): nil when there is
// none to call, tool_choice is none, or the last turn is a tool result.
func pickTool(req *messagesRequest, msgs []inputMessage) (*anthropicTool, bool) {
	choice := toolChoice{Type: "auto"}
	if req.ToolChoice != nil {
		choice = *req.ToolChoice
	}
	if choice.Type == "none" || endsWithToolResult(msgs) {
		return nil, false
	}
	forced := choice.Type == "any" || choice.Type == "tool"
	for i := range req.Tools {
		t := &req.Tools[i]
		if (t.Type == "" || t.Type == "custom") && (choice.Type != "tool" || t.Name == choice.Name) {
			return t, forced
		}
	}
	return nil, false
}

// toolInput is a deterministic input for tool t: each required property of
// its input_schema gets a value of its type.
func toolInput(t *anthropicTool) []byte {
	var schema struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(t.InputSchema, &schema) // a schema we cannot read gets {}
	in := map[string]any{}
	for _, name := range schema.Required {
		var v any = "mock"
		switch typ, _ := schema.Properties[name].Type.(string); typ {
		case "integer", "number":
			v = 1
		case "boolean":
			v = true
		case "array":
			v = []any{}
		case "object":
			v = map[string]any{}
		case "null":
			v = nil
		}
		in[name] = v
	}
	return mustJSON(in)
}

// messages answers POST /v1/messages: a text block of Options.Tokens
// tokens (capped by max_tokens), and when the request has client tools a
// tool_use block calling the first (or the one tool_choice names) after
// it; a forced tool call (tool_choice any or tool) has no text, and an
// answer to a tool result calls no tool.
func (s *Server) messages(r *http.Request, body []byte) (reply, *apiError) {
	var req messagesRequest
	msgs, prompt, aerr := parseMessages(body, &req)
	if aerr != nil {
		return reply{}, aerr
	}
	if req.MaxTokens == nil {
		return reply{}, anthropicInvalid("max_tokens: Field required")
	}
	if *req.MaxTokens < 1 {
		return reply{}, anthropicInvalid("max_tokens: Input should be greater than or equal to 1")
	}
	n, finish := s.completionLength(req.MaxTokens)
	tool, forced := pickTool(&req, msgs)
	stop := "end_turn"
	if finish == "length" {
		stop, tool = "max_tokens", nil
	} else if tool != nil {
		stop = "tool_use"
	}
	withText := tool == nil || !forced
	if !withText {
		n = 0
	}
	var call contentBlock
	output := n
	if tool != nil {
		call = contentBlock{Type: "tool_use", ID: s.newID("toolu_"), Name: tool.Name, Input: toolInput(tool)}
		output += promptTokens(call.Input)
	}
	msg := messageObject{ID: s.newID("msg_"), Type: "message", Role: "assistant", Model: *req.Model,
		Content: []contentBlock{},
		Usage:   messageUsage{InputTokens: prompt, OutputTokens: output}}

	if !req.Stream {
		if withText {
			text := content(n)
			msg.Content = append(msg.Content, contentBlock{Type: "text", Text: &text})
		}
		if tool != nil {
			msg.Content = append(msg.Content, call)
		}
		msg.StopReason = &stop
		return reply{body: mustJSON(msg)}, nil
	}
	return reply{stream: true, noDone: true, events: messageEvents(msg, withText, n, tool != nil, call, stop)}, nil
}

// messageEvents is the stream of msg, in Anthropic's order: message_start,
// then each content block (content_block_start, a ping after the first,
// its deltas, content_block_stop), message_delta with the stop reason and
// the output tokens, message_stop.
func messageEvents(msg messageObject, withText bool, n int, withTool bool, call contentBlock, stop string) []event {
	ev := func(name string, v any, paced bool) event { return event{name: name, data: mustJSON(v), paced: paced} }
	output := msg.Usage.OutputTokens
	start := msg
	start.Usage.OutputTokens = 1 // what Anthropic's message_start says before any token
	events := []event{ev("message_start", struct {
		Type    string        `json:"type"`
		Message messageObject `json:"message"`
	}{"message_start", start}, false)}

	type blockStart struct {
		Type         string       `json:"type"`
		Index        int          `json:"index"`
		ContentBlock contentBlock `json:"content_block"`
	}
	type delta struct {
		Type        string  `json:"type"`
		Text        *string `json:"text,omitempty"`
		PartialJSON *string `json:"partial_json,omitempty"`
	}
	type blockDelta struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Delta delta  `json:"delta"`
	}
	type blockStop struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	ping := ev("ping", struct {
		Type string `json:"type"`
	}{"ping"}, false)

	index := 0
	if withText {
		empty := ""
		events = append(events, ev("content_block_start", blockStart{"content_block_start", index, contentBlock{Type: "text", Text: &empty}}, false), ping)
		for i := 1; i <= n; i++ {
			t := token(i)
			events = append(events, ev("content_block_delta", blockDelta{"content_block_delta", index, delta{Type: "text_delta", Text: &t}}, i > 1))
		}
		events = append(events, ev("content_block_stop", blockStop{"content_block_stop", index}, false))
		index++
	}
	if withTool {
		started := call
		started.Input = json.RawMessage("{}") // the input comes in input_json_delta pieces
		events = append(events, ev("content_block_start", blockStart{"content_block_start", index, started}, false))
		if !withText {
			events = append(events, ping)
		}
		for i, piece := range jsonPieces(string(call.Input)) {
			events = append(events, ev("content_block_delta", blockDelta{"content_block_delta", index, delta{Type: "input_json_delta", PartialJSON: &piece}}, i > 1))
		}
		events = append(events, ev("content_block_stop", blockStop{"content_block_stop", index}, false))
	}
	type messageDelta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	events = append(events,
		ev("message_delta", struct {
			Type  string       `json:"type"`
			Delta messageDelta `json:"delta"`
			Usage struct {
				OutputTokens int `json:"output_tokens"`
			} `json:"usage"`
		}{Type: "message_delta", Delta: messageDelta{StopReason: stop}, Usage: struct {
			OutputTokens int `json:"output_tokens"`
		}{output}}, false),
		ev("message_stop", struct {
			Type string `json:"type"`
		}{"message_stop"}, false))
	return events
}

// jsonPieces splits a tool input into the partial_json pieces of its
// input_json_delta events: an empty one first, as Anthropic's API sends,
// then pieces of up to 8 bytes, cut on character boundaries.
func jsonPieces(s string) []string {
	pieces := []string{""}
	for len(s) > 0 {
		n := min(8, len(s))
		for n < len(s) && !utf8Start(s[n]) {
			n++
		}
		pieces = append(pieces, s[:n])
		s = s[n:]
	}
	return pieces
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// ---- /v1/messages/count_tokens ----

// countTokens answers POST /v1/messages/count_tokens with the estimate of
// the prompt that /v1/messages would report as input_tokens.
func (s *Server) countTokens(r *http.Request, body []byte) (reply, *apiError) {
	var req messagesRequest
	_, prompt, aerr := parseMessages(body, &req)
	if aerr != nil {
		return reply{}, aerr
	}
	return reply{body: mustJSON(struct {
		InputTokens int `json:"input_tokens"`
	}{prompt})}, nil
}

// ---- /v1/models (with anthropic-version) ----

type anthropicModelObject struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

var anthropicModelList = []anthropicModelObject{
	{Type: "model", ID: "claude-opus-4-1", DisplayName: "Claude Opus 4.1", CreatedAt: "2025-08-05T00:00:00Z"},
	{Type: "model", ID: "claude-sonnet-4-5", DisplayName: "Claude Sonnet 4.5", CreatedAt: "2025-09-29T00:00:00Z"},
	{Type: "model", ID: "claude-haiku-4-5", DisplayName: "Claude Haiku 4.5", CreatedAt: "2025-10-15T00:00:00Z"},
}

func (s *Server) anthropicModels(*http.Request, []byte) (reply, *apiError) {
	list := anthropicModelList
	return reply{body: mustJSON(struct {
		Data    []anthropicModelObject `json:"data"`
		HasMore bool                   `json:"has_more"`
		FirstID string                 `json:"first_id"`
		LastID  string                 `json:"last_id"`
	}{list, false, list[0].ID, list[len(list)-1].ID})}, nil
}

func (s *Server) anthropicModel(r *http.Request, _ []byte) (reply, *apiError) {
	id := strings.TrimPrefix(r.URL.Path, "/v1/models/")
	for _, m := range anthropicModelList {
		if m.ID == id {
			return reply{body: mustJSON(m)}, nil
		}
	}
	return reply{}, &apiError{anthropic: true, status: http.StatusNotFound, msg: fmt.Sprintf("model: %s", id)}
}

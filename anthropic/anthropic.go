// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package anthropic holds the wire types of Anthropic's Messages API
// (POST /v1/messages) that warmgate needs to read, translate and answer
// requests in that dialect: the request, the answer, the stream events and
// the error body. Like package openai it is deliberately not an SDK: no
// client, no retries, only the JSON shapes.
//
// Fields the gateway does not use are not modelled; decoding into these
// types drops them. Code that must forward a body unchanged forwards its
// bytes, not a re-encoded value of these types.
package anthropic

import (
	"bytes"
	"encoding/json"

	"errors"
	"github.com/warmgate/warmgate/internal/jsonstring"
	"net/http"
	"strconv"
)

// Version is the anthropic-version header value these types follow.
const Version = "2023-06-01"

// Request is the body of POST /v1/messages.
type Request struct {
	Model    string    `json:"model"`
	System   System    `json:"system,omitzero"`
	Messages []Message `json:"messages"`
	// MaxTokens is required by the API.
	MaxTokens     int         `json:"max_tokens"`
	Tools         []Tool      `json:"tools,omitempty"`
	ToolChoice    *ToolChoice `json:"tool_choice,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	TopK          *int        `json:"top_k,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
	Metadata      *Metadata   `json:"metadata,omitempty"`
	// Thinking is the extended-thinking configuration, kept as sent:
	// {"type":"enabled","budget_tokens":N} or {"type":"disabled"}.
	Thinking json.RawMessage `json:"thinking,omitempty"`
}

// Metadata is the request's metadata object.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// System is the request's system prompt: on the wire either a string or an
// array of text blocks. Decoding a string gives one text block with
// FromString set, so that encoding gives the string back.
type System struct {
	Blocks     []ContentBlock
	FromString bool
}

// IsZero reports whether there is no system prompt (for omitzero).
func (s System) IsZero() bool { return len(s.Blocks) == 0 && !s.FromString }

// MarshalJSON encodes a string when FromString is set and there is one
// text block, else the array of blocks.
func (s System) MarshalJSON() ([]byte, error) {
	if s.FromString && len(s.Blocks) == 1 && s.Blocks[0].Type == BlockText {
		return jsonstring.Append(make([]byte, 0, len(s.Blocks[0].Text)+len(s.Blocks[0].Text)/8+2), s.Blocks[0].Text), nil
	}
	if s.Blocks == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(s.Blocks)
}

// UnmarshalJSON accepts a string or an array of blocks.
func (s *System) UnmarshalJSON(b []byte) error {
	s.Blocks, s.FromString = nil, false
	if isString(b) {
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		s.Blocks, s.FromString = []ContentBlock{{Type: BlockText, Text: t}}, true
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &s.Blocks)
}

// Message is one turn of the conversation.
type Message struct {
	Role    string  `json:"role"` // RoleUser or RoleAssistant
	Content Content `json:"content"`
}

// Roles of a Message.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Content is a message's content: on the wire either a string (one text
// block) or an array of blocks. Decoding a string gives one text block with
// FromString set; encoding then gives the string back.
type Content struct {
	Blocks     []ContentBlock
	FromString bool
}

// MarshalJSON encodes a string when FromString is set and there is one text
// block, else the array of blocks.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.FromString && len(c.Blocks) == 1 && c.Blocks[0].Type == BlockText {
		return jsonstring.Append(make([]byte, 0, len(c.Blocks[0].Text)+len(c.Blocks[0].Text)/8+2), c.Blocks[0].Text), nil
	}
	if c.Blocks == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(c.Blocks)
}

// UnmarshalJSON accepts a string or an array of blocks.
func (c *Content) UnmarshalJSON(b []byte) error {
	c.Blocks, c.FromString = nil, false
	if isString(b) {
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		c.Blocks, c.FromString = []ContentBlock{{Type: BlockText, Text: t}}, true
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &c.Blocks)
}

// Content block types.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockDocument         = "document"
)

// ContentBlock is one block of a message's content, of any type: the fields
// used depend on Type. Encoding writes exactly the fields of its type, so
// that a text block always carries "text" (even empty) and a tool_use block
// always carries "input". A block of a type not listed above (document,
// search_result, server tool blocks, ...) decodes with its Type and the
// fields it shares with these; translation refuses it by its Type.
type ContentBlock struct {
	Type string `json:"type"`

	Text string `json:"text"` // text

	Source *ImageSource `json:"source"` // image

	ID    string          `json:"id"`    // tool_use
	Name  string          `json:"name"`  // tool_use
	Input json.RawMessage `json:"input"` // tool_use: a JSON object

	ToolUseID string   `json:"tool_use_id"` // tool_result
	Content   *Content `json:"content"`     // tool_result: a string or text and image blocks
	IsError   bool     `json:"is_error"`    // tool_result

	Thinking  string `json:"thinking"`  // thinking
	Signature string `json:"signature"` // thinking
	Data      string `json:"data"`      // redacted_thinking

	// CacheControl is the block's cache_control, kept as sent.
	CacheControl json.RawMessage `json:"cache_control"`
}

// ImageSource is an image block's source.
type ImageSource struct {
	Type      string `json:"type"`                 // SourceBase64 or SourceURL
	MediaType string `json:"media_type,omitempty"` // base64: image/jpeg, image/png, image/gif, image/webp
	Data      string `json:"data,omitempty"`       // base64
	URL       string `json:"url,omitempty"`        // url
}

// Image source types.
const (
	SourceBase64 = "base64"
	SourceURL    = "url"
)

// MarshalJSON writes the fields of the block's type.
func (c ContentBlock) MarshalJSON() ([]byte, error) {
	cc := c.CacheControl
	switch c.Type {
	case BlockText:
		return json.Marshal(struct {
			Type         string          `json:"type"`
			Text         string          `json:"text"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{c.Type, c.Text, cc})
	case BlockImage:
		return json.Marshal(struct {
			Type         string          `json:"type"`
			Source       *ImageSource    `json:"source"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{c.Type, c.Source, cc})
	case BlockToolUse:
		in := c.Input
		if len(in) == 0 {
			in = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			Type         string          `json:"type"`
			ID           string          `json:"id"`
			Name         string          `json:"name"`
			Input        json.RawMessage `json:"input"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{c.Type, c.ID, c.Name, in, cc})
	case BlockToolResult:
		return json.Marshal(struct {
			Type         string          `json:"type"`
			ToolUseID    string          `json:"tool_use_id"`
			Content      *Content        `json:"content,omitempty"`
			IsError      bool            `json:"is_error,omitempty"`
			CacheControl json.RawMessage `json:"cache_control,omitempty"`
		}{c.Type, c.ToolUseID, c.Content, c.IsError, cc})
	case BlockThinking:
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{c.Type, c.Thinking, c.Signature})
	case BlockRedactedThinking:
		return json.Marshal(struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}{c.Type, c.Data})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{c.Type})
}

// Tool is one tool the model may call. A client tool has no Type (or
// "custom") and an InputSchema; a server tool (web search, bash, ...) has a
// versioned Type such as "web_search_20250305" and fields of its own that
// this type does not model.
type Tool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// ToolChoice is the request's tool_choice.
type ToolChoice struct {
	Type                   string `json:"type"`           // ToolChoiceAuto, ToolChoiceAny, ToolChoiceTool, ToolChoiceNone
	Name                   string `json:"name,omitempty"` // ToolChoiceTool
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// ToolChoice types.
const (
	ToolChoiceAuto = "auto"
	ToolChoiceAny  = "any"
	ToolChoiceTool = "tool"
	ToolChoiceNone = "none"
)

// Response is the answer to a non-streamed request, and the message of a
// stream's message_start event.
type Response struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"` // "message"
	Role         string         `json:"role"` // "assistant"
	Content      []ContentBlock `json:"content"`
	Model        string         `json:"model"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

// Stop reasons.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopSequence     = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
	StopContextLimit = "model_context_window_exceeded"
)

// Usage is the token accounting of an answer. InputTokens does not include
// the cached tokens: the prompt's size is InputTokens +
// CacheCreationInputTokens + CacheReadInputTokens. In a message_delta
// event, the counts are cumulative and only those present are meaningful.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens,omitempty"`
}

// Stream event types: each is both the SSE event name and the data's "type".
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Delta types of a content_block_delta event.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
)

// StreamEvent is the data of any stream event, decoded in one pass: Type
// says which fields are set.
//
//   - message_start: Message (content empty, stop_reason null, usage so far)
//   - content_block_start: Index, ContentBlock (text "", tool_use input {}, ...)
//   - content_block_delta: Index, Delta (Type text_delta, input_json_delta, ...)
//   - content_block_stop: Index
//   - message_delta: Delta (StopReason, StopSequence), Usage (cumulative)
//   - message_stop, ping: nothing
//   - error: Error
type StreamEvent struct {
	Type         string        `json:"type"`
	Message      *Response     `json:"message,omitempty"`
	Index        *int          `json:"index,omitempty"`
	ContentBlock *ContentBlock `json:"content_block,omitempty"`
	Delta        *Delta        `json:"delta,omitempty"`
	Usage        *Usage        `json:"usage,omitempty"`
	Error        *Error        `json:"error,omitempty"`
}

// Delta is the delta of a content_block_delta event (Type set) or of a
// message_delta event (Type empty; StopReason and StopSequence).
type Delta struct {
	Type         string  `json:"type"`
	Text         string  `json:"text"`          // text_delta
	PartialJSON  string  `json:"partial_json"`  // input_json_delta
	Thinking     string  `json:"thinking"`      // thinking_delta
	Signature    string  `json:"signature"`     // signature_delta
	StopReason   *string `json:"stop_reason"`   // message_delta
	StopSequence *string `json:"stop_sequence"` // message_delta
}

// MarshalJSON writes the fields of the delta's type; a delta without Type
// is a message_delta's and carries stop_reason and stop_sequence (null when
// unset).
func (d Delta) MarshalJSON() ([]byte, error) {
	switch d.Type {
	case "":
		return json.Marshal(struct {
			StopReason   *string `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		}{d.StopReason, d.StopSequence})
	case DeltaText:
		return json.Marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{d.Type, d.Text})
	case DeltaInputJSON:
		return json.Marshal(struct {
			Type        string `json:"type"`
			PartialJSON string `json:"partial_json"`
		}{d.Type, d.PartialJSON})
	case DeltaThinking:
		return json.Marshal(struct {
			Type     string `json:"type"`
			Thinking string `json:"thinking"`
		}{d.Type, d.Thinking})
	case DeltaSignature:
		return json.Marshal(struct {
			Type      string `json:"type"`
			Signature string `json:"signature"`
		}{d.Type, d.Signature})
	}
	return json.Marshal(struct {
		Type string `json:"type"`
	}{d.Type})
}

// Error is the inner object of an error body.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ErrorBody is an error answer, and the data of a stream's error event:
// {"type":"error","error":{"type":...,"message":...}}.
type ErrorBody struct {
	Type      string `json:"type"` // always "error"
	Error     Error  `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Error types, with the status each comes with (see [StatusForType]).
const (
	TypeInvalidRequest  = "invalid_request_error" // 400, and other 4xx
	TypeAuthentication  = "authentication_error"  // 401
	TypeBilling         = "billing_error"         // 402
	TypePermission      = "permission_error"      // 403
	TypeNotFound        = "not_found_error"       // 404
	TypeRequestTooLarge = "request_too_large"     // 413
	TypeRateLimit       = "rate_limit_error"      // 429
	TypeAPI             = "api_error"             // 500, and other 5xx
	TypeTimeout         = "timeout_error"         // 504
	TypeOverloaded      = "overloaded_error"      // 529
)

// StatusOverloaded is the status Anthropic answers overloaded_error with.
const StatusOverloaded = 529

// StatusForType returns the HTTP status that comes with an error type, or
// 0 for a type it does not know.
func StatusForType(typ string) int {
	switch typ {
	case TypeInvalidRequest:
		return http.StatusBadRequest
	case TypeAuthentication:
		return http.StatusUnauthorized
	case TypeBilling:
		return http.StatusPaymentRequired
	case TypePermission:
		return http.StatusForbidden
	case TypeNotFound:
		return http.StatusNotFound
	case TypeRequestTooLarge:
		return http.StatusRequestEntityTooLarge
	case TypeRateLimit:
		return http.StatusTooManyRequests
	case TypeAPI:
		return http.StatusInternalServerError
	case TypeTimeout:
		return http.StatusGatewayTimeout
	case TypeOverloaded:
		return StatusOverloaded
	}
	return 0
}

// TypeForStatus returns the error type for an HTTP status: the documented
// one where there is one, invalid_request_error for other 4xx, api_error
// for other statuses. 503 is overloaded_error: the service cannot take the
// request now, which is what Anthropic's 529 says.
func TypeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return TypeInvalidRequest
	case http.StatusUnauthorized:
		return TypeAuthentication
	case http.StatusPaymentRequired:
		return TypeBilling
	case http.StatusForbidden:
		return TypePermission
	case http.StatusNotFound:
		return TypeNotFound
	case http.StatusRequestEntityTooLarge:
		return TypeRequestTooLarge
	case http.StatusTooManyRequests:
		return TypeRateLimit
	case http.StatusGatewayTimeout:
		return TypeTimeout
	case http.StatusServiceUnavailable, StatusOverloaded:
		return TypeOverloaded
	}
	if status >= 400 && status < 500 {
		return TypeInvalidRequest
	}
	return TypeAPI
}

// NewError builds an error body.
func NewError(typ, message string) ErrorBody {
	return ErrorBody{Type: "error", Error: Error{Type: typ, Message: message}}
}

// WriteError writes an Anthropic-style error with the given status and
// request id (omitted when empty). It sets Content-Type and, when
// retryAfterSeconds > 0, Retry-After in whole seconds.
func WriteError(w http.ResponseWriter, status int, typ, message, requestID string, retryAfterSeconds int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if retryAfterSeconds > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	w.WriteHeader(status)
	e := NewError(typ, message)
	e.RequestID = requestID
	b, _ := json.Marshal(e)
	b = append(b, '\n')
	_, _ = w.Write(b)
}

// ParseError reads an error body. It fails unless the body is
// {"type":"error","error":{...}} with an error type.
func ParseError(b []byte) (ErrorBody, error) {
	var e ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		return ErrorBody{}, err
	}
	if e.Type != "error" || e.Error.Type == "" {
		return ErrorBody{}, errors.New("anthropic: not an error body")
	}
	return e, nil
}

// isString reports whether a JSON value is a string.
func isString(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '"'
}

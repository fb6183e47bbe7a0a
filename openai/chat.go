// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package openai

import (
	"bytes"
	"encoding/json"

	"github.com/warmgate/warmgate/internal/jsonstring"
)

// This file holds the chat completions wire types (POST /v1/chat/completions)
// that dialect translation needs: the request, the answer and the stream
// chunk. Fields the gateway does not use are not modelled.

// ChatRequest is the body of POST /v1/chat/completions.
type ChatRequest struct {
	Model    string        `json:"model"`
	Messages []ChatMessage `json:"messages"`

	MaxTokens           *int     `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int     `json:"max_completion_tokens,omitempty"`
	Temperature         *float64 `json:"temperature,omitempty"`
	TopP                *float64 `json:"top_p,omitempty"`
	N                   *int     `json:"n,omitempty"`
	Stop                Stop     `json:"stop,omitempty"`
	// Sampling fields only some upstream kinds take (Gemini); the others
	// drop them.
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`

	Stream        bool           `json:"stream,omitempty"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`

	Tools             []Tool      `json:"tools,omitempty"`
	ToolChoice        *ToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool       `json:"parallel_tool_calls,omitempty"`

	User string `json:"user,omitempty"`

	// Fields modelled only so that a translation can refuse them; they are
	// kept as sent.
	Logprobs         *bool           `json:"logprobs,omitempty"`
	TopLogprobs      *int            `json:"top_logprobs,omitempty"`
	Audio            json.RawMessage `json:"audio,omitempty"`
	Modalities       []string        `json:"modalities,omitempty"`
	ResponseFormat   json.RawMessage `json:"response_format,omitempty"`
	LogitBias        json.RawMessage `json:"logit_bias,omitempty"`
	Functions        json.RawMessage `json:"functions,omitempty"`
	FunctionCall     json.RawMessage `json:"function_call,omitempty"`
	WebSearchOptions json.RawMessage `json:"web_search_options,omitempty"`
}

// Stop is the request's stop: on the wire a string or an array of strings.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	if isJSONString(b) {
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*s = Stop{t}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Roles of a ChatMessage.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleFunction  = "function"
)

// ChatMessage is one message of a chat request, or the message of an answer.
type ChatMessage struct {
	Role       string         `json:"role"`
	Content    MessageContent `json:"content"`
	Name       string         `json:"name,omitempty"`
	Refusal    *string        `json:"refusal,omitempty"`
	ToolCalls  []ToolCall     `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
	// FunctionCall is the legacy single function call, kept as sent.
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
}

// MessageContent is a message's content: on the wire a string, an array of
// parts, or null. Decoding a string gives one text part with FromString set;
// encoding then gives the string back. No parts and no FromString is null.
type MessageContent struct {
	Parts      []ContentPart
	FromString bool
}

// TextContent returns content that encodes as the string s.
func TextContent(s string) MessageContent {
	return MessageContent{Parts: []ContentPart{{Type: PartText, Text: s}}, FromString: true}
}

// MarshalJSON encodes a string, an array of parts, or null.
func (c MessageContent) MarshalJSON() ([]byte, error) {
	if c.FromString && len(c.Parts) == 1 && c.Parts[0].Type == PartText {
		return jsonstring.Append(make([]byte, 0, len(c.Parts[0].Text)+len(c.Parts[0].Text)/8+2), c.Parts[0].Text), nil
	}
	if len(c.Parts) == 0 {
		return []byte("null"), nil
	}
	return json.Marshal(c.Parts)
}

// UnmarshalJSON accepts a string, an array of parts or null.
func (c *MessageContent) UnmarshalJSON(b []byte) error {
	c.Parts, c.FromString = nil, false
	if isJSONString(b) {
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*c = TextContent(t)
		return nil
	}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	return json.Unmarshal(b, &c.Parts)
}

// Content part types.
const (
	PartText       = "text"
	PartImageURL   = "image_url"
	PartInputAudio = "input_audio"
	PartFile       = "file"
	PartRefusal    = "refusal"
)

// ContentPart is one part of a message's content.
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`      // text
	ImageURL *ImageURL `json:"image_url,omitempty"` // image_url
	Refusal  string    `json:"refusal,omitempty"`   // refusal
}

// MarshalJSON always writes "text" for a text part, even empty.
func (p ContentPart) MarshalJSON() ([]byte, error) {
	if p.Type == PartText {
		return json.Marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{p.Type, p.Text})
	}
	type plain ContentPart
	return json.Marshal(plain(p))
}

// ImageURL is an image_url part's image: an http(s) URL or a data URL
// (data:image/png;base64,...).
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ToolCall is one tool call of an assistant message. In a stream chunk,
// Index says which call a fragment belongs to; ID, Type and Name come only
// on a call's first fragment.
type ToolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function a tool call calls. Arguments is a JSON
// object encoded as a string (in a stream, a fragment of it).
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Tool is one tool of a chat request.
type Tool struct {
	Type     string      `json:"type"` // "function"
	Function FunctionDef `json:"function"`
}

// FunctionDef describes a function tool. Parameters is a JSON schema.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is the request's tool_choice: on the wire a string ("auto",
// "none", "required": Mode) or an object naming a function
// ({"type":"function","function":{"name":...}}: Type and Name).
type ToolChoice struct {
	Mode string // string form
	Type string // object form
	Name string // object form, type "function"
}

// Tool choice modes.
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
)

type wireToolChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

// MarshalJSON writes the string form when Mode is set, else the object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Mode != "" {
		return json.Marshal(t.Mode)
	}
	var w wireToolChoice
	w.Type, w.Function.Name = t.Type, t.Name
	return json.Marshal(w)
}

// UnmarshalJSON accepts both forms.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	*t = ToolChoice{}
	if isJSONString(b) {
		return json.Unmarshal(b, &t.Mode)
	}
	var w wireToolChoice
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t.Type, t.Name = w.Type, w.Function.Name
	return nil
}

// Finish reasons.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
	FinishFunctionCall  = "function_call"
)

// ChatResponse is the answer to a non-streamed chat request.
type ChatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // "chat.completion"
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage,omitempty"`
}

// ChatChoice is one choice of an answer.
type ChatChoice struct {
	Index        int         `json:"index"`
	Message      ChatMessage `json:"message"`
	FinishReason *string     `json:"finish_reason"`
}

// ChatChunk is the data of one event of a streamed answer. The last chunk
// before [DONE], when the request asked for stream_options.include_usage,
// has no choices and the usage. A chunk with Error set is an error the
// upstream sent mid-stream.
type ChatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"` // "chat.completion.chunk"
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
	Error   *Error        `json:"error,omitempty"`
}

// ChunkChoice is one choice of a chunk.
type ChunkChoice struct {
	Index        int        `json:"index"`
	Delta        ChunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

// ChunkDelta is what a chunk adds to its choice's message.
type ChunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
	// ReasoningContent is the non-standard reasoning text some
	// OpenAI-compatible servers stream (DeepSeek, vLLM).
	ReasoningContent *string    `json:"reasoning_content,omitempty"`
	Refusal          *string    `json:"refusal,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// PromptTokensDetails breaks prompt_tokens down.
type PromptTokensDetails struct {
	// CachedTokens is the part of prompt_tokens read from the prompt cache.
	CachedTokens int `json:"cached_tokens"`
}

// isJSONString reports whether a JSON value is a string.
func isJSONString(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '"'
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package bedrock holds the wire types of AWS Bedrock Runtime's Converse
// and ConverseStream operations (POST /model/{modelId}/converse and
// /converse-stream) that dialect translation needs, their error body, and
// a [Reader] of ConverseStream's body, which is AWS event-stream binary
// framing decoded with aws-sdk-go-v2's eventstream package. Like package
// anthropic it is not an SDK: fields the gateway does not use are not
// modelled. Blobs (image bytes) are base64 strings, as on the wire.
//
// It is a package of its own, beside the translators that use it, so that
// the mock and the provider code can speak Bedrock without the
// translators; it is internal because its shape is not yet a public
// contract.
package bedrock

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Roles of a Message.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Request is the body of Converse and ConverseStream (the model id is in
// the path).
type Request struct {
	Messages        []Message        `json:"messages"`
	System          []SystemBlock    `json:"system,omitempty"`
	InferenceConfig *InferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig      *ToolConfig      `json:"toolConfig,omitempty"`
	// AdditionalModelRequestFields are model-specific fields (such as
	// Anthropic models' top_k), kept as sent.
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields,omitempty"`
}

// Message is one turn of the conversation.
type Message struct {
	Role    string         `json:"role"`
	Content []ContentBlock `json:"content"`
}

// ContentBlock is one block of a message: exactly one field is set. Text
// is a pointer so that an empty text block survives a round trip.
type ContentBlock struct {
	Text       *string     `json:"text,omitempty"`
	Image      *Image      `json:"image,omitempty"`
	ToolUse    *ToolUse    `json:"toolUse,omitempty"`
	ToolResult *ToolResult `json:"toolResult,omitempty"`
	// Blocks kept as sent: a model's reasoning, a document, a cache point,
	// a guardrail's content.
	ReasoningContent json.RawMessage `json:"reasoningContent,omitempty"`
	Document         json.RawMessage `json:"document,omitempty"`
	CachePoint       json.RawMessage `json:"cachePoint,omitempty"`
	GuardContent     json.RawMessage `json:"guardContent,omitempty"`
}

// TextBlock returns a text block.
func TextBlock(s string) ContentBlock { return ContentBlock{Text: &s} }

// Image formats.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatGIF  = "gif"
	FormatWEBP = "webp"
)

// Image is an image block: its format and its bytes (base64).
type Image struct {
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ImageSource holds an image's bytes, base64-encoded (or an S3 location,
// kept as sent).
type ImageSource struct {
	Bytes      string          `json:"bytes,omitempty"`
	S3Location json.RawMessage `json:"s3Location,omitempty"`
}

// ToolUse is a tool call of the model. Input is a JSON object.
type ToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// ToolResult is the result of a tool call. Status is "success" or "error"
// ("" for success).
type ToolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

// ToolResultContent is one block of a tool result: text or JSON (or an
// image or document, not modelled).
type ToolResultContent struct {
	Text *string         `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

// SystemBlock is one block of the system prompt.
type SystemBlock struct {
	Text       string          `json:"text,omitempty"`
	CachePoint json.RawMessage `json:"cachePoint,omitempty"`
}

// InferenceConfig holds the common sampling settings.
type InferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig holds the tools and the tool choice.
type ToolConfig struct {
	Tools      []Tool      `json:"tools"`
	ToolChoice *ToolChoice `json:"toolChoice,omitempty"`
}

// Tool is one tool: a tool spec (or a cache point, kept as sent).
type Tool struct {
	ToolSpec   *ToolSpec       `json:"toolSpec,omitempty"`
	CachePoint json.RawMessage `json:"cachePoint,omitempty"`
}

// ToolSpec describes a tool. InputSchema.JSON is a JSON Schema.
type ToolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema InputSchema `json:"inputSchema"`
}

// InputSchema wraps a tool's JSON Schema.
type InputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// ToolChoice is one of {"auto":{}}, {"any":{}} or {"tool":{"name":...}}.
type ToolChoice struct {
	Auto *struct{}      `json:"auto,omitempty"`
	Any  *struct{}      `json:"any,omitempty"`
	Tool *ToolChoiceFor `json:"tool,omitempty"`
}

// ToolChoiceFor names the tool the model must use.
type ToolChoiceFor struct {
	Name string `json:"name"`
}

// Stop reasons.
const (
	StopEndTurn             = "end_turn"
	StopToolUse             = "tool_use"
	StopMaxTokens           = "max_tokens"
	StopSequence            = "stop_sequence"
	StopGuardrailIntervened = "guardrail_intervened"
	StopContentFiltered     = "content_filtered"
	StopContextExceeded     = "model_context_window_exceeded"
)

// Response is the answer of Converse.
type Response struct {
	Output     Output          `json:"output"`
	StopReason string          `json:"stopReason"`
	Usage      Usage           `json:"usage"`
	Metrics    json.RawMessage `json:"metrics,omitempty"`
}

// Output holds the answer's message.
type Output struct {
	Message *Message `json:"message,omitempty"`
}

// Usage is the token accounting of an answer. InputTokens excludes the
// tokens read from and written to the prompt cache.
type Usage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
}

// ConverseStream event types (the :event-type header).
const (
	EventMessageStart      = "messageStart"
	EventContentBlockStart = "contentBlockStart"
	EventContentBlockDelta = "contentBlockDelta"
	EventContentBlockStop  = "contentBlockStop"
	EventMessageStop       = "messageStop"
	EventMetadata          = "metadata"
)

// ConverseStream exception types (the :exception-type header of an
// exception message).
const (
	ExceptionInternalServer     = "internalServerException"
	ExceptionModelStreamError   = "modelStreamErrorException"
	ExceptionValidation         = "validationException"
	ExceptionThrottling         = "throttlingException"
	ExceptionServiceUnavailable = "serviceUnavailableException"
)

// StreamEvent is the payload of any ConverseStream event; which fields are
// set depends on the event type. Bedrock pads events with a "p" field of
// random length, which is not modelled.
type StreamEvent struct {
	Role              string          `json:"role,omitempty"`              // messageStart
	ContentBlockIndex *int            `json:"contentBlockIndex,omitempty"` // contentBlock*
	Start             *BlockStart     `json:"start,omitempty"`             // contentBlockStart
	Delta             *BlockDelta     `json:"delta,omitempty"`             // contentBlockDelta
	StopReason        string          `json:"stopReason,omitempty"`        // messageStop
	Usage             *Usage          `json:"usage,omitempty"`             // metadata
	Metrics           json.RawMessage `json:"metrics,omitempty"`           // metadata
	Message           string          `json:"message,omitempty"`           // exceptions
}

// BlockStart starts a content block: a tool use (text blocks are not
// started, their deltas just come).
type BlockStart struct {
	ToolUse *ToolUseStart `json:"toolUse,omitempty"`
}

// ToolUseStart is the start of a tool use block.
type ToolUseStart struct {
	ToolUseID string `json:"toolUseId"`
	Name      string `json:"name"`
}

// BlockDelta is a piece of a content block: text, a fragment of a tool
// use's input JSON, or reasoning (kept as sent).
type BlockDelta struct {
	Text             *string         `json:"text,omitempty"`
	ToolUse          *ToolUseDelta   `json:"toolUse,omitempty"`
	ReasoningContent json.RawMessage `json:"reasoningContent,omitempty"`
}

// ToolUseDelta is a fragment of a tool use's input, a JSON text.
type ToolUseDelta struct {
	Input string `json:"input"`
}

// ErrorBody is Bedrock's HTTP error body; the error type is in the
// X-Amzn-ErrorType header (some answers also carry it in the body).
type ErrorBody struct {
	Message string `json:"message"`
	Type    string `json:"__type,omitempty"`
}

// ErrorTypeHeader is the header naming an HTTP error's type.
const ErrorTypeHeader = "X-Amzn-ErrorType"

// Error types of HTTP answers (and of stream exceptions, upper-cased).
const (
	ErrAccessDenied        = "AccessDeniedException"
	ErrValidation          = "ValidationException"
	ErrThrottling          = "ThrottlingException"
	ErrServiceQuota        = "ServiceQuotaExceededException"
	ErrResourceNotFound    = "ResourceNotFoundException"
	ErrModelTimeout        = "ModelTimeoutException"
	ErrModelNotReady       = "ModelNotReadyException"
	ErrModelError          = "ModelErrorException"
	ErrModelStreamError    = "ModelStreamErrorException"
	ErrServiceUnavailable  = "ServiceUnavailableException"
	ErrInternalServer      = "InternalServerException"
	ErrUnrecognizedClient  = "UnrecognizedClientException"
	ErrInvalidSignature    = "InvalidSignatureException"
	ErrExpiredToken        = "ExpiredTokenException"
	ErrIncompleteSignature = "IncompleteSignatureException"
)

// ErrorType returns an error's type, from the X-Amzn-ErrorType header
// value (which may carry ":" and a namespace after the name) or else from
// the body's __type (which may carry a "namespace#" before it), with the
// first letter upper-cased so that a stream exception's type
// (throttlingException) reads as the HTTP one (ThrottlingException).
func ErrorType(header string, body []byte) string {
	t := header
	if t == "" {
		var e ErrorBody
		if json.Unmarshal(body, &e) == nil {
			t = e.Type
		}
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	t = strings.TrimSpace(t)
	if t != "" && t[0] >= 'a' && t[0] <= 'z' {
		t = string(t[0]-'a'+'A') + t[1:]
	}
	return t
}

// HTTPStatus returns the status Bedrock answers an error type with, 0 for
// a type it does not know.
func HTTPStatus(typ string) int {
	switch typ {
	case ErrValidation, ErrServiceQuota:
		return http.StatusBadRequest
	case ErrAccessDenied, ErrUnrecognizedClient, ErrInvalidSignature, ErrExpiredToken, ErrIncompleteSignature:
		return http.StatusForbidden
	case ErrResourceNotFound:
		return http.StatusNotFound
	case ErrModelTimeout:
		return http.StatusRequestTimeout
	case ErrModelError, ErrModelStreamError:
		return http.StatusFailedDependency
	case ErrThrottling, ErrModelNotReady:
		return http.StatusTooManyRequests
	case ErrInternalServer:
		return http.StatusInternalServerError
	case ErrServiceUnavailable:
		return http.StatusServiceUnavailable
	}
	return 0
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package gemini holds the wire types of Google's Gemini API (v1beta,
// generativelanguage.googleapis.com) that dialect translation needs:
// generateContent and streamGenerateContent (?alt=sse) requests and
// answers, embedContent and batchEmbedContents, and the error body. Like
// package anthropic it is not an SDK: fields the gateway does not use are
// not modelled. Field names follow the API's JSON (lowerCamelCase).
//
// It is a package of its own, beside the translators that use it, so that
// the mock and the provider code can speak Gemini without the translators;
// it is internal because its shape is not yet a public contract.
package gemini

import (
	"encoding/json"
	"net/http"
)

// Roles of a Content.
const (
	RoleUser  = "user"
	RoleModel = "model"
)

// Request is the body of POST /v1beta/models/{model}:generateContent and
// :streamGenerateContent. The model is in the path, not the body.
type Request struct {
	Contents          []Content         `json:"contents"`
	SystemInstruction *Content          `json:"systemInstruction,omitempty"`
	Tools             []Tool            `json:"tools,omitempty"`
	ToolConfig        *ToolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *GenerationConfig `json:"generationConfig,omitempty"`
	SafetySettings    []SafetySetting   `json:"safetySettings,omitempty"`
	// CachedContent names a cached content (cachedContents/...), kept as sent.
	CachedContent string `json:"cachedContent,omitempty"`
}

// Content is one turn of a conversation (role user or model), or the
// system instruction (no role), or a candidate's answer.
type Content struct {
	Role  string `json:"role,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one part of a Content: exactly one of its data fields is set.
type Part struct {
	Text             string            `json:"text,omitempty"`
	InlineData       *Blob             `json:"inlineData,omitempty"`
	FileData         *FileData         `json:"fileData,omitempty"`
	FunctionCall     *FunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *FunctionResponse `json:"functionResponse,omitempty"`
	// Thought marks a part of the model's reasoning (a thinking model's
	// thought summary); ThoughtSignature is the opaque signature a thinking
	// model attaches to a part.
	Thought          bool   `json:"thought,omitempty"`
	ThoughtSignature string `json:"thoughtSignature,omitempty"`
}

// Blob is inline data: a media type and base64 bytes.
type Blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// FileData is data at a URI (an uploaded file, or a public URL the API can
// fetch), with its media type.
type FileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

// FunctionCall is a call the model asks for. Args is a JSON object. ID is
// set by newer models; older ones leave it empty.
type FunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// FunctionResponse is the result of a function call, sent back by the
// client. Response is a JSON object.
type FunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

// Tool is one tool of a request; only function declarations are modelled.
type Tool struct {
	FunctionDeclarations []FunctionDeclaration `json:"functionDeclarations,omitempty"`
}

// FunctionDeclaration describes a function the model may call.
// ParametersJSONSchema is a JSON Schema, as sent (the API's
// parametersJsonSchema, which takes JSON Schema as is, unlike parameters,
// which takes only an OpenAPI subset).
type FunctionDeclaration struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
}

// ToolConfig is the request's tool configuration.
type ToolConfig struct {
	FunctionCallingConfig *FunctionCallingConfig `json:"functionCallingConfig,omitempty"`
}

// Function calling modes.
const (
	ModeAuto = "AUTO"
	ModeAny  = "ANY"
	ModeNone = "NONE"
)

// FunctionCallingConfig says whether and which functions the model may
// call. AllowedFunctionNames is only for mode ANY.
type FunctionCallingConfig struct {
	Mode                 string   `json:"mode,omitempty"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

// GenerationConfig holds the sampling and output settings.
type GenerationConfig struct {
	Temperature      *float64 `json:"temperature,omitempty"`
	TopP             *float64 `json:"topP,omitempty"`
	TopK             *int     `json:"topK,omitempty"`
	MaxOutputTokens  *int     `json:"maxOutputTokens,omitempty"`
	StopSequences    []string `json:"stopSequences,omitempty"`
	CandidateCount   *int     `json:"candidateCount,omitempty"`
	ResponseMimeType string   `json:"responseMimeType,omitempty"`
	// ResponseJSONSchema is the JSON Schema of a structured answer (with
	// ResponseMimeType application/json).
	ResponseJSONSchema json.RawMessage `json:"responseJsonSchema,omitempty"`
	PresencePenalty    *float64        `json:"presencePenalty,omitempty"`
	FrequencyPenalty   *float64        `json:"frequencyPenalty,omitempty"`
	Seed               *int64          `json:"seed,omitempty"`
}

// SafetySetting sets the blocking threshold of one harm category.
type SafetySetting struct {
	Category  string `json:"category"`
	Threshold string `json:"threshold"`
}

// Response is the answer of generateContent, and each chunk of
// streamGenerateContent.
type Response struct {
	Candidates     []Candidate     `json:"candidates,omitempty"`
	PromptFeedback *PromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *UsageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion,omitempty"`
	ResponseID     string          `json:"responseId,omitempty"`
}

// Candidate is one answer of the model.
type Candidate struct {
	Content       *Content       `json:"content,omitempty"`
	FinishReason  string         `json:"finishReason,omitempty"`
	Index         int            `json:"index,omitempty"`
	SafetyRatings []SafetyRating `json:"safetyRatings,omitempty"`
	FinishMessage string         `json:"finishMessage,omitempty"`
}

// Finish reasons of a Candidate.
const (
	FinishStop               = "STOP"
	FinishMaxTokens          = "MAX_TOKENS"
	FinishSafety             = "SAFETY"
	FinishRecitation         = "RECITATION"
	FinishLanguage           = "LANGUAGE"
	FinishOther              = "OTHER"
	FinishBlocklist          = "BLOCKLIST"
	FinishProhibitedContent  = "PROHIBITED_CONTENT"
	FinishSPII               = "SPII"
	FinishMalformedCall      = "MALFORMED_FUNCTION_CALL"
	FinishImageSafety        = "IMAGE_SAFETY"
	FinishUnexpectedToolCall = "UNEXPECTED_TOOL_CALL"
)

// SafetyRating is the probability of harm of one category.
type SafetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

// PromptFeedback says why a prompt was blocked (BlockReason: SAFETY,
// OTHER, BLOCKLIST, PROHIBITED_CONTENT, IMAGE_SAFETY); a blocked prompt's
// answer has no candidates.
type PromptFeedback struct {
	BlockReason   string         `json:"blockReason,omitempty"`
	SafetyRatings []SafetyRating `json:"safetyRatings,omitempty"`
}

// UsageMetadata is the token accounting of an answer. PromptTokenCount
// includes CachedContentTokenCount; TotalTokenCount is prompt +
// candidates + thoughts (+ tool use prompt) tokens.
type UsageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount,omitempty"`
	CandidatesTokenCount    int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int `json:"totalTokenCount,omitempty"`
	CachedContentTokenCount int `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount,omitempty"`
	ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount,omitempty"`
}

// EmbedRequest is the body of POST /v1beta/models/{model}:embedContent,
// and one request of batchEmbedContents (where Model, "models/NAME", is
// required).
type EmbedRequest struct {
	Model                string  `json:"model,omitempty"`
	Content              Content `json:"content"`
	TaskType             string  `json:"taskType,omitempty"`
	Title                string  `json:"title,omitempty"`
	OutputDimensionality *int    `json:"outputDimensionality,omitempty"`
}

// EmbedResponse is the answer of embedContent.
type EmbedResponse struct {
	Embedding Embedding `json:"embedding"`
}

// Embedding is one embedding vector.
type Embedding struct {
	Values []float64 `json:"values"`
}

// BatchEmbedRequest is the body of POST
// /v1beta/models/{model}:batchEmbedContents.
type BatchEmbedRequest struct {
	Requests []EmbedRequest `json:"requests"`
}

// BatchEmbedResponse is the answer of batchEmbedContents, one embedding
// per request, in order.
type BatchEmbedResponse struct {
	Embeddings []Embedding `json:"embeddings"`
}

// Error statuses (google.rpc.Code names) and the HTTP status each comes with.
const (
	StatusInvalidArgument    = "INVALID_ARGUMENT"
	StatusFailedPrecondition = "FAILED_PRECONDITION"
	StatusOutOfRange         = "OUT_OF_RANGE"
	StatusUnauthenticated    = "UNAUTHENTICATED"
	StatusPermissionDenied   = "PERMISSION_DENIED"
	StatusNotFound           = "NOT_FOUND"
	StatusAlreadyExists      = "ALREADY_EXISTS"
	StatusAborted            = "ABORTED"
	StatusResourceExhausted  = "RESOURCE_EXHAUSTED"
	StatusCancelled          = "CANCELLED"
	StatusInternal           = "INTERNAL"
	StatusUnknown            = "UNKNOWN"
	StatusUnavailable        = "UNAVAILABLE"
	StatusDeadlineExceeded   = "DEADLINE_EXCEEDED"
	StatusUnimplemented      = "UNIMPLEMENTED"
)

// ErrorBody is Gemini's error answer: {"error":{"code","message","status"}}.
// Details are kept as sent.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is the error of an ErrorBody. Code is the HTTP status.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Details json.RawMessage `json:"details,omitempty"`
}

// HTTPStatus returns the HTTP status Google's APIs answer a status with
// (the google.rpc.Code mapping), 0 for a status it does not know.
func HTTPStatus(status string) int {
	switch status {
	case StatusInvalidArgument, StatusFailedPrecondition, StatusOutOfRange:
		return http.StatusBadRequest
	case StatusUnauthenticated:
		return http.StatusUnauthorized
	case StatusPermissionDenied:
		return http.StatusForbidden
	case StatusNotFound:
		return http.StatusNotFound
	case StatusAlreadyExists, StatusAborted:
		return http.StatusConflict
	case StatusResourceExhausted:
		return http.StatusTooManyRequests
	case StatusCancelled:
		return 499
	case StatusInternal, StatusUnknown:
		return http.StatusInternalServerError
	case StatusUnimplemented:
		return http.StatusNotImplemented
	case StatusUnavailable:
		return http.StatusServiceUnavailable
	case StatusDeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return 0
}

// StatusFor returns the status name Google's APIs use for an HTTP status.
func StatusFor(code int) string {
	switch code {
	case http.StatusBadRequest:
		return StatusInvalidArgument
	case http.StatusUnauthorized:
		return StatusUnauthenticated
	case http.StatusForbidden:
		return StatusPermissionDenied
	case http.StatusNotFound:
		return StatusNotFound
	case http.StatusConflict:
		return StatusAborted
	case http.StatusTooManyRequests:
		return StatusResourceExhausted
	case http.StatusNotImplemented:
		return StatusUnimplemented
	case http.StatusServiceUnavailable:
		return StatusUnavailable
	case http.StatusGatewayTimeout:
		return StatusDeadlineExceeded
	}
	if code >= 400 && code < 500 {
		return StatusFailedPrecondition
	}
	return StatusInternal
}

// NewError builds an error body for an HTTP status.
func NewError(code int, message string) ErrorBody {
	return ErrorBody{Error: Error{Code: code, Message: message, Status: StatusFor(code)}}
}

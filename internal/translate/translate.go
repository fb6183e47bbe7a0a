// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package translate converts between OpenAI's chat completions dialect
// (package openai) and Anthropic's Messages dialect (package anthropic):
// requests, answers, stream events and errors, both ways. It is pure: no I/O,
// no clock, no randomness, so every translation is a golden test.
//
// Requests:
//   - [ChatRequestToMessages]: an OpenAI client's request for an Anthropic upstream.
//   - [MessagesRequestToChat]: an Anthropic client's request for an OpenAI-compatible upstream.
//
// Answers: [MessagesResponseToChat] and [ChatResponseToMessages].
//
// A gateway holds bodies: [ChatRequestBodyToMessages],
// [MessagesRequestBodyToChat], [MessagesResponseBodyToChat] and
// [ChatResponseBodyToMessages] decode, translate and encode in one call.
//
// Streams, event by event, by stateful translators that a gateway drives
// from [sse.Reader] events: [MessagesToChatStream] (Anthropic events in,
// OpenAI chunks out) and [ChatToMessagesStream] (OpenAI chunks in,
// Anthropic events out). Neither ever completes a stream its source did not
// complete: End says whether the source ended properly.
//
// Errors: [MessagesErrorToChat] and [ChatErrorToMessages] turn an upstream
// error answer into the client's dialect.
//
// What one dialect cannot express is either refused with a [*RequestError]
// (the gateway answers 400 invalid_request_error in the client's dialect) or
// dropped as documented on each function; nothing is silently changed.
// docs/providers.md has the whole table.
//
// Two upstream dialects are translated to from both client dialects, with
// OpenAI's form as the pivot for Anthropic clients (each Anthropic
// function composes the Anthropic ⇄ OpenAI and OpenAI ⇄ upstream ones):
//   - Gemini (wire types in package gemini): [ChatRequestToGemini],
//     [MessagesRequestToGemini], [GeminiResponseToChat],
//     [GeminiResponseToMessages], the streams [GeminiToChatStream] and
//     [NewGeminiToMessagesStream], embeddings [ChatEmbeddingsToGemini] and
//     [GeminiEmbeddingsToChat], errors [GeminiErrorToChat] and
//     [GeminiErrorToMessages].
//   - Bedrock Converse (wire types and the event-stream reader in package
//     bedrock): [ChatRequestToConverse], [MessagesRequestToConverse],
//     [ConverseResponseToChat], [ConverseResponseToMessages], the streams
//     [BedrockToChatStream] and [NewBedrockToMessagesStream] (fed by a
//     bedrock.Reader), errors [BedrockErrorToChat] and
//     [BedrockErrorToMessages].
package translate

import (
	"encoding/json"
	"fmt"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
)

// DefaultMaxTokens is the max_tokens sent to Anthropic when an OpenAI
// request sets neither max_tokens nor max_completion_tokens: Anthropic
// requires the field, and 4096 is the largest output every Claude model
// accepts (the smallest models' limit), so it never makes a request fail.
const DefaultMaxTokens = 4096

// RequestError is a request that cannot be translated to the upstream's
// dialect: a field or value the other side cannot express. The gateway
// answers it with 400 invalid_request_error in the client's dialect, with
// Error() as the message.
type RequestError struct {
	// Param names the offending field as the client sent it, e.g. "n" or
	// "messages[2].content[0]".
	Param string
	// Reason says what is wrong and what to do instead.
	Reason string
}

// Error returns "param: reason", the message for the client.
func (e *RequestError) Error() string {
	if e.Param == "" {
		return e.Reason
	}
	return e.Param + ": " + e.Reason
}

func refuse(param, format string, args ...any) error {
	return &RequestError{Param: param, Reason: fmt.Sprintf(format, args...)}
}

// AnswerError is an upstream answer (a body or a stream event) that cannot
// be translated: not valid in its own dialect, or holding something the
// client's dialect cannot carry. The gateway treats it as an upstream
// failure (502 before the answer began, an error event and an aborted
// stream after).
type AnswerError struct {
	Reason string
}

// Error says that the answer cannot be translated, and why.
func (e *AnswerError) Error() string { return "upstream answer cannot be translated: " + e.Reason }

func badAnswer(format string, args ...any) error {
	return &AnswerError{Reason: fmt.Sprintf(format, args...)}
}

// StreamError is an error event the upstream sent mid-stream, translated
// into the client's dialect. The gateway writes Body as the data of an
// "error" event, then aborts the stream; Status is what the error would
// have been as a status code (for logs and metrics).
type StreamError struct {
	Status  int
	Type    string // the error type in the client's dialect
	Message string
	Body    []byte // the error body in the client's dialect
}

// Error says that the upstream sent an error event, with its type and message.
func (e *StreamError) Error() string {
	return fmt.Sprintf("upstream sent an error event mid-stream: %s: %s", e.Type, e.Message)
}

// Usage is the token accounting of one answer, in Anthropic's terms, which
// are the finer ones: InputTokens excludes the cached prompt tokens.
type Usage struct {
	InputTokens         int `json:"input_tokens"`          // prompt tokens neither read from nor written to the cache
	CacheReadTokens     int `json:"cache_read_tokens"`     // prompt tokens read from the cache
	CacheCreationTokens int `json:"cache_creation_tokens"` // prompt tokens written to the cache
	OutputTokens        int `json:"output_tokens"`
}

// UsageFromAnthropic reads Anthropic's usage.
func UsageFromAnthropic(u anthropic.Usage) Usage {
	return Usage{
		InputTokens:         u.InputTokens,
		CacheReadTokens:     u.CacheReadInputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
		OutputTokens:        u.OutputTokens,
	}
}

// UsageFromOpenAI reads OpenAI's usage: prompt_tokens_details.cached_tokens
// become CacheReadTokens and the rest of prompt_tokens InputTokens. OpenAI
// does not report cache writes, so CacheCreationTokens is 0.
func UsageFromOpenAI(u openai.Usage) Usage {
	cached := 0
	if u.PromptTokensDetails != nil {
		cached = min(max(u.PromptTokensDetails.CachedTokens, 0), max(u.PromptTokens, 0))
	}
	return Usage{InputTokens: u.PromptTokens - cached, CacheReadTokens: cached, OutputTokens: u.CompletionTokens}
}

// OpenAI returns the usage in OpenAI's terms. prompt_tokens counts the whole
// prompt: input_tokens + cache_read_input_tokens + cache_creation_input_tokens
// (OpenAI's prompt_tokens includes cached tokens, Anthropic's input_tokens
// does not). prompt_tokens_details.cached_tokens is cache_read_input_tokens:
// the tokens read from the cache; tokens written to it are billed as input
// by OpenAI's reckoning and have no field of their own. completion_tokens is
// output_tokens; total_tokens is prompt_tokens + completion_tokens.
func (u Usage) OpenAI() openai.Usage {
	p := u.InputTokens + u.CacheReadTokens + u.CacheCreationTokens
	return openai.Usage{
		PromptTokens:        p,
		CompletionTokens:    u.OutputTokens,
		TotalTokens:         p + u.OutputTokens,
		PromptTokensDetails: &openai.PromptTokensDetails{CachedTokens: u.CacheReadTokens},
	}
}

// Anthropic returns the usage in Anthropic's terms.
func (u Usage) Anthropic() anthropic.Usage {
	return anthropic.Usage{
		InputTokens:              u.InputTokens,
		OutputTokens:             u.OutputTokens,
		CacheCreationInputTokens: u.CacheCreationTokens,
		CacheReadInputTokens:     u.CacheReadTokens,
	}
}

// StreamResult is what a stream translator saw, as returned by End.
type StreamResult struct {
	// Complete is true when the source stream ended properly: Anthropic's
	// message_stop, or OpenAI's [DONE]. The translator then emitted the
	// client's end of stream too. When false, the gateway must report the
	// stream as incomplete (an error event, an aborted response); the
	// translator never emits an end the source did not send.
	Complete bool `json:"complete"`
	// Usage is the last usage the source reported; UsageSeen says whether
	// it reported any.
	Usage     Usage `json:"usage"`
	UsageSeen bool  `json:"usage_seen"`
}

// isSet reports whether a kept-as-sent JSON value is present and not null.
func isSet(b json.RawMessage) bool {
	return len(b) > 0 && string(b) != "null"
}

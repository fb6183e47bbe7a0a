// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package openai holds the few OpenAI wire types that warmgate needs to route
// and account for a request without decoding or re-encoding the whole body.
// It is deliberately not an SDK.
package openai

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Envelope is the part of a request body that routing needs. Decoding into it
// skips every other field, so the body itself is forwarded byte for byte.
type Envelope struct {
	Model         string         `json:"model"`
	Stream        bool           `json:"stream"`
	StreamOptions *StreamOptions `json:"stream_options,omitempty"`
}

// StreamOptions mirrors the request's stream_options object.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Usage is the token accounting an upstream reports in a response or in the
// final chunk of a stream.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// PromptTokensDetails, when the upstream sends it, says how much of
	// the prompt came from the prompt cache.
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

// Error is the body of an OpenAI-style error: {"error":{...}}.
type Error struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// ErrorBody wraps Error the way the API does.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error types used by warmgate, following the names OpenAI uses.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeServer         = "server_error"
)

// NewError builds an error body. code may be empty, in which case it is null.
func NewError(typ, code, message string) ErrorBody {
	e := ErrorBody{Error: Error{Message: message, Type: typ}}
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

// WriteError writes an OpenAI-style error with the given status. It sets
// Content-Type and, for 429 and 503 with retryAfter > 0, Retry-After in
// whole seconds.
func WriteError(w http.ResponseWriter, status int, typ, code, message string, retryAfterSeconds int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if retryAfterSeconds > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(NewError(typ, code, message))
	b = append(b, '\n')
	_, _ = w.Write(b)
}

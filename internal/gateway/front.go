// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// A front is the dialect a route's clients speak, as far as the gateway
// itself reads and writes it: where the client's key is, how the gateway's
// own errors look (as an answer, and as an event once a stream began) and
// what keeps a waiting stream alive. The request and answer bodies are
// relayed as they are.

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/openai"
)

// front is one client dialect.
type front struct {
	// name is the dialect's name ("openai").
	name string
	// dialect is the upstream dialect that serves it without translation.
	dialect provider.Dialect
	// clientKey returns the key the client sent, "" for none.
	clientKey func(r *http.Request) string
	// keyHint says how to send a key, in the missing-key error.
	keyHint string
	// credentials are the client headers that carry its key, in canonical
	// form: passed on to an upstream that has no key of its own, on an
	// open gateway (Gateway.passAuth).
	credentials []string
	// idHeader, when not "", is a header that carries the request id in
	// this dialect besides X-Request-Id (set on every answer); the
	// upstream's own goes to the client as X-Upstream-Request-Id.
	idHeader string
	// writeError writes e as the answer (status, headers, body).
	writeError func(w http.ResponseWriter, e *apiError)
	// errorEvent is the data of the SSE "error" event that tells e to a
	// client whose stream began.
	errorEvent func(e *apiError, id string) []byte
	// isError reports whether body is an error in this dialect: an
	// upstream's error answer that can be told in an error event as it is.
	isError func(body []byte) bool
	// heartbeat is one heartbeat, as written to a stream (heartbeat.go).
	heartbeat []byte
}

// openaiFront is OpenAI's dialect: Chat Completions, Completions,
// Embeddings, Responses and whatever else passes through.
var openaiFront = &front{
	name:        "openai",
	dialect:     provider.DialectOpenAI,
	clientKey:   bearer,
	keyHint:     "send it as \"Authorization: Bearer <key>\" (or in an \"api-key\" or \"x-api-key\" header)",
	credentials: []string{"Authorization"},
	writeError:  writeError,
	errorEvent: func(e *apiError, _ string) []byte {
		b, _ := json.Marshal(openai.NewError(e.typ, e.code, e.message))
		return b
	},
	isError: func(b []byte) bool {
		var eb openai.ErrorBody
		return json.Unmarshal(b, &eb) == nil && eb.Error.Message != ""
	},
	heartbeat: []byte(": keep-alive\n\n"),
}

// writeError renders e in OpenAI's shape, with the X-Should-Retry its
// client's SDK follows. A 499 is not sent: nobody is listening.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == statusClientClosed {
		return
	}
	if v := shouldRetry(e.status, e.code, e.retried, e.retryAfter > 0); v != "" {
		w.Header().Set("X-Should-Retry", v)
	}
	openai.WriteError(w, e.status, e.typ, e.code, e.message, e.retryAfter)
}

// bearer extracts the client key: "Authorization: Bearer <key>" (the
// OpenAI SDKs), else the "api-key" header (Azure OpenAI's SDKs), else
// "x-api-key" (Anthropic's and others). An Authorization of another scheme
// is no key.
func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		if k := strings.TrimSpace(a[7:]); k != "" {
			return k
		}
	}
	if k := strings.TrimSpace(r.Header.Get("Api-Key")); k != "" {
		return k
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

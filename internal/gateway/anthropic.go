// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Anthropic's Messages API at the edge: POST /v1/messages and
// /v1/messages/count_tokens, relayed byte for byte to the model's
// upstreams. The gateway reads the client's key from x-api-key (the
// anthropic SDKs, Claude Code) or Authorization: Bearer, writes its own
// errors, heartbeats and mid-stream failures in Anthropic's shapes, reads
// the usage from message_start and message_delta, and takes a stream for
// whole only once message_stop went out.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// The Anthropic rows of the endpoint table.
var (
	messagesRow = &endpoint{path: "/v1/messages", method: http.MethodPost, routed: true, front: anthropicFront,
		class: classGenerate, usage: anthropicUsage, end: newMessagesEnd, xlate: []*translation{messagesToOpenAI, messagesToGemini, messagesToBedrock}}
	// countTokensRow costs no tokens: Anthropic does not bill it, and its
	// answer ({"input_tokens": n}) has no usage.
	countTokensRow = &endpoint{path: "/v1/messages/count_tokens", method: http.MethodPost, routed: true, front: anthropicFront,
		class: classOther, usage: anthropicUsage}
)

// anthropicFront is Anthropic's dialect.
var anthropicFront = &front{
	name:        "anthropic",
	dialect:     provider.DialectAnthropic,
	clientKey:   anthropicKey,
	keyHint:     "send it as \"x-api-key: <key>\" (or \"Authorization: Bearer <key>\")",
	credentials: []string{"X-Api-Key", "Authorization"},
	idHeader:    "Request-Id",
	writeError:  writeAnthropicError,
	errorEvent: func(e *apiError, id string) []byte {
		return anthropicErrorBody(e, id, false)
	},
	isError: func(b []byte) bool {
		_, err := anthropic.ParseError(b)
		return err == nil
	},
	heartbeat: []byte("event: ping\ndata: {\"type\": \"ping\"}\n\n"),
}

// anthropicKey is the client key of an Anthropic client: x-api-key, as
// the anthropic SDKs send it, else "Authorization: Bearer <key>" (their
// auth_token option, Claude Code's ANTHROPIC_AUTH_TOKEN).
func anthropicKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("X-Api-Key")); k != "" {
		return k
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// anthropicErrorBody is e as Anthropic writes an error, with the request
// id; nl ends it with a newline, as an answer's body.
func anthropicErrorBody(e *apiError, id string, nl bool) []byte {
	eb := anthropic.NewError(anthropic.TypeForStatus(e.status), e.message)
	eb.RequestID = id
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(eb) // ends with a newline
	b := buf.Bytes()
	if !nl {
		b = b[:len(b)-1]
	}
	return b
}

// writeAnthropicError writes e as Anthropic's API would: its status, its
// error body with the request id (also in the request-id header, set for
// every answer of the Anthropic routes), Retry-After when the client may
// come back, and the X-Should-Retry the anthropic SDKs follow. A 499 is
// not sent: nobody is listening.
func writeAnthropicError(w http.ResponseWriter, e *apiError) {
	if e.status == statusClientClosed {
		return
	}
	h := w.Header()
	if v := shouldRetry(e.status, e.code, e.retried, e.retryAfter > 0); v != "" {
		h.Set("X-Should-Retry", v)
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(anthropicErrorBody(e, h.Get("X-Request-Id"), true))
}

// anthropicUsage reads Anthropic's usage: input_tokens counts the prompt
// tokens that were not read from or written to the prompt cache, which
// cache_read_input_tokens and cache_creation_input_tokens count; a stream
// gives the input in message_start and the output, as it grows, in
// message_delta, each event's fields replacing the earlier ones.
var anthropicUsage = &usageReader{
	normalize: func(w wireUsage) (openai.Usage, bool) {
		in, okIn := pick(w.InputTokens, unset)
		out, okOut := pick(w.OutputTokens, unset)
		read, okR := pick(w.CacheReadInputTokens, unset)
		made, okM := pick(w.CacheCreationInputTokens, unset)
		if !okIn && !okOut && !okR && !okM {
			return openai.Usage{}, false
		}
		p := in + read + made
		return openai.Usage{PromptTokens: p, CompletionTokens: out, TotalTokens: p + out}, true
	},
	merge: func(prev, ev wireUsage) wireUsage {
		for _, f := range [...]struct{ dst, src *int }{
			{&prev.InputTokens, &ev.InputTokens}, {&prev.OutputTokens, &ev.OutputTokens},
			{&prev.CacheReadInputTokens, &ev.CacheReadInputTokens},
			{&prev.CacheCreationInputTokens, &ev.CacheCreationInputTokens},
		} {
			if *f.src != unset {
				*f.dst = *f.src
			}
		}
		return prev
	},
}

// newMessagesEnd is the end of a Messages stream: message_stop, or an
// error event (the upstream told the client its stream failed). The
// event's name is its SSE event field; a server that sends only data is
// read by its "type".
func newMessagesEnd() streamEnd {
	return streamEnd{end: func(ev sse.Event) bool {
		switch eventType(ev) {
		case "message_stop", "error":
			return true
		}
		return false
	}}
}

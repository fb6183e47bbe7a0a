// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Kind gemini's translations: OpenAI chat completions and embeddings, and
// Anthropic messages, served by upstreams that speak Gemini's API
// (generateContent, streamGenerateContent?alt=sse, batchEmbedContents).
// Gemini names the model in the path, not the body: each request's path
// is made from the model, path-escaped.

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/translate"
)

// geminiTarget is the Gemini path of method for model:
// /models/{model}:{method}, the model path-escaped (a client's
// "models/NAME" is taken for NAME), with query.
func geminiTarget(model, method, query string) target {
	model = strings.TrimPrefix(model, "models/")
	t := target{path: "/models/" + model + ":" + method, query: query}
	if esc := url.PathEscape(model); esc != model {
		t.rawPath = "/models/" + esc + ":" + method
	}
	return t
}

// geminiGenerate is the target of a generate request: generateContent, or
// streamGenerateContent?alt=sse for a stream (SSE framing; without alt=sse
// Gemini streams a JSON array).
func geminiGenerate(model string, stream bool) target {
	if stream {
		return geminiTarget(model, "streamGenerateContent", "alt=sse")
	}
	return geminiTarget(model, "generateContent", "")
}

// geminiErrorToChat and geminiErrorToMessages are Gemini's error answers
// in the client's dialect.
func geminiErrorToChat(status int, _ http.Header, b []byte) (int, []byte) {
	st, eb := translate.GeminiErrorToChat(status, b)
	out, _ := jsonNoEscape(eb)
	return st, out
}

func geminiErrorToMessages(status int, _ http.Header, b []byte) (int, []byte) {
	st, eb := translate.GeminiErrorToMessages(status, b)
	out, _ := jsonNoEscape(eb)
	return st, out
}

// chatToGemini serves /v1/chat/completions from a gemini upstream.
var chatToGemini = &translation{
	to:      provider.DialectGemini,
	target:  geminiGenerate,
	drop:    openaiOnlyHeaders,
	request: func(_ string, b []byte) ([]byte, error) { return translate.ChatRequestBodyToGemini(b) },
	answer: func(x *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.GeminiResponseBodyToChat(b, time.Now().Unix(), x.model)
	},
	errorBody: geminiErrorToChat,
	stream: func(x *exchange) streamTranslator {
		so := x.env.StreamOptions
		return translate.NewGeminiToChatStream(translate.GeminiToChatOptions{
			IncludeUsage: so != nil && so.IncludeUsage, Created: time.Now().Unix(), Model: x.model})
	},
}

// messagesToGemini serves /v1/messages from a gemini upstream.
var messagesToGemini = &translation{
	to:      provider.DialectGemini,
	target:  geminiGenerate,
	drop:    anthropicOnlyHeaders,
	request: func(_ string, b []byte) ([]byte, error) { return translate.MessagesRequestBodyToGemini(b) },
	answer: func(x *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.GeminiResponseBodyToMessages(b, x.model)
	},
	errorBody: geminiErrorToMessages,
	stream: func(x *exchange) streamTranslator {
		return translate.NewGeminiToMessagesStream(x.model)
	},
}

// embeddingsToGemini serves /v1/embeddings from a gemini upstream, by
// batchEmbedContents (which takes one input as well as many).
var embeddingsToGemini = &translation{
	to: provider.DialectGemini,
	target: func(model string, _ bool) target {
		return geminiTarget(model, "batchEmbedContents", "")
	},
	drop:    openaiOnlyHeaders,
	request: translateEmbeddingsToGemini,
	answer: func(x *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.GeminiEmbeddingsBodyToChat(b, x.body, x.model)
	},
	errorBody: geminiErrorToChat,
}

// translateEmbeddingsToGemini is the batchEmbedContents request for model.
func translateEmbeddingsToGemini(model string, b []byte) ([]byte, error) {
	return translate.ChatEmbeddingsBodyToGemini(b, strings.TrimPrefix(model, "models/"))
}

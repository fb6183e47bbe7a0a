// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Kind bedrock's translations: OpenAI chat completions and Anthropic
// messages, served by upstreams that speak AWS Bedrock Runtime's Converse
// API (POST /model/{modelId}/converse, and /converse-stream, whose answer
// is an AWS event stream, not SSE). Like Gemini, Bedrock names the model
// in the path, not the body; the kind's Prepare signs each request.

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/internal/translate"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
)

// bedrockTarget is the Converse (or ConverseStream) path of model, the
// model id path-escaped (an ARN's ":" and "/" are one segment).
func bedrockTarget(model string, stream bool) target {
	op := "/converse"
	if stream {
		op = "/converse-stream"
	}
	t := target{path: "/model/" + model + op}
	if esc := provider.BedrockPath(model, stream); esc != t.path {
		t.rawPath = esc
	}
	return t
}

// bedrockEvents reads a ConverseStream answer (Content-Type
// application/vnd.amazon.eventstream) as events; nil for any other
// answer (a whole Converse answer).
func bedrockEvents(resp *http.Response) eventReader {
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/vnd.amazon.eventstream") {
		return nil
	}
	return bedrock.NewReader(resp.Body, 0)
}

// The client headers not sent to Bedrock: those of the client's own API,
// and its Accept, which names its dialect's media types (text/event-stream)
// rather than Bedrock's (application/vnd.amazon.eventstream).
var (
	openaiToBedrockDrop    = append(slices.Clone(openaiOnlyHeaders), "Accept")
	anthropicToBedrockDrop = append(slices.Clone(anthropicOnlyHeaders), "Accept")
)

// chatToBedrock serves /v1/chat/completions from a bedrock upstream.
var chatToBedrock = &translation{
	to:      provider.DialectBedrock,
	target:  bedrockTarget,
	drop:    openaiToBedrockDrop,
	request: func(_ string, b []byte) ([]byte, error) { return translate.ChatRequestBodyToConverse(b) },
	answer: func(x *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.ConverseResponseBodyToChat(b, "chatcmpl-"+x.rec.id, time.Now().Unix(), x.model)
	},
	errorBody: func(status int, h http.Header, b []byte) (int, []byte) {
		st, eb := translate.BedrockErrorToChat(status, h.Get(bedrock.ErrorTypeHeader), b)
		out, _ := jsonNoEscape(eb)
		return st, out
	},
	stream: func(x *exchange) streamTranslator {
		so := x.env.StreamOptions
		return translate.NewBedrockToChatStream(translate.BedrockToChatOptions{
			IncludeUsage: so != nil && so.IncludeUsage, ID: "chatcmpl-" + x.rec.id, Created: time.Now().Unix(), Model: x.model})
	},
	events: bedrockEvents,
}

// messagesToBedrock serves /v1/messages from a bedrock upstream.
var messagesToBedrock = &translation{
	to:      provider.DialectBedrock,
	target:  bedrockTarget,
	drop:    anthropicToBedrockDrop,
	request: func(_ string, b []byte) ([]byte, error) { return translate.MessagesRequestBodyToConverse(b) },
	answer: func(x *exchange, b []byte) ([]byte, translate.Usage, error) {
		return translate.ConverseResponseBodyToMessages(b, "msg_"+x.rec.id, x.model)
	},
	errorBody: func(status int, h http.Header, b []byte) (int, []byte) {
		st, eb := translate.BedrockErrorToMessages(status, h.Get(bedrock.ErrorTypeHeader), b)
		out, _ := jsonNoEscape(eb)
		return st, out
	},
	stream: func(x *exchange) streamTranslator {
		return translate.NewBedrockToMessagesStream("msg_"+x.rec.id, x.model)
	},
	events: bedrockEvents,
}

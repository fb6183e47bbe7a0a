// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
)

// The functions below work on bodies, as a gateway holds them: decode,
// translate, encode. A request body that does not decode is a
// [*RequestError]; an answer body that does not decode is an [*AnswerError].

// ChatRequestBodyToMessages translates an OpenAI chat request body into an
// Anthropic Messages request body (see [ChatRequestToMessages]).
func ChatRequestBodyToMessages(body []byte) ([]byte, error) {
	var in openai.ChatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid chat completions request: %v", err)
	}
	out, err := ChatRequestToMessages(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MessagesRequestBodyToChat translates an Anthropic Messages request body
// into an OpenAI chat request body (see [MessagesRequestToChat]).
func MessagesRequestBodyToChat(body []byte) ([]byte, error) {
	var in anthropic.Request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid Messages request: %v", err)
	}
	out, err := MessagesRequestToChat(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MessagesResponseBodyToChat translates an Anthropic answer body into an
// OpenAI chat completion body (see [MessagesResponseToChat]), and returns
// the answer's usage for accounting.
func MessagesResponseBodyToChat(body []byte, created int64) ([]byte, Usage, error) {
	var in anthropic.Response
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid Messages response: %v", err)
	}
	out, err := MessagesResponseToChat(&in, created)
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, UsageFromAnthropic(in.Usage), err
}

// ChatResponseBodyToMessages translates an OpenAI chat completion body into
// an Anthropic answer body (see [ChatResponseToMessages]), and returns the
// answer's usage for accounting.
func ChatResponseBodyToMessages(body []byte) ([]byte, Usage, error) {
	var in openai.ChatResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid chat completion: %v", err)
	}
	out, err := ChatResponseToMessages(&in)
	if err != nil {
		return nil, Usage{}, err
	}
	var u Usage
	if in.Usage != nil {
		u = UsageFromOpenAI(*in.Usage)
	}
	b, err := json.Marshal(out)
	return b, u, err
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"strings"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
)

// MessagesResponseToChat translates an Anthropic answer into an OpenAI chat
// completion. created is the completion's Unix time (Anthropic's answer has
// none; the caller passes the time it got the answer).
//
// The id and model are kept. Text blocks are joined into the message's
// content; tool_use blocks become tool_calls, their input the arguments
// string. Thinking and redacted_thinking blocks are dropped: OpenAI's chat
// completion has no standard field for them (documented in
// docs/providers.md). stop_reason becomes finish_reason (see
// [FinishReason]); usage as [Usage.OpenAI] says. stop_sequence has no
// OpenAI field and is dropped.
//
// A block of another type (a server tool's) is an [*AnswerError].
func MessagesResponseToChat(in *anthropic.Response, created int64) (*openai.ChatResponse, error) {
	var text strings.Builder
	hasText := false
	var calls []openai.ToolCall
	for _, b := range in.Content {
		switch b.Type {
		case anthropic.BlockText:
			text.WriteString(b.Text)
			hasText = true
		case anthropic.BlockToolUse:
			calls = append(calls, openai.ToolCall{ID: b.ID, Type: "function", Function: openai.FunctionCall{Name: b.Name, Arguments: inputArguments(b.Input)}})
		case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
		default:
			return nil, badAnswer("a %q content block has no OpenAI equivalent", b.Type)
		}
	}
	msg := openai.ChatMessage{Role: openai.RoleAssistant, ToolCalls: calls}
	if hasText || len(calls) == 0 {
		msg.Content = openai.TextContent(text.String())
	}
	stop := ""
	if in.StopReason != nil {
		stop = *in.StopReason
	}
	finish := FinishReason(stop)
	u := UsageFromAnthropic(in.Usage).OpenAI()
	return &openai.ChatResponse{
		ID:      in.ID,
		Object:  "chat.completion",
		Created: created,
		Model:   in.Model,
		Choices: []openai.ChatChoice{{Index: 0, Message: msg, FinishReason: &finish}},
		Usage:   &u,
	}, nil
}

// ChatResponseToMessages translates an OpenAI chat completion into an
// Anthropic answer. Its first choice is the answer (an Anthropic client
// cannot ask for more than one).
//
// The id and model are kept. The message's text (and a refusal, as text)
// becomes one text block; tool_calls become tool_use blocks, their
// arguments the input. finish_reason becomes stop_reason (see
// [StopReason]); usage as [UsageFromOpenAI] says. A reasoning_content
// field some servers add is dropped: Anthropic's thinking blocks need a
// signature only Anthropic can make.
//
// No choice, or tool call arguments that are not a JSON object, is an
// [*AnswerError].
func ChatResponseToMessages(in *openai.ChatResponse) (*anthropic.Response, error) {
	if len(in.Choices) == 0 {
		return nil, badAnswer("the completion has no choices")
	}
	c := in.Choices[0]
	out := &anthropic.Response{
		ID:      in.ID,
		Type:    "message",
		Role:    anthropic.RoleAssistant,
		Model:   in.Model,
		Content: make([]anthropic.ContentBlock, 0, 1+len(c.Message.ToolCalls)),
	}
	var text strings.Builder
	for _, p := range c.Message.Content.Parts {
		switch p.Type {
		case openai.PartText:
			text.WriteString(p.Text)
		case openai.PartRefusal:
			text.WriteString(p.Refusal)
		}
	}
	if c.Message.Refusal != nil {
		text.WriteString(*c.Message.Refusal)
	}
	if text.Len() > 0 {
		out.Content = append(out.Content, anthropic.ContentBlock{Type: anthropic.BlockText, Text: text.String()})
	}
	for _, tc := range c.Message.ToolCalls {
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, badAnswer("the arguments of tool call %q are not a JSON object", tc.ID)
		}
		out.Content = append(out.Content, anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	finish := ""
	if c.FinishReason != nil {
		finish = *c.FinishReason
	}
	stop := StopReason(finish)
	out.StopReason = &stop
	if in.Usage != nil {
		out.Usage = UsageFromOpenAI(*in.Usage).Anthropic()
	}
	return out, nil
}

// FinishReason maps Anthropic's stop_reason to OpenAI's finish_reason:
// end_turn, stop_sequence and pause_turn are stop; max_tokens and
// model_context_window_exceeded are length; tool_use is tool_calls; refusal
// is content_filter. Anything else (a reason added after this was written,
// or none) is stop.
func FinishReason(stopReason string) string {
	switch stopReason {
	case anthropic.StopMaxTokens, anthropic.StopContextLimit:
		return openai.FinishLength
	case anthropic.StopToolUse:
		return openai.FinishToolCalls
	case anthropic.StopRefusal:
		return openai.FinishContentFilter
	}
	return openai.FinishStop
}

// StopReason maps OpenAI's finish_reason to Anthropic's stop_reason: stop
// is end_turn (OpenAI does not say whether a stop sequence matched), length
// is max_tokens, tool_calls and function_call are tool_use, content_filter
// is refusal. Anything else is end_turn.
func StopReason(finishReason string) string {
	switch finishReason {
	case openai.FinishLength:
		return anthropic.StopMaxTokens
	case openai.FinishToolCalls, openai.FinishFunctionCall:
		return anthropic.StopToolUse
	case openai.FinishContentFilter:
		return anthropic.StopRefusal
	}
	return anthropic.StopEndTurn
}

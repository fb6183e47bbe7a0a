// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
)

// ChatRequestToMessages translates an OpenAI chat request into an Anthropic
// Messages request.
//
// Mapped: system and developer messages (wherever they are) become the
// system prompt, in order; user, assistant and tool messages become turns,
// consecutive turns of one role merged into one (so parallel tool results
// are one user turn of tool_result blocks); images (data URLs become base64
// sources, http(s) URLs url sources); tools and tool_choice
// (auto/none/required/named become auto/none/any/tool, and
// parallel_tool_calls false becomes disable_parallel_tool_use); stop,
// temperature, top_p, stream; max_completion_tokens, else max_tokens, else
// [DefaultMaxTokens]; user becomes metadata.user_id.
//
// Refused with a [*RequestError]: n > 1, logprobs, top_logprobs, audio
// output (audio, modalities other than text), response_format other than
// text, logit_bias, the legacy functions/function_call, web_search_options,
// content parts other than text and images, function-role messages, tools
// other than functions, and invalid tool call arguments.
//
// Dropped: message names, empty text parts, tools' strict flag, image
// detail, and sampling fields Anthropic does not have (frequency_penalty,
// presence_penalty, seed, ...). stream_options is read
// by the caller: Anthropic streams always carry usage.
func ChatRequestToMessages(in *openai.ChatRequest) (*anthropic.Request, error) {
	if err := refuseChat(in); err != nil {
		return nil, err
	}
	out := &anthropic.Request{
		Model:         in.Model,
		MaxTokens:     DefaultMaxTokens,
		StopSequences: in.Stop,
		Temperature:   in.Temperature,
		TopP:          in.TopP,
		Stream:        in.Stream,
	}
	switch {
	case in.MaxCompletionTokens != nil:
		out.MaxTokens = *in.MaxCompletionTokens
	case in.MaxTokens != nil:
		out.MaxTokens = *in.MaxTokens
	}
	if out.MaxTokens < 1 {
		return nil, refuse("max_tokens", "must be at least 1")
	}
	if in.User != "" {
		out.Metadata = &anthropic.Metadata{UserID: in.User}
	}

	systemFromString := 0
	for i, m := range in.Messages {
		param := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case openai.RoleSystem, openai.RoleDeveloper:
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a %s message may hold only text parts, not %q", m.Role, p.Type)
				}
				if p.Text != "" {
					out.System.Blocks = append(out.System.Blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: p.Text})
				}
			}
			if m.Content.FromString {
				systemFromString++
			}
		case openai.RoleUser:
			blocks, err := userBlocks(param, m.Content)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, anthropic.RoleUser, blocks, m.Content.FromString)
		case openai.RoleAssistant:
			blocks, err := assistantBlocks(param, &m)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, anthropic.RoleAssistant, blocks, m.Content.FromString && len(m.ToolCalls) == 0)
		case openai.RoleTool:
			if m.ToolCallID == "" {
				return nil, refuse(param+".tool_call_id", "a tool message needs the id of the tool call it answers")
			}
			var content anthropic.Content
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a tool message may hold only text parts, not %q", p.Type)
				}
				content.Blocks = append(content.Blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: p.Text})
			}
			content.FromString = m.Content.FromString
			block := anthropic.ContentBlock{Type: anthropic.BlockToolResult, ToolUseID: m.ToolCallID, Content: &content}
			out.Messages = appendTurn(out.Messages, anthropic.RoleUser, []anthropic.ContentBlock{block}, false)
		case openai.RoleFunction:
			return nil, refuse(param+".role", "function messages (the legacy function calling) cannot be sent to an Anthropic upstream: use tools and tool messages")
		default:
			return nil, refuse(param+".role", "unknown role %q", m.Role)
		}
	}
	// One system message sent as a string stays a string.
	out.System.FromString = systemFromString == 1 && len(out.System.Blocks) == 1

	for i, t := range in.Tools {
		if t.Type != "function" {
			return nil, refuse("tools["+strconv.Itoa(i)+"].type", "only function tools can be sent to an Anthropic upstream, not %q", t.Type)
		}
		if t.Function.Name == "" {
			return nil, refuse("tools["+strconv.Itoa(i)+"].function.name", "a function tool needs a name")
		}
		schema := t.Function.Parameters
		if !isSet(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, anthropic.Tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	tc, err := toolChoiceToAnthropic(in.ToolChoice)
	if err != nil {
		return nil, err
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls && len(in.Tools) > 0 {
		if tc == nil {
			tc = &anthropic.ToolChoice{Type: anthropic.ToolChoiceAuto}
		}
		if tc.Type != anthropic.ToolChoiceNone {
			tc.DisableParallelToolUse = true
		}
	}
	out.ToolChoice = tc
	return out, nil
}

// refuseChat returns a RequestError for the first field of in that
// Anthropic cannot express.
func refuseChat(in *openai.ChatRequest) error {
	const to = "Anthropic's Messages API has no equivalent"
	switch {
	case in.N != nil && *in.N > 1:
		return refuse("n", "only one choice can be asked of an Anthropic upstream (%s): send n requests, or n = 1", to)
	case in.Logprobs != nil && *in.Logprobs:
		return refuse("logprobs", "log probabilities cannot be asked of an Anthropic upstream (%s): remove logprobs", to)
	case in.TopLogprobs != nil:
		return refuse("top_logprobs", "log probabilities cannot be asked of an Anthropic upstream (%s): remove top_logprobs", to)
	case isSet(in.Audio):
		return refuse("audio", "audio output cannot be asked of an Anthropic upstream (%s)", to)
	case isSet(in.LogitBias) && string(bytes.TrimSpace(in.LogitBias)) != "{}":
		return refuse("logit_bias", "token biases cannot be sent to an Anthropic upstream (%s): remove logit_bias", to)
	case isSet(in.Functions), isSet(in.FunctionCall):
		return refuse("functions", "the legacy functions and function_call cannot be sent to an Anthropic upstream: use tools and tool_choice")
	case isSet(in.WebSearchOptions):
		return refuse("web_search_options", "OpenAI's web search cannot be asked of an Anthropic upstream: remove web_search_options")
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return refuse("modalities", "an Anthropic upstream answers only in text, not %q", m)
		}
	}
	if isSet(in.ResponseFormat) {
		var rf struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(in.ResponseFormat, &rf); err != nil || rf.Type != "text" {
			return refuse("response_format", "structured output (response_format %q) cannot be asked of an Anthropic upstream: describe the format in the prompt, or use a tool", rf.Type)
		}
	}
	return nil
}

// appendTurn appends blocks as a turn of role, merged into the last turn
// when it has the same role: OpenAI's consecutive tool messages (and the
// user message after them) become one user turn. fromString keeps a lone
// string content a string.
func appendTurn(msgs []anthropic.Message, role string, blocks []anthropic.ContentBlock, fromString bool) []anthropic.Message {
	if len(blocks) == 0 {
		return msgs
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		msgs[n-1].Content.Blocks = append(msgs[n-1].Content.Blocks, blocks...)
		msgs[n-1].Content.FromString = false
		return msgs
	}
	return append(msgs, anthropic.Message{Role: role, Content: anthropic.Content{Blocks: blocks, FromString: fromString && len(blocks) == 1}})
}

// userBlocks translates a user message's content.
func userBlocks(param string, c openai.MessageContent) ([]anthropic.ContentBlock, error) {
	blocks := make([]anthropic.ContentBlock, 0, len(c.Parts))
	for j, p := range c.Parts {
		pp := param + ".content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case openai.PartText:
			if p.Text != "" {
				blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: p.Text})
			}
		case openai.PartImageURL:
			if p.ImageURL == nil {
				return nil, refuse(pp+".image_url", "an image_url part needs an image_url")
			}
			src, err := imageSource(pp+".image_url.url", p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockImage, Source: src})
		default:
			return nil, refuse(pp+".type", "a %q part cannot be sent to an Anthropic upstream: only text and image_url parts can", p.Type)
		}
	}
	return blocks, nil
}

// imageSource turns an image URL into Anthropic's image source: a base64
// data URL into a base64 source, an http(s) URL into a url source.
func imageSource(param, u string) (*anthropic.ImageSource, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		media, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || media == "" {
			return nil, refuse(param, "a data URL image must be data:<media type>;base64,<data>")
		}
		return &anthropic.ImageSource{Type: anthropic.SourceBase64, MediaType: media, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthropic.ImageSource{Type: anthropic.SourceURL, URL: u}, nil
	}
	return nil, refuse(param, "an image must be an http(s) URL or a base64 data URL")
}

// assistantTexts returns an assistant message's text and refusal parts,
// in order, the empty ones left out; to names the upstream for the
// refusals of what no upstream takes (the legacy function_call, other
// part types).
func assistantTexts(param string, m *openai.ChatMessage, to string) ([]string, error) {
	if isSet(m.FunctionCall) {
		return nil, refuse(param+".function_call", "the legacy function_call cannot be sent to %s: use tool_calls", to)
	}
	texts := make([]string, 0, len(m.Content.Parts))
	for j, p := range m.Content.Parts {
		text := p.Text
		switch p.Type {
		case openai.PartText:
		case openai.PartRefusal:
			text = p.Refusal
		default:
			return nil, refuse(param+".content["+strconv.Itoa(j)+"].type", "an assistant message may hold only text and refusal parts, not %q", p.Type)
		}
		if text != "" {
			texts = append(texts, text)
		}
	}
	return texts, nil
}

// assistantBlocks translates an assistant message: its text, then its tool
// calls as tool_use blocks.
func assistantBlocks(param string, m *openai.ChatMessage) ([]anthropic.ContentBlock, error) {
	texts, err := assistantTexts(param, m, "an Anthropic upstream")
	if err != nil {
		return nil, err
	}
	blocks := make([]anthropic.ContentBlock, 0, len(texts)+len(m.ToolCalls))
	for _, text := range texts {
		blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: text})
	}
	if m.Refusal != nil && *m.Refusal != "" && len(m.Content.Parts) == 0 {
		blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockText, Text: *m.Refusal})
	}
	for j, tc := range m.ToolCalls {
		pp := param + ".tool_calls[" + strconv.Itoa(j) + "]"
		if tc.Type != "" && tc.Type != "function" {
			return nil, refuse(pp+".type", "only function tool calls can be sent to an Anthropic upstream, not %q", tc.Type)
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, refuse(pp, "a tool call needs an id and a function name")
		}
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, refuse(pp+".function.arguments", "must be a JSON object (Anthropic's tool_use input is one)")
		}
		blocks = append(blocks, anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: tc.ID, Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// argumentsObject checks that a tool call's arguments are a JSON object
// ("" counts as {}) and returns them compacted.
func argumentsObject(args string) (json.RawMessage, error) {
	s := strings.TrimSpace(args)
	if s == "" {
		return json.RawMessage("{}"), nil
	}
	if s[0] != '{' || !json.Valid([]byte(s)) {
		return nil, badAnswer("tool call arguments are not a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// toolChoiceToAnthropic maps OpenAI's tool_choice.
func toolChoiceToAnthropic(tc *openai.ToolChoice) (*anthropic.ToolChoice, error) {
	if tc == nil {
		return nil, nil
	}
	switch tc.Mode {
	case openai.ToolChoiceAuto:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceAuto}, nil
	case openai.ToolChoiceNone:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceNone}, nil
	case openai.ToolChoiceRequired:
		return &anthropic.ToolChoice{Type: anthropic.ToolChoiceAny}, nil
	case "":
	default:
		return nil, refuse("tool_choice", "unknown tool_choice %q: use auto, none, required or a function", tc.Mode)
	}
	if tc.Type != "function" || tc.Name == "" {
		return nil, refuse("tool_choice", "only a function can be named in tool_choice for an Anthropic upstream, with its name")
	}
	return &anthropic.ToolChoice{Type: anthropic.ToolChoiceTool, Name: tc.Name}, nil
}

// MessagesRequestToChat translates an Anthropic Messages request into an
// OpenAI chat request.
//
// Mapped: the system prompt (a string, or text blocks joined with a blank
// line) becomes one system message; user turns become user messages, with their tool_result blocks
// first turned into tool messages (one per result, before the rest of the
// turn: OpenAI wants them right after the assistant's tool calls); assistant
// turns become assistant messages with their text joined and their tool_use
// blocks as tool_calls; images (base64 sources become data URLs, url sources
// URLs); tools (input_schema becomes parameters) and tool_choice
// (auto/none/any/tool become auto/none/required/named, and
// disable_parallel_tool_use becomes parallel_tool_calls false);
// stop_sequences, temperature, top_p, max_tokens, metadata.user_id (as
// user); a streamed request asks for stream_options.include_usage, which
// Anthropic's final message_delta needs.
//
// Refused with a [*RequestError]: server tools (a tool with a type, such
// as web_search_20250305), document blocks, images inside tool results, and
// block types it does not know.
//
// Dropped: thinking and redacted_thinking blocks of past assistant turns
// (an OpenAI upstream cannot take them back), the thinking configuration,
// top_k, cache_control, and tool_result's is_error (the result's text is
// kept, the flag has no OpenAI field).
func MessagesRequestToChat(in *anthropic.Request) (*openai.ChatRequest, error) {
	out := &openai.ChatRequest{
		Model:       in.Model,
		Stop:        openai.Stop(in.StopSequences),
		Temperature: in.Temperature,
		TopP:        in.TopP,
		Stream:      in.Stream,
	}
	if in.MaxTokens > 0 {
		mt := in.MaxTokens
		out.MaxTokens = &mt
	}
	if in.Stream {
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if in.Metadata != nil {
		out.User = in.Metadata.UserID
	}
	out.Messages = make([]openai.ChatMessage, 0, len(in.Messages)+1)
	if len(in.System.Blocks) > 0 {
		var sys openai.MessageContent
		for j, b := range in.System.Blocks {
			if b.Type != anthropic.BlockText {
				return nil, refuse("system["+strconv.Itoa(j)+"]", "the system prompt may hold only text blocks, not %q", b.Type)
			}
			sys.Parts = append(sys.Parts, openai.ContentPart{Type: openai.PartText, Text: b.Text})
		}
		sys.FromString = in.System.FromString
		if len(sys.Parts) > 1 { // one string reads best, and every server takes it
			sys = openai.TextContent(joinText(sys.Parts, "\n\n"))
		}
		out.Messages = append(out.Messages, openai.ChatMessage{Role: openai.RoleSystem, Content: sys})
	}
	for i, m := range in.Messages {
		param := "messages[" + strconv.Itoa(i) + "]"
		var err error
		switch m.Role {
		case anthropic.RoleUser:
			out.Messages, err = appendUser(out.Messages, param, m.Content)
		case anthropic.RoleAssistant:
			out.Messages, err = appendAssistant(out.Messages, param, m.Content)
		default:
			err = refuse(param+".role", "unknown role %q: use user or assistant", m.Role)
		}
		if err != nil {
			return nil, err
		}
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, refuse("tools["+strconv.Itoa(i)+"]", "the server tool %q cannot be run by an OpenAI-compatible upstream: only client tools (with input_schema) can", t.Type)
		}
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: openai.FunctionDef{
			Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
		}})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Type {
		case anthropic.ToolChoiceAuto:
			out.ToolChoice = &openai.ToolChoice{Mode: openai.ToolChoiceAuto}
		case anthropic.ToolChoiceAny:
			out.ToolChoice = &openai.ToolChoice{Mode: openai.ToolChoiceRequired}
		case anthropic.ToolChoiceNone:
			out.ToolChoice = &openai.ToolChoice{Mode: openai.ToolChoiceNone}
		case anthropic.ToolChoiceTool:
			out.ToolChoice = &openai.ToolChoice{Type: "function", Name: tc.Name}
		default:
			return nil, refuse("tool_choice.type", "unknown tool_choice type %q: use auto, any, tool or none", tc.Type)
		}
		if tc.DisableParallelToolUse {
			f := false
			out.ParallelToolCalls = &f
		}
	}
	return out, nil
}

// appendUser appends a user turn: its tool results as tool messages, then
// the rest as one user message.
func appendUser(msgs []openai.ChatMessage, param string, c anthropic.Content) ([]openai.ChatMessage, error) {
	var user openai.MessageContent
	for j, b := range c.Blocks {
		pp := param + ".content[" + strconv.Itoa(j) + "]"
		switch b.Type {
		case anthropic.BlockText:
			user.Parts = append(user.Parts, openai.ContentPart{Type: openai.PartText, Text: b.Text})
		case anthropic.BlockImage:
			u, err := imageURL(pp, b.Source)
			if err != nil {
				return nil, err
			}
			user.Parts = append(user.Parts, openai.ContentPart{Type: openai.PartImageURL, ImageURL: &openai.ImageURL{URL: u}})
		case anthropic.BlockToolResult:
			content, err := toolResultText(pp, b.Content)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, openai.ChatMessage{Role: openai.RoleTool, ToolCallID: b.ToolUseID, Content: content})
		default:
			return nil, unsupportedBlock(pp, b.Type)
		}
	}
	if len(user.Parts) == 0 {
		return msgs, nil
	}
	user.FromString = c.FromString
	return append(msgs, openai.ChatMessage{Role: openai.RoleUser, Content: user}), nil
}

// toolResultText translates a tool result's content, which OpenAI takes
// only as text.
func toolResultText(param string, c *anthropic.Content) (openai.MessageContent, error) {
	if c == nil {
		return openai.TextContent(""), nil
	}
	parts := make([]openai.ContentPart, 0, len(c.Blocks))
	for k, b := range c.Blocks {
		if b.Type != anthropic.BlockText {
			return openai.MessageContent{}, refuse(param+".content["+strconv.Itoa(k)+"]", "a tool result for an OpenAI-compatible upstream may hold only text, not %q", b.Type)
		}
		parts = append(parts, openai.ContentPart{Type: openai.PartText, Text: b.Text})
	}
	if c.FromString || len(parts) == 0 {
		return openai.TextContent(joinText(parts, "")), nil
	}
	return openai.MessageContent{Parts: parts}, nil
}

// appendAssistant appends an assistant turn: its text joined, its tool_use
// blocks as tool calls, its thinking dropped.
func appendAssistant(msgs []openai.ChatMessage, param string, c anthropic.Content) ([]openai.ChatMessage, error) {
	var text strings.Builder
	hasText := false
	var calls []openai.ToolCall
	for j, b := range c.Blocks {
		switch b.Type {
		case anthropic.BlockText:
			text.WriteString(b.Text)
			hasText = true
		case anthropic.BlockToolUse:
			calls = append(calls, openai.ToolCall{ID: b.ID, Type: "function", Function: openai.FunctionCall{Name: b.Name, Arguments: inputArguments(b.Input)}})
		case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
			// Dropped: an OpenAI upstream cannot take reasoning back.
		default:
			return nil, unsupportedBlock(param+".content["+strconv.Itoa(j)+"]", b.Type)
		}
	}
	if !hasText && len(calls) == 0 {
		return msgs, nil
	}
	m := openai.ChatMessage{Role: openai.RoleAssistant, ToolCalls: calls}
	if hasText {
		m.Content = openai.TextContent(text.String())
	}
	return append(msgs, m), nil
}

// imageURL turns Anthropic's image source into an image URL.
func imageURL(param string, s *anthropic.ImageSource) (string, error) {
	if s != nil {
		switch s.Type {
		case anthropic.SourceBase64:
			return "data:" + s.MediaType + ";base64," + s.Data, nil
		case anthropic.SourceURL:
			return s.URL, nil
		}
	}
	return "", refuse(param+".source", "an image for an OpenAI-compatible upstream needs a base64 or url source")
}

func unsupportedBlock(param, typ string) error {
	return refuse(param+".type", "a %q block cannot be sent to an OpenAI-compatible upstream: only text, image, tool_use, tool_result and (dropped) thinking blocks can", typ)
}

func joinText(parts []openai.ContentPart, sep string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// inputArguments turns a tool_use input into OpenAI's arguments string:
// the JSON compacted, {} when absent.
func inputArguments(in json.RawMessage) string {
	if !isSet(in) {
		return "{}"
	}
	var buf bytes.Buffer
	if json.Compact(&buf, in) != nil {
		return string(in)
	}
	return buf.String()
}

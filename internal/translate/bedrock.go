// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
	"github.com/warmgate/warmgate/openai"
)

// ChatRequestToConverse translates an OpenAI chat request into a Bedrock
// Converse request (the model id goes in the URL, not the body).
//
// Mapped: system and developer messages (wherever they are) become system
// blocks, in order; user and assistant messages become turns, tool
// messages user turns of toolResult blocks (toolUseId the tool_call_id,
// content one text block), consecutive turns of one role merged into one;
// images given as data URLs become image blocks (format png, jpeg, gif or
// webp, the bytes base64 as sent); assistant tool_calls become toolUse
// blocks (input the arguments object); tools become toolSpecs
// (inputSchema.json the parameters, {"type":"object"} when absent), and
// tool_choice auto/required/named becomes toolChoice auto/any/tool;
// tool_choice none drops the tools when no earlier turn used one;
// max_completion_tokens else max_tokens (maxTokens), temperature, top_p,
// stop (stopSequences).
//
// Refused with a [*RequestError]: what [ChatRequestToGemini] refuses as
// well (n > 1, logprobs, audio, logit_bias, legacy functions, web search),
// response_format other than text, images given as http(s) URLs (Bedrock
// takes only the bytes: send a data URL), image media types other than
// png, jpeg, gif and webp, content parts other than text and images, tool
// choice none in a conversation that used tools (Bedrock has no "none"
// and needs the tools then), and tool call arguments that are not a JSON
// object.
//
// Dropped: message names, parallel_tool_calls, user, image detail, tools'
// strict flag, and fields Bedrock lacks that are not decoded.
// stream_options is read by the caller: Bedrock streams always carry usage.
func ChatRequestToConverse(in *openai.ChatRequest) (*bedrock.Request, error) {
	if err := refuseFor(in, "a Bedrock upstream", "Bedrock's Converse API"); err != nil {
		return nil, err
	}
	if isSet(in.ResponseFormat) {
		var rf struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(in.ResponseFormat, &rf); err != nil || rf.Type != "text" {
			return nil, refuse("response_format", "structured output (response_format %q) cannot be asked of a Bedrock upstream through warmgate: describe the format in the prompt, or use a tool", rf.Type)
		}
	}
	out := &bedrock.Request{Messages: make([]bedrock.Message, 0, len(in.Messages))}
	ic := bedrock.InferenceConfig{Temperature: in.Temperature, TopP: in.TopP, StopSequences: in.Stop}
	switch {
	case in.MaxCompletionTokens != nil:
		ic.MaxTokens = in.MaxCompletionTokens
	case in.MaxTokens != nil:
		ic.MaxTokens = in.MaxTokens
	}
	if ic.MaxTokens != nil && *ic.MaxTokens < 1 {
		return nil, refuse("max_tokens", "must be at least 1")
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		out.InferenceConfig = &ic
	}
	usedTools := false
	for i, m := range in.Messages {
		param := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case openai.RoleSystem, openai.RoleDeveloper:
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a %s message may hold only text parts, not %q", m.Role, p.Type)
				}
				if p.Text != "" {
					out.System = append(out.System, bedrock.SystemBlock{Text: p.Text})
				}
			}
		case openai.RoleUser:
			blocks, err := converseUserBlocks(param, m.Content)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurnBedrock(out.Messages, bedrock.RoleUser, blocks)
		case openai.RoleAssistant:
			blocks, err := converseAssistantBlocks(param, &m)
			if err != nil {
				return nil, err
			}
			usedTools = usedTools || len(m.ToolCalls) > 0
			out.Messages = appendTurnBedrock(out.Messages, bedrock.RoleAssistant, blocks)
		case openai.RoleTool:
			if m.ToolCallID == "" {
				return nil, refuse(param+".tool_call_id", "a tool message needs the id of the tool call it answers")
			}
			var text strings.Builder
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a tool message may hold only text parts, not %q", p.Type)
				}
				text.WriteString(p.Text)
			}
			s := text.String()
			usedTools = true
			block := bedrock.ContentBlock{ToolResult: &bedrock.ToolResult{ToolUseID: m.ToolCallID, Content: []bedrock.ToolResultContent{{Text: &s}}}}
			out.Messages = appendTurnBedrock(out.Messages, bedrock.RoleUser, []bedrock.ContentBlock{block})
		case openai.RoleFunction:
			return nil, refuse(param+".role", "function messages (the legacy function calling) cannot be sent to a Bedrock upstream: use tools and tool messages")
		default:
			return nil, refuse(param+".role", "unknown role %q", m.Role)
		}
	}
	if len(in.Tools) == 0 {
		return out, nil
	}
	if tc := in.ToolChoice; tc != nil && tc.Mode == openai.ToolChoiceNone {
		if usedTools {
			return nil, refuse("tool_choice", "none cannot be asked of a Bedrock upstream in a conversation that used tools (Bedrock has no tool choice none, and needs the tools to read the earlier calls): use auto")
		}
		return out, nil // no tools: the model cannot call one
	}
	tcfg := &bedrock.ToolConfig{Tools: make([]bedrock.Tool, 0, len(in.Tools))}
	for i, t := range in.Tools {
		if t.Type != "function" {
			return nil, refuse("tools["+strconv.Itoa(i)+"].type", "only function tools can be sent to a Bedrock upstream, not %q", t.Type)
		}
		if t.Function.Name == "" {
			return nil, refuse("tools["+strconv.Itoa(i)+"].function.name", "a function tool needs a name")
		}
		schema := t.Function.Parameters
		if !isSet(schema) {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		tcfg.Tools = append(tcfg.Tools, bedrock.Tool{ToolSpec: &bedrock.ToolSpec{Name: t.Function.Name, Description: t.Function.Description, InputSchema: bedrock.InputSchema{JSON: schema}}})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Mode {
		case openai.ToolChoiceAuto:
			tcfg.ToolChoice = &bedrock.ToolChoice{Auto: &struct{}{}}
		case openai.ToolChoiceRequired:
			tcfg.ToolChoice = &bedrock.ToolChoice{Any: &struct{}{}}
		case "":
			if tc.Type != "function" || tc.Name == "" {
				return nil, refuse("tool_choice", "only a function can be named in tool_choice for a Bedrock upstream, with its name")
			}
			tcfg.ToolChoice = &bedrock.ToolChoice{Tool: &bedrock.ToolChoiceFor{Name: tc.Name}}
		default:
			return nil, refuse("tool_choice", "unknown tool_choice %q: use auto, none, required or a function", tc.Mode)
		}
	}
	out.ToolConfig = tcfg
	return out, nil
}

// appendTurnBedrock appends blocks as a turn of role, merged into the last
// turn when it has the same role.
func appendTurnBedrock(msgs []bedrock.Message, role string, blocks []bedrock.ContentBlock) []bedrock.Message {
	if len(blocks) == 0 {
		return msgs
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
		return msgs
	}
	return append(msgs, bedrock.Message{Role: role, Content: blocks})
}

// converseImageFormats are the image formats Converse takes, by media type.
var converseImageFormats = map[string]string{
	"image/png": bedrock.FormatPNG, "image/jpeg": bedrock.FormatJPEG, "image/jpg": bedrock.FormatJPEG,
	"image/gif": bedrock.FormatGIF, "image/webp": bedrock.FormatWEBP,
}

// converseUserBlocks translates a user message's content.
func converseUserBlocks(param string, c openai.MessageContent) ([]bedrock.ContentBlock, error) {
	blocks := make([]bedrock.ContentBlock, 0, len(c.Parts))
	for j, p := range c.Parts {
		pp := param + ".content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case openai.PartText:
			if p.Text != "" {
				blocks = append(blocks, bedrock.TextBlock(p.Text))
			}
		case openai.PartImageURL:
			if p.ImageURL == nil {
				return nil, refuse(pp+".image_url", "an image_url part needs an image_url")
			}
			rest, ok := strings.CutPrefix(p.ImageURL.URL, "data:")
			if !ok {
				return nil, refuse(pp+".image_url.url", "a Bedrock upstream takes an image's bytes, not a URL: send it as a base64 data URL")
			}
			meta, data, ok := strings.Cut(rest, ",")
			media, isBase64 := strings.CutSuffix(meta, ";base64")
			if !ok || !isBase64 || media == "" {
				return nil, refuse(pp+".image_url.url", "a data URL image must be data:<media type>;base64,<data>")
			}
			format, ok := converseImageFormats[strings.ToLower(media)]
			if !ok {
				return nil, refuse(pp+".image_url.url", "a Bedrock upstream takes png, jpeg, gif and webp images, not %s", media)
			}
			blocks = append(blocks, bedrock.ContentBlock{Image: &bedrock.Image{Format: format, Source: bedrock.ImageSource{Bytes: data}}})
		default:
			return nil, refuse(pp+".type", "a %q part cannot be sent to a Bedrock upstream: only text and image_url parts can", p.Type)
		}
	}
	return blocks, nil
}

// converseAssistantBlocks translates an assistant message: its text, then
// its tool calls as toolUse blocks.
func converseAssistantBlocks(param string, m *openai.ChatMessage) ([]bedrock.ContentBlock, error) {
	texts, err := assistantTexts(param, m, "a Bedrock upstream")
	if err != nil {
		return nil, err
	}
	blocks := make([]bedrock.ContentBlock, 0, len(texts)+len(m.ToolCalls))
	for _, text := range texts {
		blocks = append(blocks, bedrock.TextBlock(text))
	}
	for j, tc := range m.ToolCalls {
		pp := param + ".tool_calls[" + strconv.Itoa(j) + "]"
		if tc.Type != "" && tc.Type != "function" {
			return nil, refuse(pp+".type", "only function tool calls can be sent to a Bedrock upstream, not %q", tc.Type)
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, refuse(pp, "a tool call needs an id and a function name")
		}
		input, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, refuse(pp+".function.arguments", "must be a JSON object (Bedrock's toolUse input is one)")
		}
		blocks = append(blocks, bedrock.ContentBlock{ToolUse: &bedrock.ToolUse{ToolUseID: tc.ID, Name: tc.Function.Name, Input: input}})
	}
	return blocks, nil
}

// MessagesRequestToConverse translates an Anthropic Messages request into
// a Converse request, through OpenAI's form: [MessagesRequestToChat], then
// [ChatRequestToConverse]; top_k, which OpenAI lacks, is sent as
// additionalModelRequestFields {"top_k": N}, the field Anthropic's models
// on Bedrock read; a tool_result's is_error and the cache_control of the
// last system block and of the last tool are carried too (see
// carryAnthropicToConverse). What either step refuses or drops is
// otherwise refused or dropped (a refusal's param names the field in
// OpenAI's form); images with url sources are refused (Bedrock takes only
// bytes).
func MessagesRequestToConverse(in *anthropic.Request) (*bedrock.Request, error) {
	chat, err := MessagesRequestToChat(in)
	if err != nil {
		return nil, err
	}
	out, err := ChatRequestToConverse(chat)
	if err != nil {
		return nil, err
	}
	if in.TopK != nil {
		out.AdditionalModelRequestFields = json.RawMessage(`{"top_k":` + strconv.Itoa(*in.TopK) + `}`)
	}
	carryAnthropicToConverse(in, out)
	return out, nil
}

// cachePoint is Converse's prompt cache checkpoint.
var cachePoint = json.RawMessage(`{"type":"default"}`)

// carryAnthropicToConverse carries what Converse can express but the
// OpenAI form cannot: a tool_result's is_error (toolResult status
// "error"), and cache_control on the last system block or the last tool
// (a cachePoint after the system prompt or the tools; cache_control on
// message blocks is dropped).
func carryAnthropicToConverse(in *anthropic.Request, out *bedrock.Request) {
	failed := map[string]bool{}
	for _, m := range in.Messages {
		for _, b := range m.Content.Blocks {
			if b.Type == anthropic.BlockToolResult && b.IsError {
				failed[b.ToolUseID] = true
			}
		}
	}
	if len(failed) > 0 {
		for _, m := range out.Messages {
			for _, b := range m.Content {
				if b.ToolResult != nil && failed[b.ToolResult.ToolUseID] {
					b.ToolResult.Status = "error"
				}
			}
		}
	}
	if n := len(in.System.Blocks); n > 0 && isSet(in.System.Blocks[n-1].CacheControl) && len(out.System) > 0 {
		out.System = append(out.System, bedrock.SystemBlock{CachePoint: cachePoint})
	}
	if n := len(in.Tools); n > 0 && isSet(in.Tools[n-1].CacheControl) && out.ToolConfig != nil {
		out.ToolConfig.Tools = append(out.ToolConfig.Tools, bedrock.Tool{CachePoint: cachePoint})
	}
}

// BedrockFinishReason maps Converse's stopReason to OpenAI's
// finish_reason: end_turn and stop_sequence are stop; max_tokens and
// model_context_window_exceeded are length; tool_use is tool_calls;
// guardrail_intervened and content_filtered are content_filter. Anything
// else is stop.
func BedrockFinishReason(stopReason string) string {
	switch stopReason {
	case bedrock.StopMaxTokens, bedrock.StopContextExceeded:
		return openai.FinishLength
	case bedrock.StopToolUse:
		return openai.FinishToolCalls
	case bedrock.StopGuardrailIntervened, bedrock.StopContentFiltered:
		return openai.FinishContentFilter
	}
	return openai.FinishStop
}

// UsageFromBedrock reads Converse's usage: inputTokens (which excludes
// the cache), cacheReadInputTokens, cacheWriteInputTokens, outputTokens.
func UsageFromBedrock(u bedrock.Usage) Usage {
	return Usage{InputTokens: u.InputTokens, CacheReadTokens: u.CacheReadInputTokens, CacheCreationTokens: u.CacheWriteInputTokens, OutputTokens: u.OutputTokens}
}

// ConverseResponseToChat translates a Converse answer into an OpenAI chat
// completion. Converse answers carry no id and no model: the caller passes
// the id to give the completion (the gateway's request id), the time and
// the request's model.
//
// Text blocks are joined into the content; toolUse blocks become
// tool_calls (id the toolUseId, arguments the input); reasoningContent
// blocks are dropped; stopReason maps as [BedrockFinishReason] says; usage
// as [UsageFromBedrock] and [Usage.OpenAI] say. An answer without a
// message, or with a block of another kind, is an [*AnswerError].
func ConverseResponseToChat(in *bedrock.Response, id string, created int64, model string) (*openai.ChatResponse, error) {
	if in.Output.Message == nil {
		return nil, badAnswer("the answer has no output message")
	}
	var text strings.Builder
	hasText := false
	var calls []openai.ToolCall
	for _, b := range in.Output.Message.Content {
		switch {
		case b.Text != nil:
			text.WriteString(*b.Text)
			hasText = true
		case b.ToolUse != nil:
			calls = append(calls, openai.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function", Function: openai.FunctionCall{Name: b.ToolUse.Name, Arguments: inputArguments(b.ToolUse.Input)}})
		case isSet(b.ReasoningContent):
		default:
			return nil, badAnswer("a content block other than text, toolUse and reasoningContent has no OpenAI equivalent")
		}
	}
	msg := openai.ChatMessage{Role: openai.RoleAssistant, ToolCalls: calls}
	if hasText || len(calls) == 0 {
		msg.Content = openai.TextContent(text.String())
	}
	finish := BedrockFinishReason(in.StopReason)
	u := UsageFromBedrock(in.Usage).OpenAI()
	return &openai.ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []openai.ChatChoice{{Message: msg, FinishReason: &finish}}, Usage: &u}, nil
}

// ConverseResponseToMessages translates a Converse answer into an
// Anthropic one, through OpenAI's form: [ConverseResponseToChat], then
// [ChatResponseToMessages]; id and model are the caller's, as there.
func ConverseResponseToMessages(in *bedrock.Response, id, model string) (*anthropic.Response, error) {
	chat, err := ConverseResponseToChat(in, id, 0, model)
	if err != nil {
		return nil, err
	}
	out, err := ChatResponseToMessages(chat)
	if err != nil {
		return nil, err
	}
	// Cache writes survive the pivot only here: OpenAI's usage has no field.
	out.Usage = UsageFromBedrock(in.Usage).Anthropic()
	return out, nil
}

// BedrockErrorToChat translates a Bedrock error answer (its status, the
// X-Amzn-ErrorType header, and body {"message":...}) into an OpenAI one:
// the status to answer with and the body. A stream exception is passed
// with status 0 and its exception type as errorType.
//
//	ValidationException              400 invalid_request_error
//	AccessDeniedException, UnrecognizedClientException,
//	InvalidSignatureException, ExpiredTokenException
//	                                 403 permission_error (the gateway's AWS credentials)
//	ResourceNotFoundException        404 not_found_error
//	ThrottlingException, ServiceQuotaExceededException
//	                                 429 rate_limit_error, code rate_limit_exceeded
//	ModelNotReadyException           503 server_error, code overloaded (retried elsewhere)
//	ServiceUnavailableException      503 server_error, code overloaded
//	ModelTimeoutException            504 server_error, code timeout
//	ModelErrorException, ModelStreamErrorException
//	                                 502 server_error, code model_error
//	InternalServerException          500 server_error
//
// An unknown type keeps the status (500 when there is none) and gets a
// type from it. The message is kept; a body without one gets a message
// saying what the upstream answered.
func BedrockErrorToChat(status int, errorType string, body []byte) (int, openai.ErrorBody) {
	typ := bedrock.ErrorType(errorType, body)
	var e bedrock.ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		e.Message = noErrorBody(status)
		if typ != "" {
			e.Message += " (" + typ + ")"
		}
	}
	otype, code := "", ""
	switch typ {
	case bedrock.ErrValidation:
		status, otype = http.StatusBadRequest, openai.TypeInvalidRequest
	case bedrock.ErrAccessDenied, bedrock.ErrUnrecognizedClient, bedrock.ErrInvalidSignature, bedrock.ErrExpiredToken, bedrock.ErrIncompleteSignature:
		status, otype = http.StatusForbidden, openai.TypePermission
	case bedrock.ErrResourceNotFound:
		status, otype = http.StatusNotFound, openai.TypeNotFound
	case bedrock.ErrThrottling, bedrock.ErrServiceQuota:
		status, otype, code = http.StatusTooManyRequests, openai.TypeRateLimit, "rate_limit_exceeded"
	case bedrock.ErrModelNotReady, bedrock.ErrServiceUnavailable:
		status, otype, code = http.StatusServiceUnavailable, openai.TypeServer, "overloaded"
	case bedrock.ErrModelTimeout:
		status, otype, code = http.StatusGatewayTimeout, openai.TypeServer, "timeout"
	case bedrock.ErrModelError, bedrock.ErrModelStreamError:
		status, otype, code = http.StatusBadGateway, openai.TypeServer, "model_error"
	case bedrock.ErrInternalServer:
		status, otype = http.StatusInternalServerError, openai.TypeServer
	default:
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
		otype = openaiTypeForStatus(status)
	}
	return status, openai.NewError(otype, code, e.Message)
}

// BedrockErrorToMessages translates a Bedrock error answer into an
// Anthropic one, through OpenAI's form: [BedrockErrorToChat], then the
// type from the status as [anthropic.TypeForStatus] says (429
// rate_limit_error, 503 overloaded_error, 504 timeout_error, ...).
func BedrockErrorToMessages(status int, errorType string, body []byte) (int, anthropic.ErrorBody) {
	status, oe := BedrockErrorToChat(status, errorType, body)
	return status, anthropic.NewError(anthropic.TypeForStatus(status), oe.Error.Message)
}

// ChatRequestBodyToConverse translates an OpenAI chat request body into a
// Converse request body (see [ChatRequestToConverse]).
func ChatRequestBodyToConverse(body []byte) ([]byte, error) {
	var in openai.ChatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid chat completions request: %v", err)
	}
	out, err := ChatRequestToConverse(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MessagesRequestBodyToConverse translates an Anthropic Messages request
// body into a Converse request body (see [MessagesRequestToConverse]).
func MessagesRequestBodyToConverse(body []byte) ([]byte, error) {
	var in anthropic.Request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid Messages request: %v", err)
	}
	out, err := MessagesRequestToConverse(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// ConverseResponseBodyToChat translates a Converse answer body into an
// OpenAI chat completion body (see [ConverseResponseToChat]), and returns
// the answer's usage for accounting.
func ConverseResponseBodyToChat(body []byte, id string, created int64, model string) ([]byte, Usage, error) {
	var in bedrock.Response
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid Converse response: %v", err)
	}
	out, err := ConverseResponseToChat(&in, id, created, model)
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, UsageFromBedrock(in.Usage), err
}

// ConverseResponseBodyToMessages translates a Converse answer body into an
// Anthropic answer body (see [ConverseResponseToMessages]), and returns
// the answer's usage for accounting.
func ConverseResponseBodyToMessages(body []byte, id, model string) ([]byte, Usage, error) {
	var in bedrock.Response
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid Converse response: %v", err)
	}
	out, err := ConverseResponseToMessages(&in, id, model)
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, UsageFromBedrock(in.Usage), err
}

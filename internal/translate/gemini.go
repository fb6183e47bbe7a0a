// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/translate/gemini"
	"github.com/warmgate/warmgate/openai"
)

// ChatRequestToGemini translates an OpenAI chat request into a Gemini
// generateContent request (the model goes in the URL, not the body).
//
// Mapped: system and developer messages (wherever they are) become the
// systemInstruction's parts, in order; user messages become user contents,
// assistant messages model contents, tool messages user contents of
// functionResponse parts, consecutive contents of one role merged into one
// (so parallel results are one content); images (data URLs become
// inlineData, http(s) URLs fileData, with the media type taken from the
// URL's extension); assistant tool_calls become functionCall parts (args
// the arguments object); a tool message becomes a functionResponse named
// after the function of the tool call it answers (Gemini matches results
// by name: the name is found by tool_call_id among the earlier assistant
// tool_calls), with response {"output": content}; a thought signature a
// tool call's id carries (see [GeminiResponseToChat]) goes back on its
// functionCall part; tools become one tool
// of functionDeclarations (parameters as parametersJsonSchema), and
// tool_choice auto/none/required/named becomes functionCallingConfig mode
// AUTO/NONE/ANY/ANY with allowedFunctionNames; stop, temperature, top_p,
// max_completion_tokens else max_tokens (maxOutputTokens),
// presence_penalty, frequency_penalty, seed;
// response_format json_object and json_schema (responseMimeType
// application/json, and responseJsonSchema).
//
// Refused with a [*RequestError]: n > 1 (ask for one choice: an OpenAI
// client's n choices would be Gemini candidates, which not every Gemini
// model gives), logprobs, top_logprobs, audio output, logit_bias, the
// legacy functions/function_call, web_search_options, content parts other
// than text and images, an http(s) image whose media type cannot be told
// from its URL, a tool message whose tool_call_id no earlier tool call
// has, tools other than functions, and tool call arguments that are not a
// JSON object.
//
// Dropped: message names, tool call ids (Gemini matches by name),
// parallel_tool_calls, user, image detail, tools' strict flag, and fields
// Gemini lacks, which are not decoded.
// stream_options is read by the caller: Gemini streams always carry usage.
func ChatRequestToGemini(in *openai.ChatRequest) (*gemini.Request, error) {
	if err := refuseFor(in, "a Gemini upstream", "Gemini's generateContent"); err != nil {
		return nil, err
	}
	out := &gemini.Request{Contents: make([]gemini.Content, 0, len(in.Messages))}
	gc := gemini.GenerationConfig{Temperature: in.Temperature, TopP: in.TopP, StopSequences: in.Stop,
		PresencePenalty: in.PresencePenalty, FrequencyPenalty: in.FrequencyPenalty, Seed: in.Seed}
	switch {
	case in.MaxCompletionTokens != nil:
		gc.MaxOutputTokens = in.MaxCompletionTokens
	case in.MaxTokens != nil:
		gc.MaxOutputTokens = in.MaxTokens
	}
	if gc.MaxOutputTokens != nil && *gc.MaxOutputTokens < 1 {
		return nil, refuse("max_tokens", "must be at least 1")
	}
	if err := responseFormatToGemini(in.ResponseFormat, &gc); err != nil {
		return nil, err
	}
	if gc.Temperature != nil || gc.TopP != nil || gc.MaxOutputTokens != nil || len(gc.StopSequences) > 0 || gc.ResponseMimeType != "" ||
		gc.PresencePenalty != nil || gc.FrequencyPenalty != nil || gc.Seed != nil {
		out.GenerationConfig = &gc
	}

	names := map[string]string{} // tool call id → function name
	for i, m := range in.Messages {
		param := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case openai.RoleSystem, openai.RoleDeveloper:
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a %s message may hold only text parts, not %q", m.Role, p.Type)
				}
				if p.Text != "" {
					if out.SystemInstruction == nil {
						out.SystemInstruction = &gemini.Content{}
					}
					out.SystemInstruction.Parts = append(out.SystemInstruction.Parts, gemini.Part{Text: p.Text})
				}
			}
		case openai.RoleUser:
			parts, err := userParts(param, m.Content)
			if err != nil {
				return nil, err
			}
			out.Contents = appendContent(out.Contents, gemini.RoleUser, parts)
		case openai.RoleAssistant:
			parts, err := modelParts(param, &m, names)
			if err != nil {
				return nil, err
			}
			out.Contents = appendContent(out.Contents, gemini.RoleModel, parts)
		case openai.RoleTool:
			name, ok := names[m.ToolCallID]
			if !ok {
				return nil, refuse(param+".tool_call_id", "no earlier assistant tool call has the id %q: Gemini needs the function's name, found by the id", m.ToolCallID)
			}
			var text strings.Builder
			for j, p := range m.Content.Parts {
				if p.Type != openai.PartText {
					return nil, refuse(param+".content["+strconv.Itoa(j)+"]", "a tool message may hold only text parts, not %q", p.Type)
				}
				text.WriteString(p.Text)
			}
			resp := jsonstringObject("output", text.String())
			out.Contents = appendContent(out.Contents, gemini.RoleUser, []gemini.Part{{FunctionResponse: &gemini.FunctionResponse{Name: name, Response: resp}}})
		case openai.RoleFunction:
			return nil, refuse(param+".role", "function messages (the legacy function calling) cannot be sent to a Gemini upstream: use tools and tool messages")
		default:
			return nil, refuse(param+".role", "unknown role %q", m.Role)
		}
	}

	if len(in.Tools) > 0 {
		decls := make([]gemini.FunctionDeclaration, 0, len(in.Tools))
		for i, t := range in.Tools {
			if t.Type != "function" {
				return nil, refuse("tools["+strconv.Itoa(i)+"].type", "only function tools can be sent to a Gemini upstream, not %q", t.Type)
			}
			if t.Function.Name == "" {
				return nil, refuse("tools["+strconv.Itoa(i)+"].function.name", "a function tool needs a name")
			}
			d := gemini.FunctionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
			if isSet(t.Function.Parameters) {
				d.ParametersJSONSchema = t.Function.Parameters
			}
			decls = append(decls, d)
		}
		out.Tools = []gemini.Tool{{FunctionDeclarations: decls}}
	}
	if tc := in.ToolChoice; tc != nil {
		fc := &gemini.FunctionCallingConfig{}
		switch tc.Mode {
		case openai.ToolChoiceAuto:
			fc.Mode = gemini.ModeAuto
		case openai.ToolChoiceNone:
			fc.Mode = gemini.ModeNone
		case openai.ToolChoiceRequired:
			fc.Mode = gemini.ModeAny
		case "":
			if tc.Type != "function" || tc.Name == "" {
				return nil, refuse("tool_choice", "only a function can be named in tool_choice for a Gemini upstream, with its name")
			}
			fc.Mode, fc.AllowedFunctionNames = gemini.ModeAny, []string{tc.Name}
		default:
			return nil, refuse("tool_choice", "unknown tool_choice %q: use auto, none, required or a function", tc.Mode)
		}
		out.ToolConfig = &gemini.ToolConfig{FunctionCallingConfig: fc}
	}
	return out, nil
}

// refuseFor returns a RequestError for the first field of in that an
// upstream (who: "a Gemini upstream") cannot express (api: its API's name).
func refuseFor(in *openai.ChatRequest, who, api string) error {
	to := api + " has no equivalent"
	switch {
	case in.N != nil && *in.N > 1:
		return refuse("n", "only one choice can be asked of %s through warmgate: send n requests, or n = 1", who)
	case in.Logprobs != nil && *in.Logprobs:
		return refuse("logprobs", "log probabilities cannot be asked of %s through warmgate: remove logprobs", who)
	case in.TopLogprobs != nil:
		return refuse("top_logprobs", "log probabilities cannot be asked of %s through warmgate: remove top_logprobs", who)
	case isSet(in.Audio):
		return refuse("audio", "audio output cannot be asked of %s through warmgate", who)
	case isSet(in.LogitBias) && string(bytes.TrimSpace(in.LogitBias)) != "{}":
		return refuse("logit_bias", "token biases cannot be sent to %s (%s): remove logit_bias", who, to)
	case isSet(in.Functions), isSet(in.FunctionCall):
		return refuse("functions", "the legacy functions and function_call cannot be sent to %s: use tools and tool_choice", who)
	case isSet(in.WebSearchOptions):
		return refuse("web_search_options", "OpenAI's web search cannot be asked of %s: remove web_search_options", who)
	}
	for _, m := range in.Modalities {
		if m != "text" {
			return refuse("modalities", "%s answers only in text through warmgate, not %q", who, m)
		}
	}
	return nil
}

// responseFormatToGemini maps response_format: text is the default,
// json_object asks for JSON, json_schema for JSON of a schema.
func responseFormatToGemini(rf json.RawMessage, gc *gemini.GenerationConfig) error {
	if !isSet(rf) {
		return nil
	}
	var f struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(rf, &f); err != nil {
		return refuse("response_format", "must be an object with a type: %v", err)
	}
	switch f.Type {
	case "text":
	case "json_object":
		gc.ResponseMimeType = "application/json"
	case "json_schema":
		gc.ResponseMimeType = "application/json"
		if isSet(f.JSONSchema.Schema) {
			gc.ResponseJSONSchema = f.JSONSchema.Schema
		}
	default:
		return refuse("response_format.type", "unknown type %q: use text, json_object or json_schema", f.Type)
	}
	return nil
}

// jsonstringObject returns {"key":"value"} with value as a JSON string.
func jsonstringObject(key, value string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{key: value})
	return b
}

// appendContent appends parts as a content of role, merged into the last
// content when it has the same role.
func appendContent(cs []gemini.Content, role string, parts []gemini.Part) []gemini.Content {
	if len(parts) == 0 {
		return cs
	}
	if n := len(cs); n > 0 && cs[n-1].Role == role {
		cs[n-1].Parts = append(cs[n-1].Parts, parts...)
		return cs
	}
	return append(cs, gemini.Content{Role: role, Parts: parts})
}

// userParts translates a user message's content.
func userParts(param string, c openai.MessageContent) ([]gemini.Part, error) {
	parts := make([]gemini.Part, 0, len(c.Parts))
	for j, p := range c.Parts {
		pp := param + ".content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case openai.PartText:
			if p.Text != "" {
				parts = append(parts, gemini.Part{Text: p.Text})
			}
		case openai.PartImageURL:
			if p.ImageURL == nil {
				return nil, refuse(pp+".image_url", "an image_url part needs an image_url")
			}
			part, err := imagePart(pp+".image_url.url", p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part)
		default:
			return nil, refuse(pp+".type", "a %q part cannot be sent to a Gemini upstream: only text and image_url parts can", p.Type)
		}
	}
	return parts, nil
}

// imageMediaTypes are the image media types Gemini takes, by extension.
var imageMediaTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
	".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif",
}

// imagePart turns an image URL into an inlineData (data URL) or fileData
// (http(s) URL) part.
func imagePart(param, u string) (gemini.Part, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		media, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || media == "" {
			return gemini.Part{}, refuse(param, "a data URL image must be data:<media type>;base64,<data>")
		}
		return gemini.Part{InlineData: &gemini.Blob{MimeType: media, Data: data}}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		p := u
		if i := strings.IndexAny(p, "?#"); i >= 0 {
			p = p[:i]
		}
		media, ok := imageMediaTypes[strings.ToLower(path.Ext(p))]
		if !ok {
			return gemini.Part{}, refuse(param, "Gemini needs an image's media type, and this URL's extension does not tell it (use .png, .jpg, .jpeg, .webp, .gif, .heic or .heif, or send the image as a base64 data URL)")
		}
		return gemini.Part{FileData: &gemini.FileData{MimeType: media, FileURI: u}}, nil
	}
	return gemini.Part{}, refuse(param, "an image must be an http(s) URL or a base64 data URL")
}

// modelParts translates an assistant message: its text, then its tool
// calls as functionCall parts, whose names it records by id.
func modelParts(param string, m *openai.ChatMessage, names map[string]string) ([]gemini.Part, error) {
	texts, err := assistantTexts(param, m, "a Gemini upstream")
	if err != nil {
		return nil, err
	}
	parts := make([]gemini.Part, 0, len(texts)+len(m.ToolCalls))
	for _, text := range texts {
		parts = append(parts, gemini.Part{Text: text})
	}
	for j, tc := range m.ToolCalls {
		pp := param + ".tool_calls[" + strconv.Itoa(j) + "]"
		if tc.Type != "" && tc.Type != "function" {
			return nil, refuse(pp+".type", "only function tool calls can be sent to a Gemini upstream, not %q", tc.Type)
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, refuse(pp, "a tool call needs an id and a function name")
		}
		args, err := argumentsObject(tc.Function.Arguments)
		if err != nil {
			return nil, refuse(pp+".function.arguments", "must be a JSON object (Gemini's functionCall args is one)")
		}
		names[tc.ID] = tc.Function.Name
		parts = append(parts, gemini.Part{FunctionCall: &gemini.FunctionCall{Name: tc.Function.Name, Args: args}, ThoughtSignature: thoughtSignature(tc.ID)})
	}
	return parts, nil
}

// GeminiFinishReason maps Gemini's finishReason to OpenAI's finish_reason:
// STOP is stop; MAX_TOKENS is length; SAFETY, RECITATION, BLOCKLIST,
// PROHIBITED_CONTENT, SPII and IMAGE_SAFETY are content_filter; any other
// (LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, a reason added after this was
// written) is stop. An answer with function calls that stopped is
// tool_calls (toolCalls says whether it has any).
func GeminiFinishReason(reason string, toolCalls bool) string {
	switch reason {
	case gemini.FinishMaxTokens:
		return openai.FinishLength
	case gemini.FinishSafety, gemini.FinishRecitation, gemini.FinishBlocklist, gemini.FinishProhibitedContent,
		gemini.FinishSPII, gemini.FinishImageSafety:
		return openai.FinishContentFilter
	}
	if toolCalls {
		return openai.FinishToolCalls
	}
	return openai.FinishStop
}

// UsageFromGemini reads Gemini's usageMetadata: cachedContentTokenCount
// becomes CacheReadTokens and the rest of promptTokenCount InputTokens;
// OutputTokens is candidatesTokenCount + thoughtsTokenCount (thinking
// tokens are billed as output, and OpenAI's completion_tokens includes
// reasoning tokens too).
func UsageFromGemini(u *gemini.UsageMetadata) Usage {
	if u == nil {
		return Usage{}
	}
	cached := min(max(u.CachedContentTokenCount, 0), max(u.PromptTokenCount, 0))
	return Usage{
		InputTokens:     u.PromptTokenCount - cached + u.ToolUsePromptTokenCount,
		CacheReadTokens: cached,
		OutputTokens:    u.CandidatesTokenCount + u.ThoughtsTokenCount,
	}
}

// thoughtSeparator separates a tool call id from the thought signature
// carried in it (see [geminiCallID]).
const thoughtSeparator = "__thought__"

// geminiCallID is the OpenAI id of the i-th function call of an answer:
// Gemini's own id when it gives one, else one made from the answer's id
// (call_<responseId>_<i>). When the call carries a thought signature
// (thinking models attach one and require it back with the call in the
// next turn), the id carries it too: id + "__thought__" + the signature
// in unpadded base64url, so that a client that sends the call back, as
// every client does, sends the signature back without knowing it.
func geminiCallID(p *gemini.Part, responseID string, i int) string {
	id := p.FunctionCall.ID
	if id == "" {
		id = "call_" + responseID + "_" + strconv.Itoa(i)
	}
	if p.ThoughtSignature != "" {
		if raw, err := base64.StdEncoding.DecodeString(p.ThoughtSignature); err == nil {
			return id + thoughtSeparator + base64.RawURLEncoding.EncodeToString(raw)
		}
	}
	return id
}

// thoughtSignature returns the thought signature a tool call id carries
// (see [geminiCallID]), "" for none.
func thoughtSignature(id string) string {
	_, enc, ok := strings.Cut(id, thoughtSeparator)
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) == 0 {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// GeminiResponseToChat translates a Gemini answer into an OpenAI chat
// completion. created is the completion's Unix time and model the
// request's model, used when the answer names no modelVersion.
//
// The first candidate is the answer (n > 1 is refused on the way in). The
// id is "chatcmpl-" + responseId. Text parts are joined into the content;
// thought parts (a thinking model's summaries) are dropped; functionCall
// parts become tool_calls, with Gemini's id or a generated one
// (call_<responseId>_<n>), followed by "__thought__" and the call's
// thought signature when it has one (a thinking model requires it back
// with the call: the id brings it back), and finish_reason tool_calls. finishReason
// maps as [GeminiFinishReason] says. A prompt blocked by
// promptFeedback.blockReason is one choice with empty content and
// finish_reason content_filter. usageMetadata becomes usage as
// [UsageFromGemini] and [Usage.OpenAI] say.
//
// An answer with neither candidates nor a block reason, or a part of
// another kind (inlineData, executableCode, ...), is an [*AnswerError].
func GeminiResponseToChat(in *gemini.Response, created int64, model string) (*openai.ChatResponse, error) {
	if in.ModelVersion != "" {
		model = in.ModelVersion
	}
	out := &openai.ChatResponse{ID: "chatcmpl-" + in.ResponseID, Object: "chat.completion", Created: created, Model: model}
	if in.UsageMetadata != nil {
		u := UsageFromGemini(in.UsageMetadata).OpenAI()
		out.Usage = &u
	}
	if len(in.Candidates) == 0 {
		if in.PromptFeedback == nil || in.PromptFeedback.BlockReason == "" {
			return nil, badAnswer("the answer has no candidates and no block reason")
		}
		finish := openai.FinishContentFilter
		out.Choices = []openai.ChatChoice{{Message: openai.ChatMessage{Role: openai.RoleAssistant, Content: openai.TextContent("")}, FinishReason: &finish}}
		return out, nil
	}
	c := &in.Candidates[0]
	var text strings.Builder
	var calls []openai.ToolCall
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			switch {
			case p.Thought:
			case p.FunctionCall != nil:
				calls = append(calls, openai.ToolCall{ID: geminiCallID(&p, in.ResponseID, len(calls)), Type: "function",
					Function: openai.FunctionCall{Name: p.FunctionCall.Name, Arguments: inputArguments(p.FunctionCall.Args)}})
			case p.InlineData != nil || p.FileData != nil || p.FunctionResponse != nil:
				return nil, badAnswer("a candidate part other than text and functionCall has no OpenAI equivalent")
			default:
				text.WriteString(p.Text)
			}
		}
	}
	msg := openai.ChatMessage{Role: openai.RoleAssistant, ToolCalls: calls}
	if text.Len() > 0 || len(calls) == 0 {
		msg.Content = openai.TextContent(text.String())
	}
	finish := GeminiFinishReason(c.FinishReason, len(calls) > 0)
	out.Choices = []openai.ChatChoice{{Message: msg, FinishReason: &finish}}
	return out, nil
}

// GeminiErrorToChat translates a Gemini error answer (status and body)
// into an OpenAI one: the status to answer with and the body.
//
// The status is kept (a status that is not an error, as in a stream, is
// taken from the body's code or status name). The type and code follow
// Gemini's status:
//
//	INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE  invalid_request_error
//	UNAUTHENTICATED     authentication_error, code invalid_api_key
//	PERMISSION_DENIED   permission_error
//	NOT_FOUND           not_found_error
//	RESOURCE_EXHAUSTED  rate_limit_error, code rate_limit_exceeded (429)
//	UNAVAILABLE         server_error, code overloaded (503)
//	DEADLINE_EXCEEDED   server_error, code timeout (504)
//	INTERNAL and others server_error
//
// A wrong key, which Google answers with 400 INVALID_ARGUMENT and the
// reason API_KEY_INVALID in its details, is 401 authentication_error, code
// invalid_api_key. The message is kept. A body that is not a Gemini error gets a type from
// the status and a message saying what the upstream answered.
func GeminiErrorToChat(status int, body []byte) (int, openai.ErrorBody) {
	var e gemini.ErrorBody
	if json.Unmarshal(body, &e) != nil || (e.Error.Message == "" && e.Error.Status == "") {
		e = gemini.NewError(status, noErrorBody(status))
	}
	if status < 400 {
		status = gemini.HTTPStatus(e.Error.Status)
		if status == 0 {
			status = e.Error.Code
		}
		if status < 400 || status > 599 {
			status = http.StatusInternalServerError
		}
	}
	typ, code := openaiTypeForStatus(status), ""
	switch e.Error.Status {
	case gemini.StatusInvalidArgument, gemini.StatusFailedPrecondition, gemini.StatusOutOfRange:
		typ = openai.TypeInvalidRequest
	case gemini.StatusUnauthenticated:
		typ, code = openai.TypeAuthentication, "invalid_api_key"
	case gemini.StatusPermissionDenied:
		typ = openai.TypePermission
	case gemini.StatusNotFound:
		typ = openai.TypeNotFound
	case gemini.StatusResourceExhausted:
		typ, code = openai.TypeRateLimit, "rate_limit_exceeded"
	case gemini.StatusUnavailable:
		typ, code = openai.TypeServer, "overloaded"
	case gemini.StatusDeadlineExceeded:
		typ, code = openai.TypeServer, "timeout"
	case gemini.StatusInternal, gemini.StatusUnknown:
		typ = openai.TypeServer
	}
	if e.Error.Status == gemini.StatusInvalidArgument && bytes.Contains(e.Error.Details, []byte(`"API_KEY_INVALID"`)) {
		// Google answers a wrong key with 400 INVALID_ARGUMENT (reason
		// API_KEY_INVALID): the client gets the 401 its SDK knows a wrong
		// key by.
		status, typ, code = http.StatusUnauthorized, openai.TypeAuthentication, "invalid_api_key"
	}
	return status, openai.NewError(typ, code, e.Error.Message)
}

// GeminiErrorToMessages translates a Gemini error answer into an
// Anthropic one, through OpenAI's form: [GeminiErrorToChat], then
// [ChatErrorToMessages] (RESOURCE_EXHAUSTED is 429 rate_limit_error,
// UNAVAILABLE 503 overloaded_error, DEADLINE_EXCEEDED 504 timeout_error).
func GeminiErrorToMessages(status int, body []byte) (int, anthropic.ErrorBody) {
	status, oe := GeminiErrorToChat(status, body)
	return status, anthropic.NewError(anthropic.TypeForStatus(status), oe.Error.Message)
}

// MessagesRequestToGemini translates an Anthropic Messages request into a
// Gemini request, through OpenAI's form: [MessagesRequestToChat], then
// [ChatRequestToGemini]; top_k, which OpenAI lacks, is carried to topK,
// and a tool_result's is_error makes its functionResponse's response
// {"error": content} instead of {"output": content}.
// What either step refuses or drops is refused or dropped (a refusal's
// param names the field in OpenAI's form).
func MessagesRequestToGemini(in *anthropic.Request) (*gemini.Request, error) {
	chat, err := MessagesRequestToChat(in)
	if err != nil {
		return nil, err
	}
	out, err := ChatRequestToGemini(chat)
	if err != nil {
		return nil, err
	}
	if in.TopK != nil {
		if out.GenerationConfig == nil {
			out.GenerationConfig = &gemini.GenerationConfig{}
		}
		out.GenerationConfig.TopK = in.TopK
	}
	// is_error: the result goes as {"error": ...}, which Gemini reads as
	// the call's failure. Tool results and functionResponse parts come in
	// the same order.
	var failed []bool
	for _, m := range in.Messages {
		for _, b := range m.Content.Blocks {
			if b.Type == anthropic.BlockToolResult {
				failed = append(failed, b.IsError)
			}
		}
	}
	k := 0
	for _, c := range out.Contents {
		for _, p := range c.Parts {
			if p.FunctionResponse == nil || k >= len(failed) {
				continue
			}
			if failed[k] {
				var r struct {
					Output string `json:"output"`
				}
				_ = json.Unmarshal(p.FunctionResponse.Response, &r)
				p.FunctionResponse.Response = jsonstringObject("error", r.Output)
			}
			k++
		}
	}
	return out, nil
}

// GeminiResponseToMessages translates a Gemini answer into an Anthropic
// one, through OpenAI's form: [GeminiResponseToChat], then
// [ChatResponseToMessages]. The id is "msg_" + responseId.
func GeminiResponseToMessages(in *gemini.Response, model string) (*anthropic.Response, error) {
	chat, err := GeminiResponseToChat(in, 0, model)
	if err != nil {
		return nil, err
	}
	out, err := ChatResponseToMessages(chat)
	if err != nil {
		return nil, err
	}
	out.ID = "msg_" + in.ResponseID
	return out, nil
}

// ChatEmbeddingsToGemini translates an OpenAI embeddings request into a
// Gemini batchEmbedContents request (one request per input, each with the
// model as "models/NAME"); dimensions becomes outputDimensionality. The
// caller sends it to models/NAME:batchEmbedContents, which takes one
// input as well as many. model is the upstream's model name.
//
// Refused with a [*RequestError]: token arrays as input (Gemini takes
// only text), an empty input, and an encoding_format other than float and
// base64. user is dropped.
func ChatEmbeddingsToGemini(in *openai.EmbeddingsRequest, model string) (*gemini.BatchEmbedRequest, error) {
	if len(in.Input.Tokens) > 0 {
		return nil, refuse("input", "a Gemini upstream takes only text to embed, not token arrays: send the text")
	}
	if len(in.Input.Texts) == 0 {
		return nil, refuse("input", "nothing to embed: send a string or an array of strings")
	}
	switch in.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, refuse("encoding_format", "unknown encoding_format %q: use float or base64", in.EncodingFormat)
	}
	name := model
	if !strings.HasPrefix(name, "models/") {
		name = "models/" + name
	}
	out := &gemini.BatchEmbedRequest{Requests: make([]gemini.EmbedRequest, len(in.Input.Texts))}
	for i, s := range in.Input.Texts {
		out.Requests[i] = gemini.EmbedRequest{Model: name, Content: gemini.Content{Parts: []gemini.Part{{Text: s}}}, OutputDimensionality: in.Dimensions}
	}
	return out, nil
}

// GeminiEmbeddingsToChat translates a batchEmbedContents answer into an
// OpenAI embeddings answer: one embedding per input, in order, as floats
// or, when the request asked for encoding_format base64, as base64 of
// little-endian float32s (what OpenAI sends). Gemini reports no token
// counts for embeddings: usage is zero. inputs is how many inputs were
// sent; an answer with another number of embeddings is an [*AnswerError].
func GeminiEmbeddingsToChat(in *gemini.BatchEmbedResponse, model, encodingFormat string, inputs int) (*openai.EmbeddingsResponse, error) {
	if len(in.Embeddings) != inputs {
		return nil, badAnswer("%d embeddings for %d inputs", len(in.Embeddings), inputs)
	}
	out := &openai.EmbeddingsResponse{Object: "list", Model: model, Data: make([]openai.EmbeddingData, len(in.Embeddings))}
	for i, e := range in.Embeddings {
		var v []byte
		if encodingFormat == "base64" {
			raw := make([]byte, 4*len(e.Values))
			for j, f := range e.Values {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(float32(f)))
			}
			v = jsonstringAppendBase64(raw)
		} else {
			var err error
			if v, err = json.Marshal(e.Values); err != nil {
				return nil, badAnswer("an embedding does not encode: %v", err)
			}
		}
		out.Data[i] = openai.EmbeddingData{Object: "embedding", Index: i, Embedding: v}
	}
	return out, nil
}

// jsonstringAppendBase64 returns raw as a JSON string of its base64.
func jsonstringAppendBase64(raw []byte) []byte {
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(raw))+2)
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"')
}

// ChatRequestBodyToGemini translates an OpenAI chat request body into a
// Gemini request body (see [ChatRequestToGemini]).
func ChatRequestBodyToGemini(body []byte) ([]byte, error) {
	var in openai.ChatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid chat completions request: %v", err)
	}
	out, err := ChatRequestToGemini(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// MessagesRequestBodyToGemini translates an Anthropic Messages request
// body into a Gemini request body (see [MessagesRequestToGemini]).
func MessagesRequestBodyToGemini(body []byte) ([]byte, error) {
	var in anthropic.Request
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid Messages request: %v", err)
	}
	out, err := MessagesRequestToGemini(&in)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// GeminiResponseBodyToChat translates a Gemini answer body into an OpenAI
// chat completion body (see [GeminiResponseToChat]), and returns the
// answer's usage for accounting.
func GeminiResponseBodyToChat(body []byte, created int64, model string) ([]byte, Usage, error) {
	var in gemini.Response
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid GenerateContentResponse: %v", err)
	}
	out, err := GeminiResponseToChat(&in, created, model)
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, UsageFromGemini(in.UsageMetadata), err
}

// GeminiResponseBodyToMessages translates a Gemini answer body into an
// Anthropic answer body (see [GeminiResponseToMessages]), and returns the
// answer's usage for accounting.
func GeminiResponseBodyToMessages(body []byte, model string) ([]byte, Usage, error) {
	var in gemini.Response
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid GenerateContentResponse: %v", err)
	}
	out, err := GeminiResponseToMessages(&in, model)
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, UsageFromGemini(in.UsageMetadata), err
}

// ChatEmbeddingsBodyToGemini translates an OpenAI embeddings request body
// into a Gemini batchEmbedContents request body for model (see
// [ChatEmbeddingsToGemini]).
func ChatEmbeddingsBodyToGemini(body []byte, model string) ([]byte, error) {
	var in openai.EmbeddingsRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, refuse("", "the request body is not a valid embeddings request: %v", err)
	}
	out, err := ChatEmbeddingsToGemini(&in, model)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// GeminiEmbeddingsBodyToChat translates a batchEmbedContents answer body
// into an OpenAI embeddings answer body (see [GeminiEmbeddingsToChat]);
// request is the client's OpenAI request body, which says how many inputs
// were sent and in which encoding the client wants the vectors. The usage
// is zero: Gemini reports none for embeddings.
func GeminiEmbeddingsBodyToChat(body, request []byte, model string) ([]byte, Usage, error) {
	var req openai.EmbeddingsRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, Usage{}, badAnswer("the request is not a valid embeddings request: %v", err)
	}
	var in gemini.BatchEmbedResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, Usage{}, badAnswer("the answer is not a valid BatchEmbedContentsResponse: %v", err)
	}
	out, err := GeminiEmbeddingsToChat(&in, model, req.EncodingFormat, len(req.Input.Texts))
	if err != nil {
		return nil, Usage{}, err
	}
	b, err := json.Marshal(out)
	return b, Usage{}, err
}

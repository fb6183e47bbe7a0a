// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"strconv"

	"github.com/warmgate/warmgate/internal/jsonstring"
	"github.com/warmgate/warmgate/internal/translate/gemini"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// GeminiToChatStream translates a Gemini streamGenerateContent?alt=sse
// stream into an OpenAI chat completions stream, event by event. Create
// one per stream with [NewGeminiToChatStream]; it is not safe for
// concurrent use.
//
// Each Gemini event's data is a whole GenerateContentResponse holding the
// next piece of the answer. Gemini's stream has no end marker: the body
// just ends. A stream is complete when a chunk carries a finishReason (or
// a promptFeedback.blockReason): Gemini sends it, with the final
// usageMetadata, in the last chunk. A body that ends before it was cut.
//
// What comes out:
//   - the first chunk: a chunk with role assistant and empty content (id
//     "chatcmpl-" + responseId, model the modelVersion).
//   - text parts: a chunk with the text as content; thought parts: nothing.
//   - functionCall parts: one chunk per call with its index, id (Gemini's,
//     or call_<responseId>_<n>, with its thought signature as
//     [GeminiResponseToChat] says), type, name and the whole arguments
//     (Gemini sends each call whole).
//   - finishReason: the finish chunk (as [GeminiFinishReason] maps it,
//     tool_calls when the answer called functions), then the usage chunk
//     when the client asked for stream_options.include_usage, then [DONE].
//   - a blockReason: the finish chunk with content_filter, the usage
//     chunk, [DONE].
//   - an error body ({"error":{...}}, sent when the stream fails): no
//     output; Event returns a [*StreamError] holding it in OpenAI's shape.
//
// A candidate other than the first, or a part of another kind, makes
// Event return an [*AnswerError]. Events after the end are ignored.
type GeminiToChatStream struct {
	opts GeminiToChatOptions

	id, model string
	respID    string // the first chunk's responseId, for the tool call ids
	started   bool
	stopped   bool
	nextTool  int
	usage     Usage
	usageSeen bool

	resp   gemini.Response
	chunk  openai.ChatChunk
	out    encoder
	prefix []byte // every chunk's JSON up to the delta's fields
	line   []byte
	choice [1]openai.ChunkChoice
	call   [1]openai.ToolCall
	idx    int
	finish string
	ou     openai.Usage
}

// GeminiToChatOptions configures a [GeminiToChatStream].
type GeminiToChatOptions struct {
	// IncludeUsage is the client's stream_options.include_usage.
	IncludeUsage bool
	// Created is the chunks' created time (Unix seconds).
	Created int64
	// Model is the request's model, used when the chunks name no
	// modelVersion.
	Model string
	// IDPrefix goes before Gemini's responseId to make the chunks' id;
	// "" is "chatcmpl-".
	IDPrefix string
}

// NewGeminiToChatStream returns a translator for one stream.
func NewGeminiToChatStream(opts GeminiToChatOptions) *GeminiToChatStream {
	return &GeminiToChatStream{opts: opts, model: opts.Model}
}

// Event translates one event of the Gemini stream, calling emit for each
// chunk it yields. An error from emit is returned as is. Events without
// data yield nothing.
func (t *GeminiToChatStream) Event(ev sse.Event, emit Emit) error {
	if len(ev.Data) == 0 || t.stopped {
		return nil
	}
	t.resp = gemini.Response{}
	var probe struct {
		Error *gemini.Error `json:"error"`
	}
	if err := json.Unmarshal(ev.Data, &probe); err != nil {
		return badAnswer("a stream chunk is not valid JSON: %v", err)
	}
	if probe.Error != nil {
		status, body := GeminiErrorToChat(0, ev.Data)
		b, _ := json.Marshal(body)
		return &StreamError{Status: status, Type: body.Error.Type, Message: body.Error.Message, Body: b}
	}
	if err := json.Unmarshal(ev.Data, &t.resp); err != nil {
		return badAnswer("a stream chunk is not a GenerateContentResponse: %v", err)
	}
	r := &t.resp
	if u := r.UsageMetadata; u != nil {
		t.usage, t.usageSeen = UsageFromGemini(u), true
	}
	if !t.started {
		t.started = true
		prefix := t.opts.IDPrefix
		if prefix == "" {
			prefix = "chatcmpl-"
		}
		t.respID = r.ResponseID
		t.id = prefix + r.ResponseID
		if r.ModelVersion != "" {
			t.model = r.ModelVersion
		}
		t.prefix = jsonstring.Append(append(t.prefix[:0], `{"id":`...), t.id)
		t.prefix = append(t.prefix, `,"object":"chat.completion.chunk","created":`...)
		t.prefix = strconv.AppendInt(t.prefix, t.opts.Created, 10)
		t.prefix = jsonstring.Append(append(t.prefix, `,"model":`...), t.model)
		t.prefix = append(t.prefix, `,"choices":[{"index":0,"delta":{`...)
		empty := ""
		if err := t.emitDelta(emit, openai.ChunkDelta{Role: openai.RoleAssistant, Content: &empty}, nil); err != nil {
			return err
		}
	}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			return t.end(emit, openai.FinishContentFilter)
		}
		return nil // a chunk with only usage
	}
	for i := range r.Candidates {
		c := &r.Candidates[i]
		if c.Index != 0 {
			return badAnswer("a chunk for candidate %d: an OpenAI client asked for one choice", c.Index)
		}
		if c.Content != nil {
			for j := range c.Content.Parts {
				if err := t.part(emit, &c.Content.Parts[j]); err != nil {
					return err
				}
			}
		}
		if c.FinishReason != "" {
			return t.end(emit, GeminiFinishReason(c.FinishReason, t.nextTool > 0))
		}
	}
	return nil
}

// part emits one part of the answer.
func (t *GeminiToChatStream) part(emit Emit, p *gemini.Part) error {
	switch {
	case p.Thought:
		return nil
	case p.FunctionCall != nil:
		if p.FunctionCall.Name == "" {
			return badAnswer("a functionCall without a name")
		}
		t.idx = t.nextTool
		t.call[0] = openai.ToolCall{Index: &t.idx, ID: geminiCallID(p, t.respID, t.nextTool), Type: "function",
			Function: openai.FunctionCall{Name: p.FunctionCall.Name, Arguments: inputArguments(p.FunctionCall.Args)}}
		t.nextTool++
		return t.emitDelta(emit, openai.ChunkDelta{ToolCalls: t.call[:]}, nil)
	case p.InlineData != nil || p.FileData != nil || p.FunctionResponse != nil:
		return badAnswer("a part other than text and functionCall has no OpenAI equivalent")
	case p.Text == "":
		return nil
	}
	// {...,"delta":{"content":"..."},"finish_reason":null}]}
	t.line = append(append(t.line[:0], t.prefix...), `"content":`...)
	t.line = jsonstring.Append(t.line, p.Text)
	t.line = append(t.line, `},"finish_reason":null}]}`...)
	return emit("", t.line)
}

// end emits the finish chunk, the usage chunk if asked for, and [DONE].
func (t *GeminiToChatStream) end(emit Emit, finish string) error {
	t.stopped = true
	if err := t.emitDelta(emit, openai.ChunkDelta{}, &finish); err != nil {
		return err
	}
	if t.opts.IncludeUsage {
		t.ou = t.usage.OpenAI()
		t.chunk = openai.ChatChunk{ID: t.id, Object: "chat.completion.chunk", Created: t.opts.Created, Model: t.model, Choices: t.choice[:0], Usage: &t.ou}
		b, err := t.out.encode(&t.chunk)
		if err != nil {
			return err
		}
		if err := emit("", b); err != nil {
			return err
		}
	}
	return emit("", done)
}

// emitDelta emits one chunk with one choice.
func (t *GeminiToChatStream) emitDelta(emit Emit, d openai.ChunkDelta, finish *string) error {
	if finish != nil {
		t.finish = *finish
		finish = &t.finish
	}
	t.choice[0] = openai.ChunkChoice{Delta: d, FinishReason: finish}
	t.chunk = openai.ChatChunk{ID: t.id, Object: "chat.completion.chunk", Created: t.opts.Created, Model: t.model, Choices: t.choice[:]}
	b, err := t.out.encode(&t.chunk)
	if err != nil {
		return err
	}
	return emit("", b)
}

// End reports how the source stream went. Call it when the source has no
// more events (or failed); it emits nothing.
func (t *GeminiToChatStream) End() StreamResult {
	return StreamResult{Complete: t.stopped, Usage: t.usage, UsageSeen: t.usageSeen}
}

// chatSource is a stream translator whose output is an OpenAI stream.
type chatSource interface {
	Event(ev sse.Event, emit Emit) error
	End() StreamResult
}

// PivotToMessagesStream translates a stream of another dialect into an
// Anthropic Messages stream through OpenAI's form: each event goes
// through a translator to OpenAI chunks (asked to include usage), and each
// chunk through a [ChatToMessagesStream]. Create one with
// [NewGeminiToMessagesStream] or [NewBedrockToMessagesStream]; it is not
// safe for concurrent use. An error event of the source is returned as a
// [*StreamError] in Anthropic's shape.
type PivotToMessagesStream struct {
	src chatSource
	dst *ChatToMessagesStream
	out Emit
	hop Emit // t.forward, made once
	ev  sse.Event
}

func newPivot(src chatSource, model string) *PivotToMessagesStream {
	p := &PivotToMessagesStream{src: src, dst: NewChatToMessagesStream(model)}
	p.hop = p.forward
	return p
}

// NewGeminiToMessagesStream returns a translator from a Gemini stream to
// an Anthropic one, for one stream. model is the request's model. The
// message's id is "msg_" + Gemini's responseId.
func NewGeminiToMessagesStream(model string) *PivotToMessagesStream {
	return newPivot(NewGeminiToChatStream(GeminiToChatOptions{IncludeUsage: true, Model: model, IDPrefix: "msg_"}), model)
}

func (p *PivotToMessagesStream) forward(name string, data []byte) error {
	p.ev.Name, p.ev.Data = name, data
	if p.ev.IsDone() {
		// The source's usage is finer than OpenAI's (cache writes have
		// no OpenAI field): the final message_delta carries it as is.
		if r := p.src.End(); r.UsageSeen {
			p.dst.usage, p.dst.usageSeen = r.Usage, true
		}
	}
	return p.dst.Event(p.ev, p.out)
}

// Event translates one event of the source stream, calling emit for each
// Anthropic event it yields.
func (p *PivotToMessagesStream) Event(ev sse.Event, emit Emit) error {
	p.out = emit
	err := p.src.Event(ev, p.hop)
	if se, ok := err.(*StreamError); ok {
		status, body := ChatErrorToMessages(se.Status, se.Body)
		b, _ := json.Marshal(body)
		return &StreamError{Status: status, Type: body.Error.Type, Message: body.Error.Message, Body: b}
	}
	return err
}

// End reports how the source stream went: complete when the Anthropic
// stream was completed, with the source's usage.
func (p *PivotToMessagesStream) End() StreamResult {
	r := p.src.End()
	r.Complete = p.dst.End().Complete
	return r
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/jsonstring"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// Emit receives one event of the translated stream: its SSE event name
// ("" for none, as in OpenAI streams) and its data. data is valid only
// during the call: the translator reuses its buffer. Typical emitters are
// sse.WriteEvent on the client's response, or an append to a buffer.
type Emit func(name string, data []byte) error

// done is OpenAI's end-of-stream data.
var done = []byte("[DONE]")

// encoder encodes values into one reused buffer.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// encode returns v's JSON, valid until the next call.
func (e *encoder) encode(v any) ([]byte, error) {
	if e.enc == nil {
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
	}
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	b := e.buf.Bytes()
	return b[:len(b)-1], nil // Encode ends with a newline
}

// Kinds of Anthropic content blocks, as the translators track them.
const (
	kindNone     = iota
	kindText     // text
	kindTool     // tool_use
	kindThinking // thinking, redacted_thinking: dropped for OpenAI clients
)

// MessagesToChatStream translates an Anthropic Messages stream into an
// OpenAI chat completions stream, event by event. Create one per stream
// with [NewMessagesToChatStream]; it is not safe for concurrent use.
//
// What comes out:
//   - message_start: the first chunk, with role assistant and empty content.
//   - text deltas: a chunk with the text as content.
//   - a tool_use block's start: a chunk with the call's index, id, type and
//     name, and empty arguments; each input_json_delta: a chunk with the
//     call's index and the argument fragment.
//   - message_delta: the finish chunk (empty delta, finish_reason as
//     [FinishReason] maps the stop reason).
//   - message_stop: the usage chunk (no choices), when the client asked for
//     stream_options.include_usage, then [DONE].
//   - thinking blocks and their deltas, ping, content_block_stop, events of
//     unknown types: nothing (thinking is dropped: see docs/providers.md).
//   - an error event: no output; Event returns a [*StreamError] holding the
//     error in OpenAI's shape.
//
// An event out of order (a delta before its block started, a block after
// the message ended, a server tool's block) makes Event return an
// [*AnswerError]. Events after message_stop are ignored.
type MessagesToChatStream struct {
	includeUsage bool
	created      int64

	id, model string
	started   bool // message_start seen
	finished  bool // message_delta seen: the finish chunk went out
	stopped   bool // message_stop seen: [DONE] went out
	usageSeen bool
	usage     Usage

	blocks   []blockState // by Anthropic index
	nextTool int          // the next OpenAI tool call index

	ev    anthropic.StreamEvent
	chunk openai.ChatChunk
	out   encoder
	// prefix is every chunk's JSON up to the delta's fields, made at
	// message_start; line is the reused buffer of fragment chunks.
	prefix, line []byte
	// reused pieces of chunk
	choice   [1]openai.ChunkChoice
	call     [1]openai.ToolCall
	callIdx  int
	finish   string
	oaiUsage openai.Usage
}

type blockState struct {
	kind int
	tool int // OpenAI tool call index, for kindTool
	open bool
}

// MessagesToChatOptions configures a [MessagesToChatStream].
type MessagesToChatOptions struct {
	// IncludeUsage is the client's stream_options.include_usage: send a
	// final chunk with the usage before [DONE].
	IncludeUsage bool
	// Created is the chunks' created time (Unix seconds).
	Created int64
}

// NewMessagesToChatStream returns a translator for one stream.
func NewMessagesToChatStream(opts MessagesToChatOptions) *MessagesToChatStream {
	return &MessagesToChatStream{includeUsage: opts.IncludeUsage, created: opts.Created}
}

// Event translates one event of the Anthropic stream, calling emit for each
// chunk it yields (none, one, or for message_stop two or three). An error
// from emit is returned as is. Events without data (comments, heartbeats)
// yield nothing.
func (t *MessagesToChatStream) Event(ev sse.Event, emit Emit) error {
	if len(ev.Data) == 0 || t.stopped {
		return nil
	}
	t.ev = anthropic.StreamEvent{}
	if err := json.Unmarshal(ev.Data, &t.ev); err != nil {
		return badAnswer("a stream event is not valid JSON: %v", err)
	}
	typ := t.ev.Type
	if typ == "" {
		typ = ev.Name
	}
	switch typ {
	case anthropic.EventPing:
		return nil
	case anthropic.EventError:
		return t.streamError(ev.Data)
	case anthropic.EventMessageStart:
		if t.started {
			return badAnswer("a second message_start")
		}
		if t.ev.Message == nil {
			return badAnswer("message_start without a message")
		}
		t.started = true
		t.id, t.model = t.ev.Message.ID, t.ev.Message.Model
		t.prefix = jsonstring.Append(append(t.prefix[:0], `{"id":`...), t.id)
		t.prefix = append(t.prefix, `,"object":"chat.completion.chunk","created":`...)
		t.prefix = strconv.AppendInt(t.prefix, t.created, 10)
		t.prefix = jsonstring.Append(append(t.prefix, `,"model":`...), t.model)
		t.prefix = append(t.prefix, `,"choices":[{"index":0,"delta":{`...)
		t.addUsage(&t.ev.Message.Usage)
		empty := ""
		return t.emitDelta(emit, openai.ChunkDelta{Role: openai.RoleAssistant, Content: &empty}, nil)
	}
	if !t.started {
		if isKnownEvent(typ) {
			return badAnswer("a %s event before message_start", typ)
		}
		return nil
	}
	switch typ {
	case anthropic.EventContentBlockStart:
		return t.blockStart(emit)
	case anthropic.EventContentBlockDelta:
		return t.blockDelta(emit)
	case anthropic.EventContentBlockStop:
		b, err := t.openBlock()
		if err != nil {
			return err
		}
		b.open = false
		return nil
	case anthropic.EventMessageDelta:
		if t.finished {
			return badAnswer("a second message_delta")
		}
		if t.ev.Delta == nil {
			return badAnswer("message_delta without a delta")
		}
		if n := len(t.blocks); n > 0 && t.blocks[n-1].open {
			return badAnswer("message_delta before the last content block stopped")
		}
		t.finished = true
		if t.ev.Usage != nil {
			t.addUsage(t.ev.Usage)
		}
		stop := ""
		if t.ev.Delta.StopReason != nil {
			stop = *t.ev.Delta.StopReason
		}
		finish := FinishReason(stop)
		return t.emitDelta(emit, openai.ChunkDelta{}, &finish)
	case anthropic.EventMessageStop:
		if !t.finished {
			return badAnswer("message_stop before message_delta")
		}
		t.stopped = true
		if t.includeUsage {
			t.oaiUsage = t.usage.OpenAI()
			t.chunk = openai.ChatChunk{ID: t.id, Object: "chat.completion.chunk", Created: t.created, Model: t.model,
				Choices: t.choice[:0], Usage: &t.oaiUsage}
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
	return nil // an event type added after this was written
}

// isKnownEvent reports whether typ is one of the stream's event types.
func isKnownEvent(typ string) bool {
	switch typ {
	case anthropic.EventContentBlockStart, anthropic.EventContentBlockDelta, anthropic.EventContentBlockStop,
		anthropic.EventMessageDelta, anthropic.EventMessageStop:
		return true
	}
	return false
}

// addUsage takes the counts an event reports: message_start's, then
// message_delta's cumulative ones (input counts only when present).
func (t *MessagesToChatStream) addUsage(u *anthropic.Usage) {
	t.usageSeen = true
	if u.InputTokens > 0 {
		t.usage.InputTokens = u.InputTokens
	}
	if u.CacheReadInputTokens > 0 {
		t.usage.CacheReadTokens = u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens > 0 {
		t.usage.CacheCreationTokens = u.CacheCreationInputTokens
	}
	if u.OutputTokens > 0 {
		t.usage.OutputTokens = u.OutputTokens
	}
}

func (t *MessagesToChatStream) blockStart(emit Emit) error {
	if t.finished {
		return badAnswer("content_block_start after message_delta")
	}
	if t.ev.Index == nil || *t.ev.Index != len(t.blocks) || t.ev.ContentBlock == nil {
		return badAnswer("content_block_start out of order: want index %d with a content_block", len(t.blocks))
	}
	if n := len(t.blocks); n > 0 && t.blocks[n-1].open {
		return badAnswer("content_block_start before the previous block stopped")
	}
	cb := t.ev.ContentBlock
	switch cb.Type {
	case anthropic.BlockText:
		t.blocks = append(t.blocks, blockState{kind: kindText, open: true})
		if cb.Text != "" {
			return t.emitText(emit, cb.Text)
		}
		return nil
	case anthropic.BlockToolUse:
		if cb.ID == "" || cb.Name == "" {
			return badAnswer("a tool_use block without an id or a name")
		}
		tool := t.nextTool
		t.nextTool++
		t.blocks = append(t.blocks, blockState{kind: kindTool, tool: tool, open: true})
		return t.emitCall(emit, tool, cb.ID, cb.Name, "")
	case anthropic.BlockThinking, anthropic.BlockRedactedThinking:
		t.blocks = append(t.blocks, blockState{kind: kindThinking, open: true})
		return nil
	}
	return badAnswer("a %q content block has no OpenAI equivalent", cb.Type)
}

func (t *MessagesToChatStream) openBlock() (*blockState, error) {
	if t.ev.Index == nil || *t.ev.Index < 0 || *t.ev.Index >= len(t.blocks) || !t.blocks[*t.ev.Index].open {
		return nil, badAnswer("an event for a content block that is not open")
	}
	return &t.blocks[*t.ev.Index], nil
}

func (t *MessagesToChatStream) blockDelta(emit Emit) error {
	b, err := t.openBlock()
	if err != nil {
		return err
	}
	d := t.ev.Delta
	if d == nil {
		return badAnswer("content_block_delta without a delta")
	}
	switch {
	case b.kind == kindText && d.Type == anthropic.DeltaText:
		if d.Text == "" {
			return nil
		}
		return t.emitText(emit, d.Text)
	case b.kind == kindTool && d.Type == anthropic.DeltaInputJSON:
		if d.PartialJSON == "" {
			return nil
		}
		// {...,"delta":{"tool_calls":[{"index":N,"function":{"arguments":"..."}}]},"finish_reason":null}]}
		t.line = append(append(t.line[:0], t.prefix...), `"tool_calls":[{"index":`...)
		t.line = strconv.AppendInt(t.line, int64(b.tool), 10)
		t.line = jsonstring.Append(append(t.line, `,"function":{"arguments":`...), d.PartialJSON)
		t.line = append(t.line, `}}]},"finish_reason":null}]}`...)
		return emit("", t.line)
	case b.kind == kindThinking && (d.Type == anthropic.DeltaThinking || d.Type == anthropic.DeltaSignature):
		return nil
	}
	return badAnswer("a %q delta does not fit its content block", d.Type)
}

// emitText emits {...,"delta":{"content":"..."},"finish_reason":null}]}.
func (t *MessagesToChatStream) emitText(emit Emit, s string) error {
	t.line = append(append(t.line[:0], t.prefix...), `"content":`...)
	t.line = jsonstring.Append(t.line, s)
	t.line = append(t.line, `},"finish_reason":null}]}`...)
	return emit("", t.line)
}

func (t *MessagesToChatStream) emitCall(emit Emit, index int, id, name, args string) error {
	t.callIdx = index
	t.call[0] = openai.ToolCall{Index: &t.callIdx, ID: id, Function: openai.FunctionCall{Name: name, Arguments: args}}
	if id != "" {
		t.call[0].Type = "function"
	}
	return t.emitDelta(emit, openai.ChunkDelta{ToolCalls: t.call[:]}, nil)
}

// emitDelta emits one chunk with one choice.
func (t *MessagesToChatStream) emitDelta(emit Emit, d openai.ChunkDelta, finish *string) error {
	if finish != nil {
		t.finish = *finish
		finish = &t.finish
	}
	t.choice[0] = openai.ChunkChoice{Delta: d, FinishReason: finish}
	t.chunk = openai.ChatChunk{ID: t.id, Object: "chat.completion.chunk", Created: t.created, Model: t.model, Choices: t.choice[:]}
	b, err := t.out.encode(&t.chunk)
	if err != nil {
		return err
	}
	return emit("", b)
}

// streamError turns the upstream's error event into a StreamError.
func (t *MessagesToChatStream) streamError(data []byte) error {
	status, body := MessagesErrorToChat(0, data)
	b, _ := json.Marshal(body)
	return &StreamError{Status: status, Type: body.Error.Type, Message: body.Error.Message, Body: b}
}

// End reports how the source stream went. Call it when the source has no
// more events (or failed); it emits nothing.
func (t *MessagesToChatStream) End() StreamResult {
	return StreamResult{Complete: t.stopped, Usage: t.usage, UsageSeen: t.usageSeen}
}

// ChatToMessagesStream translates an OpenAI chat completions stream into an
// Anthropic Messages stream, event by event. Create one per stream with
// [NewChatToMessagesStream]; it is not safe for concurrent use. The
// upstream request should ask for stream_options.include_usage (as
// [MessagesRequestToChat] does), so that the final message_delta carries
// the usage.
//
// What comes out:
//   - the first chunk: message_start (the chunk's id and model, empty
//     content, zero usage: OpenAI reports usage only at the end).
//   - content (and refusal) fragments: a text block, started at the first
//     fragment, with a text_delta per fragment.
//   - a tool call's first fragment (the one with its id and name): the open
//     block stopped and a tool_use block started; each argument fragment:
//     an input_json_delta.
//   - a finish_reason: the open block stopped.
//   - [DONE]: message_delta (stop_reason as [StopReason] maps the finish
//     reason; the usage with input_tokens, output_tokens and
//     cache_read_input_tokens), then message_stop.
//   - reasoning_content fragments: nothing (dropped: Anthropic's thinking
//     blocks need a signature only Anthropic can make).
//   - an error chunk ({"error":{...}}): no output; Event returns a
//     [*StreamError] holding the error in Anthropic's shape.
//
// A second choice, or fragments of a tool call after another call began,
// make Event return an [*AnswerError]. Events after [DONE] are ignored.
type ChatToMessagesStream struct {
	model string

	started  bool
	stopped  bool
	id       string
	finish   string
	finished bool

	kind      int // of the open block; kindNone when none is open
	index     int // the next Anthropic block index
	tool      int // OpenAI index of the open tool call
	toolsSeen []int

	usageSeen bool
	usage     Usage

	chunk openai.ChatChunk
	ev    anthropic.StreamEvent
	out   encoder
	line  []byte // the reused buffer of delta events
	// reused pieces of ev
	evIndex int
	block   anthropic.ContentBlock
	delta   anthropic.Delta
	aUsage  anthropic.Usage
	stop    string
}

// NewChatToMessagesStream returns a translator for one stream. model is the
// model of the request, used when the chunks name none.
func NewChatToMessagesStream(model string) *ChatToMessagesStream {
	return &ChatToMessagesStream{model: model}
}

// Event translates one event of the OpenAI stream, calling emit for each
// Anthropic event it yields. An error from emit is returned as is. Events
// without data (comments, heartbeats) yield nothing.
func (t *ChatToMessagesStream) Event(ev sse.Event, emit Emit) error {
	if len(ev.Data) == 0 || t.stopped {
		return nil
	}
	if ev.IsDone() {
		if err := t.start(emit, "", ""); err != nil {
			return err
		}
		if err := t.closeBlock(emit); err != nil {
			return err
		}
		t.stopped = true
		t.stop = StopReason(t.finish)
		t.aUsage = t.usage.Anthropic()
		t.delta = anthropic.Delta{StopReason: &t.stop}
		t.ev = anthropic.StreamEvent{Type: anthropic.EventMessageDelta, Delta: &t.delta, Usage: &t.aUsage}
		if err := t.emit(emit); err != nil {
			return err
		}
		t.ev = anthropic.StreamEvent{Type: anthropic.EventMessageStop}
		return t.emit(emit)
	}
	t.chunk = openai.ChatChunk{}
	if err := json.Unmarshal(ev.Data, &t.chunk); err != nil {
		return badAnswer("a stream chunk is not valid JSON: %v", err)
	}
	if t.chunk.Error != nil {
		status, body := ChatErrorToMessages(0, ev.Data)
		b, _ := json.Marshal(body)
		return &StreamError{Status: status, Type: body.Error.Type, Message: body.Error.Message, Body: b}
	}
	if err := t.start(emit, t.chunk.ID, t.chunk.Model); err != nil {
		return err
	}
	if t.chunk.Usage != nil {
		t.usageSeen = true
		t.usage = UsageFromOpenAI(*t.chunk.Usage)
	}
	for i := range t.chunk.Choices {
		c := &t.chunk.Choices[i]
		if c.Index != 0 {
			return badAnswer("a chunk for choice %d: an Anthropic client takes one choice", c.Index)
		}
		if t.finished {
			if c.Delta.Content == nil && c.Delta.Refusal == nil && len(c.Delta.ToolCalls) == 0 {
				continue
			}
			return badAnswer("content after finish_reason")
		}
		if err := t.choiceDelta(emit, &c.Delta); err != nil {
			return err
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			t.finish = *c.FinishReason
			t.finished = true
			if err := t.closeBlock(emit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *ChatToMessagesStream) choiceDelta(emit Emit, d *openai.ChunkDelta) error {
	for _, s := range [2]*string{d.Content, d.Refusal} {
		if s == nil || *s == "" {
			continue
		}
		if t.kind != kindText {
			if err := t.closeBlock(emit); err != nil {
				return err
			}
			t.block = anthropic.ContentBlock{Type: anthropic.BlockText}
			if err := t.openBlock(emit, kindText); err != nil {
				return err
			}
		}
		if err := t.emitDelta(emit, `,"delta":{"type":"text_delta","text":`, *s); err != nil {
			return err
		}
	}
	for i := range d.ToolCalls {
		tc := &d.ToolCalls[i]
		idx := t.tool
		if tc.Index != nil {
			idx = *tc.Index
		}
		if t.kind != kindTool || idx != t.tool {
			if slicesContains(t.toolsSeen, idx) {
				return badAnswer("fragments of tool call %d after another tool call began", idx)
			}
			if tc.Function.Name == "" {
				return badAnswer("tool call %d begins without a function name", idx)
			}
			if err := t.closeBlock(emit); err != nil {
				return err
			}
			id := tc.ID
			if id == "" { // some servers send none; Anthropic clients need one
				id = "toolu_" + t.id + "_" + strconv.Itoa(idx)
			}
			t.tool = idx
			t.toolsSeen = append(t.toolsSeen, idx)
			t.block = anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: id, Name: tc.Function.Name, Input: json.RawMessage("{}")}
			if err := t.openBlock(emit, kindTool); err != nil {
				return err
			}
		}
		if tc.Function.Arguments != "" {
			if err := t.emitDelta(emit, `,"delta":{"type":"input_json_delta","partial_json":`, tc.Function.Arguments); err != nil {
				return err
			}
		}
	}
	return nil
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// start emits message_start before the first event.
func (t *ChatToMessagesStream) start(emit Emit, id, model string) error {
	if t.started {
		return nil
	}
	t.started = true
	t.id = id
	if model == "" {
		model = t.model
	}
	t.ev = anthropic.StreamEvent{Type: anthropic.EventMessageStart, Message: &anthropic.Response{
		ID: id, Type: "message", Role: anthropic.RoleAssistant, Content: []anthropic.ContentBlock{}, Model: model,
	}}
	return t.emit(emit)
}

// openBlock emits content_block_start for t.block.
func (t *ChatToMessagesStream) openBlock(emit Emit, kind int) error {
	t.kind = kind
	t.evIndex = t.index
	t.ev = anthropic.StreamEvent{Type: anthropic.EventContentBlockStart, Index: &t.evIndex, ContentBlock: &t.block}
	return t.emit(emit)
}

// emitDelta emits a content_block_delta for the open block:
// {"type":"content_block_delta","index":N,"delta":{"type":...,"text":"..."}}
// where head is the delta's JSON up to its string.
func (t *ChatToMessagesStream) emitDelta(emit Emit, head, s string) error {
	t.line = append(t.line[:0], `{"type":"content_block_delta","index":`...)
	t.line = strconv.AppendInt(t.line, int64(t.index), 10)
	t.line = jsonstring.Append(append(t.line, head...), s)
	t.line = append(t.line, `}}`...)
	return emit(anthropic.EventContentBlockDelta, t.line)
}

// closeBlock emits content_block_stop for the open block, if any.
func (t *ChatToMessagesStream) closeBlock(emit Emit) error {
	if t.kind == kindNone {
		return nil
	}
	t.kind = kindNone
	t.evIndex = t.index
	t.index++
	t.ev = anthropic.StreamEvent{Type: anthropic.EventContentBlockStop, Index: &t.evIndex}
	return t.emit(emit)
}

func (t *ChatToMessagesStream) emit(emit Emit) error {
	b, err := t.out.encode(&t.ev)
	if err != nil {
		return err
	}
	return emit(t.ev.Type, b)
}

// End reports how the source stream went. Call it when the source has no
// more events (or failed); it emits nothing.
func (t *ChatToMessagesStream) End() StreamResult {
	return StreamResult{Complete: t.stopped, Usage: t.usage, UsageSeen: t.usageSeen}
}

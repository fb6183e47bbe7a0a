// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/warmgate/warmgate/internal/jsonstring"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// BedrockToChatStream translates a Bedrock ConverseStream into an OpenAI
// chat completions stream, event by event. It takes the events a
// [bedrock.Reader] gives (Name the event or exception type, Data the JSON
// payload). Create one per stream with [NewBedrockToChatStream]; it is not
// safe for concurrent use.
//
// What comes out:
//   - messageStart: the first chunk, with role assistant and empty content.
//   - a text delta: a chunk with the text as content.
//   - contentBlockStart of a toolUse: a chunk with the call's index, id
//     (the toolUseId), type and name, and empty arguments; each toolUse
//     input delta: a chunk with the call's index and the fragment.
//   - reasoningContent deltas, contentBlockStop, events of unknown types:
//     nothing.
//   - messageStop: the finish chunk (as [BedrockFinishReason] maps it).
//   - metadata (the last event, with the usage): the usage chunk when the
//     client asked for stream_options.include_usage, then [DONE]. The
//     stream is complete there: a body that ends before metadata was cut.
//   - an exception (throttlingException, modelStreamErrorException, ...)
//     or a protocol error: no output; Event returns a [*StreamError] as
//     [BedrockErrorToChat] maps it.
//
// An event out of order (a delta before messageStart, a tool input delta
// for a block that is not a tool use, metadata before messageStop) makes
// Event return an [*AnswerError]. Events after metadata are ignored.
type BedrockToChatStream struct {
	opts BedrockToChatOptions

	started, finished, stopped bool
	usage                      Usage
	usageSeen                  bool
	tools                      map[int]int // Bedrock block index → OpenAI tool call index

	ev     bedrock.StreamEvent
	chunk  openai.ChatChunk
	out    encoder
	prefix []byte
	line   []byte
	choice [1]openai.ChunkChoice
	call   [1]openai.ToolCall
	idx    int
	finish string
	ou     openai.Usage
}

// BedrockToChatOptions configures a [BedrockToChatStream].
type BedrockToChatOptions struct {
	// IncludeUsage is the client's stream_options.include_usage.
	IncludeUsage bool
	// ID is the chunks' id (Bedrock's stream has none: the gateway passes
	// its request id).
	ID string
	// Created is the chunks' created time (Unix seconds).
	Created int64
	// Model is the chunks' model (Bedrock's stream names none).
	Model string
}

// NewBedrockToChatStream returns a translator for one stream.
func NewBedrockToChatStream(opts BedrockToChatOptions) *BedrockToChatStream {
	return &BedrockToChatStream{opts: opts}
}

// isBedrockFailure reports whether an event name is an exception or a
// protocol error.
func isBedrockFailure(name string) bool {
	return name == bedrock.ProtocolError || strings.HasSuffix(name, "Exception")
}

// Event translates one event of the Bedrock stream, calling emit for each
// chunk it yields. An error from emit is returned as is.
func (t *BedrockToChatStream) Event(ev sse.Event, emit Emit) error {
	if t.stopped {
		return nil
	}
	if isBedrockFailure(ev.Name) {
		status, body := BedrockErrorToChat(0, ev.Name, ev.Data)
		b, _ := json.Marshal(body)
		return &StreamError{Status: status, Type: body.Error.Type, Message: body.Error.Message, Body: b}
	}
	t.ev = bedrock.StreamEvent{}
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &t.ev); err != nil {
			return badAnswer("a %s event is not valid JSON: %v", ev.Name, err)
		}
	}
	switch ev.Name {
	case bedrock.EventMessageStart:
		if t.started {
			return badAnswer("a second messageStart")
		}
		t.started = true
		t.prefix = jsonstring.Append(append(t.prefix[:0], `{"id":`...), t.opts.ID)
		t.prefix = append(t.prefix, `,"object":"chat.completion.chunk","created":`...)
		t.prefix = strconv.AppendInt(t.prefix, t.opts.Created, 10)
		t.prefix = jsonstring.Append(append(t.prefix, `,"model":`...), t.opts.Model)
		t.prefix = append(t.prefix, `,"choices":[{"index":0,"delta":{`...)
		empty := ""
		return t.emitDelta(emit, openai.ChunkDelta{Role: openai.RoleAssistant, Content: &empty}, nil)
	case bedrock.EventContentBlockStart, bedrock.EventContentBlockDelta, bedrock.EventContentBlockStop, bedrock.EventMessageStop, bedrock.EventMetadata:
	default:
		return nil // an event type added after this was written
	}
	if !t.started {
		return badAnswer("a %s event before messageStart", ev.Name)
	}
	switch ev.Name {
	case bedrock.EventContentBlockStart:
		if t.finished {
			return badAnswer("contentBlockStart after messageStop")
		}
		if t.ev.ContentBlockIndex == nil || t.ev.Start == nil {
			return badAnswer("contentBlockStart without a contentBlockIndex and a start")
		}
		tu := t.ev.Start.ToolUse
		if tu == nil {
			return nil // a start of another kind (none is defined but tool use)
		}
		if tu.ToolUseID == "" || tu.Name == "" {
			return badAnswer("a toolUse start without a toolUseId or a name")
		}
		if _, dup := t.tools[*t.ev.ContentBlockIndex]; dup {
			return badAnswer("a second start of content block %d", *t.ev.ContentBlockIndex)
		}
		if t.tools == nil {
			t.tools = map[int]int{}
		}
		t.idx = len(t.tools)
		t.tools[*t.ev.ContentBlockIndex] = t.idx
		t.call[0] = openai.ToolCall{Index: &t.idx, ID: tu.ToolUseID, Type: "function", Function: openai.FunctionCall{Name: tu.Name}}
		return t.emitDelta(emit, openai.ChunkDelta{ToolCalls: t.call[:]}, nil)
	case bedrock.EventContentBlockDelta:
		if t.finished {
			return badAnswer("contentBlockDelta after messageStop")
		}
		d := t.ev.Delta
		if t.ev.ContentBlockIndex == nil || d == nil {
			return badAnswer("contentBlockDelta without a contentBlockIndex and a delta")
		}
		tool, isTool := t.tools[*t.ev.ContentBlockIndex]
		switch {
		case d.Text != nil:
			if isTool {
				return badAnswer("a text delta in tool use block %d", *t.ev.ContentBlockIndex)
			}
			if *d.Text == "" {
				return nil
			}
			t.line = append(append(t.line[:0], t.prefix...), `"content":`...)
			t.line = jsonstring.Append(t.line, *d.Text)
			t.line = append(t.line, `},"finish_reason":null}]}`...)
			return emit("", t.line)
		case d.ToolUse != nil:
			if !isTool {
				return badAnswer("a toolUse delta in block %d, which is not a tool use", *t.ev.ContentBlockIndex)
			}
			if d.ToolUse.Input == "" {
				return nil
			}
			t.line = append(append(t.line[:0], t.prefix...), `"tool_calls":[{"index":`...)
			t.line = strconv.AppendInt(t.line, int64(tool), 10)
			t.line = jsonstring.Append(append(t.line, `,"function":{"arguments":`...), d.ToolUse.Input)
			t.line = append(t.line, `}}]},"finish_reason":null}]}`...)
			return emit("", t.line)
		}
		return nil // reasoning, citations: dropped
	case bedrock.EventContentBlockStop:
		return nil
	case bedrock.EventMessageStop:
		if t.finished {
			return badAnswer("a second messageStop")
		}
		t.finished = true
		finish := BedrockFinishReason(t.ev.StopReason)
		return t.emitDelta(emit, openai.ChunkDelta{}, &finish)
	}
	// metadata
	if !t.finished {
		return badAnswer("metadata before messageStop")
	}
	t.stopped = true
	if t.ev.Usage != nil {
		t.usage, t.usageSeen = UsageFromBedrock(*t.ev.Usage), true
	}
	if t.opts.IncludeUsage {
		t.ou = t.usage.OpenAI()
		t.chunk = openai.ChatChunk{ID: t.opts.ID, Object: "chat.completion.chunk", Created: t.opts.Created, Model: t.opts.Model, Choices: t.choice[:0], Usage: &t.ou}
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
func (t *BedrockToChatStream) emitDelta(emit Emit, d openai.ChunkDelta, finish *string) error {
	if finish != nil {
		t.finish = *finish
		finish = &t.finish
	}
	t.choice[0] = openai.ChunkChoice{Delta: d, FinishReason: finish}
	t.chunk = openai.ChatChunk{ID: t.opts.ID, Object: "chat.completion.chunk", Created: t.opts.Created, Model: t.opts.Model, Choices: t.choice[:]}
	b, err := t.out.encode(&t.chunk)
	if err != nil {
		return err
	}
	return emit("", b)
}

// End reports how the source stream went. Call it when the source has no
// more events (or failed); it emits nothing.
func (t *BedrockToChatStream) End() StreamResult {
	return StreamResult{Complete: t.stopped, Usage: t.usage, UsageSeen: t.usageSeen}
}

// NewBedrockToMessagesStream returns a translator from a Bedrock
// ConverseStream (the events of a [bedrock.Reader]) to an Anthropic
// stream, for one stream. id is the message's id (the gateway's request
// id; Bedrock's stream has none) and model the request's model.
func NewBedrockToMessagesStream(id, model string) *PivotToMessagesStream {
	return newPivot(NewBedrockToChatStream(BedrockToChatOptions{IncludeUsage: true, ID: id, Model: model}), model)
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// strictDecode decodes data into v, refusing unknown fields and trailing data.
func strictDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// checkAnthropicStream checks that events are a well-formed Anthropic
// Messages stream, or a prefix of one when complete is false: each event
// named for its data's type, message_start first, every block started at
// the next index before its deltas, with deltas of its kind, and stopped
// before the next block and before message_delta; message_delta with a
// stop reason and usage, then message_stop last.
func checkAnthropicStream(events []sse.Event, complete bool) error {
	open, next := -1, 0
	var kind string
	sawDelta, sawStop := false, false
	for i, e := range events {
		var ev anthropic.StreamEvent
		if err := strictDecode(e.Data, &ev); err != nil {
			return fmt.Errorf("event %d: data %q is not an Anthropic event: %v", i, e.Data, err)
		}
		if ev.Type != e.Name {
			return fmt.Errorf("event %d: named %q, data type %q", i, e.Name, ev.Type)
		}
		if sawStop {
			return fmt.Errorf("event %d: %s after message_stop", i, ev.Type)
		}
		if (i == 0) != (ev.Type == anthropic.EventMessageStart) {
			return fmt.Errorf("event %d: %s; message_start must come first, and once", i, ev.Type)
		}
		switch ev.Type {
		case anthropic.EventMessageStart:
			m := ev.Message
			if m == nil || m.Type != "message" || m.Role != anthropic.RoleAssistant || m.Content == nil || len(m.Content) != 0 || m.StopReason != nil {
				return fmt.Errorf("event %d: message_start's message is not an empty assistant message: %s", i, e.Data)
			}
		case anthropic.EventContentBlockStart:
			if sawDelta || open >= 0 || ev.Index == nil || *ev.Index != next || ev.ContentBlock == nil {
				return fmt.Errorf("event %d: content_block_start out of order: %s", i, e.Data)
			}
			kind = ev.ContentBlock.Type
			switch kind {
			case anthropic.BlockText:
				if ev.ContentBlock.Text != "" {
					return fmt.Errorf("event %d: a text block must start empty", i)
				}
			case anthropic.BlockToolUse:
				if ev.ContentBlock.ID == "" || ev.ContentBlock.Name == "" || string(ev.ContentBlock.Input) != "{}" {
					return fmt.Errorf("event %d: a tool_use block must start with an id, a name and input {}: %s", i, e.Data)
				}
			default:
				return fmt.Errorf("event %d: unexpected block type %q", i, kind)
			}
			open = next
			next++
		case anthropic.EventContentBlockDelta:
			if open < 0 || ev.Index == nil || *ev.Index != open || ev.Delta == nil {
				return fmt.Errorf("event %d: content_block_delta for a block that is not open: %s", i, e.Data)
			}
			want := anthropic.DeltaText
			if kind == anthropic.BlockToolUse {
				want = anthropic.DeltaInputJSON
			}
			if ev.Delta.Type != want {
				return fmt.Errorf("event %d: a %s delta in a %s block", i, ev.Delta.Type, kind)
			}
		case anthropic.EventContentBlockStop:
			if open < 0 || ev.Index == nil || *ev.Index != open {
				return fmt.Errorf("event %d: content_block_stop for a block that is not open: %s", i, e.Data)
			}
			open = -1
		case anthropic.EventMessageDelta:
			if sawDelta || open >= 0 || ev.Delta == nil || ev.Delta.StopReason == nil || ev.Usage == nil {
				return fmt.Errorf("event %d: message_delta out of order or without stop_reason and usage: %s", i, e.Data)
			}
			sawDelta = true
		case anthropic.EventMessageStop:
			if !sawDelta {
				return fmt.Errorf("event %d: message_stop before message_delta", i)
			}
			sawStop = true
		default:
			return fmt.Errorf("event %d: unexpected event type %q", i, ev.Type)
		}
	}
	if complete != sawStop {
		return fmt.Errorf("the translator says complete=%v, message_stop sent=%v", complete, sawStop)
	}
	return nil
}

// checkOpenAIStream checks that events are a well-formed OpenAI chat
// completions stream, or a prefix of one when complete is false: unnamed
// events, each a chat.completion.chunk of choice 0 (or the usage chunk, with
// no choices), a tool call's first fragment with its id, type and name and
// the later ones without, nothing but the usage chunk after the finish
// reason, and [DONE] last.
func checkOpenAIStream(events []sse.Event, complete bool) error {
	sawDone, sawFinish := false, false
	calls := map[int]bool{}
	for i, e := range events {
		if e.Name != "" {
			return fmt.Errorf("event %d: named %q; OpenAI stream events have no name", i, e.Name)
		}
		if sawDone {
			return fmt.Errorf("event %d: after [DONE]", i)
		}
		if e.IsDone() {
			sawDone = true
			continue
		}
		var c openai.ChatChunk
		if err := strictDecode(e.Data, &c); err != nil {
			return fmt.Errorf("event %d: data %q is not a chat completion chunk: %v", i, e.Data, err)
		}
		if c.Object != "chat.completion.chunk" || c.Error != nil {
			return fmt.Errorf("event %d: not a chat.completion.chunk: %s", i, e.Data)
		}
		if len(c.Choices) == 0 {
			if c.Usage == nil {
				return fmt.Errorf("event %d: a chunk with neither choices nor usage", i)
			}
			continue
		}
		if len(c.Choices) != 1 || c.Choices[0].Index != 0 {
			return fmt.Errorf("event %d: a chunk must hold choice 0 only: %s", i, e.Data)
		}
		if sawFinish {
			return fmt.Errorf("event %d: a choice after the finish reason", i)
		}
		ch := c.Choices[0]
		for _, tc := range ch.Delta.ToolCalls {
			if tc.Index == nil {
				return fmt.Errorf("event %d: a tool call fragment without index", i)
			}
			first := !calls[*tc.Index]
			calls[*tc.Index] = true
			if first != (tc.ID != "") || first != (tc.Function.Name != "") || first != (tc.Type == "function") {
				return fmt.Errorf("event %d: only a tool call's first fragment has its id, type and name: %s", i, e.Data)
			}
		}
		if ch.FinishReason != nil {
			switch *ch.FinishReason {
			case openai.FinishStop, openai.FinishLength, openai.FinishToolCalls, openai.FinishContentFilter:
			default:
				return fmt.Errorf("event %d: finish_reason %q", i, *ch.FinishReason)
			}
			sawFinish = true
		}
	}
	if complete != sawDone {
		return fmt.Errorf("the translator says complete=%v, [DONE] sent=%v", complete, sawDone)
	}
	if sawDone && !sawFinish {
		return errors.New("[DONE] without a finish reason")
	}
	return nil
}

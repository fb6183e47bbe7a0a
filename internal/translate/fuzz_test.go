// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/warmgate/warmgate/sse"
)

// seedStreams adds the inputs of a golden stream table to f, as SSE bytes.
func seedStreams(f *testing.F, table string) {
	files, _ := filepath.Glob(filepath.Join("testdata", table, "*.json"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var c goldenCase
		var evs []streamEvent
		if json.Unmarshal(raw, &c) != nil || json.Unmarshal(c.In, &evs) != nil {
			f.Fatalf("%s: not a stream case", file)
		}
		var buf bytes.Buffer
		for _, e := range evs {
			_ = sse.WriteEvent(&buf, e.Event, eventData(e.Data))
		}
		f.Add(buf.Bytes(), true)
		f.Add(buf.Bytes(), false)
	}
}

// fuzzStream feeds the events of stream to a translator, as a gateway
// would (stopping at the first error), and returns what came out.
func fuzzStream(t *testing.T, stream []byte, event func(sse.Event, Emit) error) []sse.Event {
	var out []sse.Event
	emit := func(name string, data []byte) error {
		out = append(out, sse.Event{Name: name, Data: append([]byte(nil), data...)})
		return nil
	}
	r := sse.NewReader(bytes.NewReader(stream), 64<<10)
	for range 10000 { // a bound; the input is far shorter
		ev, err := r.Next()
		if err != nil {
			break
		}
		if err := event(ev, emit); err != nil {
			var re *AnswerError
			var se *StreamError
			if !errors.As(err, &re) && !errors.As(err, &se) {
				t.Fatalf("Event returned %T %v; want an *AnswerError or a *StreamError", err, err)
			}
			if se != nil && !json.Valid(se.Body) {
				t.Fatalf("StreamError body is not JSON: %q", se.Body)
			}
			break
		}
	}
	return out
}

// FuzzAnthropicToOpenAIStream: whatever an Anthropic upstream sends, the
// translator does not panic, and what it emits is a well-formed OpenAI
// stream (or a prefix of one), ending in [DONE] exactly when End says the
// source was complete.
func FuzzAnthropicToOpenAIStream(f *testing.F) {
	seedStreams(f, "messages_stream_to_chat")
	f.Fuzz(func(t *testing.T, stream []byte, includeUsage bool) {
		tr := NewMessagesToChatStream(MessagesToChatOptions{IncludeUsage: includeUsage, Created: created})
		out := fuzzStream(t, stream, tr.Event)
		if err := checkOpenAIStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzOpenAIToAnthropicStream: whatever an OpenAI-compatible upstream
// sends, the translator does not panic, and what it emits is a well-formed
// Anthropic stream (or a prefix of one), ending in message_stop exactly
// when End says the source was complete.
func FuzzOpenAIToAnthropicStream(f *testing.F) {
	seedStreams(f, "chat_stream_to_messages")
	f.Fuzz(func(t *testing.T, stream []byte, _ bool) {
		tr := NewChatToMessagesStream("model")
		out := fuzzStream(t, stream, tr.Event)
		if err := checkAnthropicStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

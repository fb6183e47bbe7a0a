// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/warmgate/warmgate/sse"
)

// TestStreamOverHTTP drives each translator the way a gateway does: an
// upstream stream read from a real loopback HTTP response with sse.Reader,
// each event translated and written with sse.WriteEvent. What the client
// reads back equals the golden table's events.
func TestStreamOverHTTP(t *testing.T) {
	tests := []struct {
		file string
		new  func() (func(sse.Event, Emit) error, func() StreamResult)
	}{
		{"messages_stream_to_chat/tool_use_parallel_with_thinking.json", func() (func(sse.Event, Emit) error, func() StreamResult) {
			tr := NewMessagesToChatStream(MessagesToChatOptions{IncludeUsage: true, Created: created})
			return tr.Event, tr.End
		}},
		{"chat_stream_to_messages/tool_calls_parallel_after_text.json", func() (func(sse.Event, Emit) error, func() StreamResult) {
			tr := NewChatToMessagesStream("gpt-4.1")
			return tr.Event, tr.End
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			var in []streamEvent
			var want streamOut
			if json.Unmarshal(raw, &c) != nil || json.Unmarshal(c.In, &in) != nil || json.Unmarshal(c.Want, &want) != nil {
				t.Fatal("not a stream case")
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, e := range eventsOf(in) {
					if err := sse.WriteEvent(w, e.Name, e.Data); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()

			event, end := tt.new()
			var client bytes.Buffer
			emit := func(name string, data []byte) error { return sse.WriteEvent(&client, name, data) }
			r := sse.NewReader(resp.Body, 0)
			for range 1000 {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := event(ev, emit); err != nil {
					t.Fatal(err)
				}
			}
			if res := end(); !res.Complete || res != want.End {
				t.Errorf("End() = %+v, want %+v", res, want.End)
			}

			got := sse.NewReader(&client, 0)
			for i, w := range eventsOf(want.Events) {
				ev, err := got.Next()
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if ev.Name != w.Name || !sameData(ev.Data, w.Data) {
					t.Errorf("event %d: got %q %s, want %q %s", i, ev.Name, ev.Data, w.Name, w.Data)
				}
			}
			if ev, err := got.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("an event more than the table's: %q %s (%v)", ev.Name, ev.Data, err)
			}
		})
	}
}

// sameData compares two event payloads: as JSON values when both are JSON.
func sameData(a, b []byte) bool {
	if json.Valid(a) && json.Valid(b) {
		return sameJSON(a, b)
	}
	return bytes.Equal(a, b)
}

// TestEmitErrorReturned: an error from emit (the client is gone) comes back
// from Event as is, and the stream is not complete.
func TestEmitErrorReturned(t *testing.T) {
	gone := errors.New("client gone")
	emit := func(string, []byte) error { return gone }
	a := NewMessagesToChatStream(MessagesToChatOptions{})
	err := a.Event(sse.Event{Name: "message_start", Data: []byte(`{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"c","usage":{"input_tokens":1,"output_tokens":1}}}`)}, emit)
	if !errors.Is(err, gone) || a.End().Complete {
		t.Errorf("Anthropic to OpenAI: err %v, complete %v", err, a.End().Complete)
	}
	o := NewChatToMessagesStream("m")
	err = o.Event(sse.Event{Data: []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`)}, emit)
	if !errors.Is(err, gone) || o.End().Complete {
		t.Errorf("OpenAI to Anthropic: err %v, complete %v", err, o.End().Complete)
	}
}

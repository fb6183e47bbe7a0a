// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// The golden tables: one JSON file per case under testdata/<table>/, each
// {"in": ..., "want": ...} (plus "options" for streams). -update rewrites
// every "want" from what the code gives now; review the diff before
// committing it.
var update = flag.Bool("update", false, "rewrite the want of every golden case under testdata/")

// created is the fixed time of translated OpenAI answers in the tables.
const created = 1767225600

// goldenCase is one case file.
type goldenCase struct {
	Options json.RawMessage `json:"options,omitempty"`
	In      json.RawMessage `json:"in"`
	Want    json.RawMessage `json:"want"`
}

// streamOptions are a stream case's options.
type streamOptions struct {
	IncludeUsage bool   `json:"include_usage"`
	Model        string `json:"model"`
}

// streamEvent is one event of a stream case, in or out. Data is the
// event's JSON, or a JSON string for data that is not JSON ([DONE], or
// garbage).
type streamEvent struct {
	Event string          `json:"event,omitempty"`
	Data  json.RawMessage `json:"data"`
}

// streamOut is what a stream case gives.
type streamOut struct {
	Events []streamEvent `json:"events"`
	Error  string        `json:"error,omitempty"`
	End    StreamResult  `json:"end"`
}

// errorOut is an error translation's result, and the input of one.
type errorOut struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// refused is what a case gives when the translation fails.
type refused struct {
	Error string `json:"error"`
	Kind  string `json:"kind"` // "request" (400), "answer" (502)
}

func errorResult(err error) refused {
	var re *RequestError
	var ae *AnswerError
	switch {
	case errors.As(err, &re):
		return refused{Error: err.Error(), Kind: "request"}
	case errors.As(err, &ae):
		return refused{Error: err.Error(), Kind: "answer"}
	}
	return refused{Error: err.Error(), Kind: "other"}
}

// tables maps each table to the function that computes a case's result.
var tables = map[string]func(t *testing.T, c goldenCase) any{
	"chat_request_to_messages": func(t *testing.T, c goldenCase) any {
		var in openai.ChatRequest
		mustDecode(t, c.In, &in)
		out, err := ChatRequestToMessages(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	},
	"messages_request_to_chat": func(t *testing.T, c goldenCase) any {
		var in anthropic.Request
		mustDecode(t, c.In, &in)
		out, err := MessagesRequestToChat(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	},
	"messages_response_to_chat": func(t *testing.T, c goldenCase) any {
		var in anthropic.Response
		mustDecode(t, c.In, &in)
		out, err := MessagesResponseToChat(&in, created)
		if err != nil {
			return errorResult(err)
		}
		return out
	},
	"chat_response_to_messages": func(t *testing.T, c goldenCase) any {
		var in openai.ChatResponse
		mustDecode(t, c.In, &in)
		out, err := ChatResponseToMessages(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	},
	"messages_error_to_chat": func(t *testing.T, c goldenCase) any {
		var in errorOut
		mustDecode(t, c.In, &in)
		status, body := MessagesErrorToChat(in.Status, in.Body)
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	},
	"chat_error_to_messages": func(t *testing.T, c goldenCase) any {
		var in errorOut
		mustDecode(t, c.In, &in)
		status, body := ChatErrorToMessages(in.Status, in.Body)
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	},
	"messages_stream_to_chat": func(t *testing.T, c goldenCase) any {
		var o streamOptions
		if len(c.Options) > 0 {
			mustDecode(t, c.Options, &o)
		}
		tr := NewMessagesToChatStream(MessagesToChatOptions{IncludeUsage: o.IncludeUsage, Created: created})
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkOpenAIStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed OpenAI stream: %v", err)
			}
		}
		return out
	},
	"chat_stream_to_messages": func(t *testing.T, c goldenCase) any {
		var o streamOptions
		if len(c.Options) > 0 {
			mustDecode(t, c.Options, &o)
		}
		tr := NewChatToMessagesStream(o.Model)
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkAnthropicStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed Anthropic stream: %v", err)
			}
		}
		return out
	},
}

// runStream feeds a case's events to a translator and collects its output.
func runStream(t *testing.T, in json.RawMessage, event func(sse.Event, Emit) error) streamOut {
	var evs []streamEvent
	mustDecode(t, in, &evs)
	out := streamOut{Events: []streamEvent{}}
	emit := func(name string, data []byte) error {
		d := append(json.RawMessage(nil), data...)
		if !json.Valid(d) {
			d, _ = json.Marshal(string(data))
		}
		out.Events = append(out.Events, streamEvent{Event: name, Data: d})
		return nil
	}
	for _, e := range evs {
		if err := event(sse.Event{Name: e.Event, Data: eventData(e.Data)}, emit); err != nil {
			out.Error = errorText(err)
			break
		}
	}
	return out
}

// errorText names an error's kind and message, for the tables.
func errorText(err error) string {
	var se *StreamError
	if errors.As(err, &se) {
		return "stream error " + string(se.Body)
	}
	r := errorResult(err)
	return r.Kind + ": " + r.Error
}

// eventData returns a table event's data as sent on the wire: a JSON
// string stands for data that is not JSON ([DONE], garbage), anything else
// is JSON, compacted.
func eventData(d json.RawMessage) []byte {
	var s string
	if json.Unmarshal(d, &s) == nil {
		return []byte(s)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, d) != nil {
		return d
	}
	return buf.Bytes()
}

func eventsOf(s []streamEvent) []sse.Event {
	out := make([]sse.Event, len(s))
	for i, e := range s {
		out[i] = sse.Event{Name: e.Event, Data: eventData(e.Data)}
	}
	return out
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("case input does not decode into %T: %v", v, err)
	}
}

// TestGolden runs every case of every table.
func TestGolden(t *testing.T) {
	for table, run := range tables {
		files, _ := filepath.Glob(filepath.Join("testdata", table, "*.json"))
		if len(files) == 0 {
			t.Errorf("table %s has no cases", table)
		}
		for _, f := range files {
			name := table + "/" + strings.TrimSuffix(filepath.Base(f), ".json")
			t.Run(name, func(t *testing.T) {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var c goldenCase
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				got, err := json.Marshal(run(t, c))
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					c.Want = got
					b, err := json.MarshalIndent(c, "", "  ")
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(f, append(b, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				if !sameJSON(got, c.Want) {
					t.Errorf("%s:\n got: %s\nwant: %s\n(run with -update to accept, then review the diff)", f, indent(got), indent(c.Want))
				}
			})
		}
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

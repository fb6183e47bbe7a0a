// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/warmgate/warmgate/anthropic"
	"github.com/warmgate/warmgate/internal/translate/bedrock"
	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// bedrockErrorIn is the input of a Bedrock error case: the status, the
// X-Amzn-ErrorType header and the body.
type bedrockErrorIn struct {
	Status    int             `json:"status"`
	ErrorType string          `json:"error_type"`
	Body      json.RawMessage `json:"body"`
}

// The Bedrock golden tables (see golden_test.go for the format). A stream
// case's events are named for their :event-type (or :exception-type), as
// a bedrock.Reader gives them.
func init() {
	tables["chat_request_to_converse"] = func(t *testing.T, c goldenCase) any {
		var in openai.ChatRequest
		mustDecode(t, c.In, &in)
		out, err := ChatRequestToConverse(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["messages_request_to_converse"] = func(t *testing.T, c goldenCase) any {
		var in anthropic.Request
		mustDecode(t, c.In, &in)
		out, err := MessagesRequestToConverse(&in)
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["converse_response_to_chat"] = func(t *testing.T, c goldenCase) any {
		var in bedrock.Response
		mustDecode(t, c.In, &in)
		out, err := ConverseResponseToChat(&in, "chatcmpl-req1", created, "anthropic.claude-sonnet-4-5")
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["converse_response_to_messages"] = func(t *testing.T, c goldenCase) any {
		var in bedrock.Response
		mustDecode(t, c.In, &in)
		out, err := ConverseResponseToMessages(&in, "msg_req1", "anthropic.claude-sonnet-4-5")
		if err != nil {
			return errorResult(err)
		}
		return out
	}
	tables["bedrock_error_to_chat"] = func(t *testing.T, c goldenCase) any {
		var in bedrockErrorIn
		mustDecode(t, c.In, &in)
		status, body := BedrockErrorToChat(in.Status, in.ErrorType, eventData(in.Body))
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	}
	tables["bedrock_error_to_messages"] = func(t *testing.T, c goldenCase) any {
		var in bedrockErrorIn
		mustDecode(t, c.In, &in)
		status, body := BedrockErrorToMessages(in.Status, in.ErrorType, eventData(in.Body))
		b, _ := json.Marshal(body)
		return errorOut{Status: status, Body: b}
	}
	tables["bedrock_stream_to_chat"] = func(t *testing.T, c goldenCase) any {
		var o streamOptions
		if len(c.Options) > 0 {
			mustDecode(t, c.Options, &o)
		}
		tr := NewBedrockToChatStream(BedrockToChatOptions{IncludeUsage: o.IncludeUsage, ID: "chatcmpl-req1", Created: created, Model: "anthropic.claude-sonnet-4-5"})
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkOpenAIStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed OpenAI stream: %v", err)
			}
		}
		return out
	}
	tables["bedrock_stream_to_messages"] = func(t *testing.T, c goldenCase) any {
		tr := NewBedrockToMessagesStream("msg_req1", "anthropic.claude-sonnet-4-5")
		out := runStream(t, c.In, tr.Event)
		out.End = tr.End()
		if out.Error == "" {
			if err := checkAnthropicStream(eventsOf(out.Events), out.End.Complete); err != nil {
				t.Errorf("output is not a well-formed Anthropic stream: %v", err)
			}
		}
		return out
	}
}

// encodeStreamCase encodes a golden stream case's events as a
// ConverseStream body, with aws-sdk-go-v2's eventstream.Encoder: events
// whose name ends in Exception become exception messages.
func encodeStreamCase(t testing.TB, in json.RawMessage) []byte {
	var evs []streamEvent
	if err := json.Unmarshal(in, &evs); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, e := range evs {
		var h eventstream.Headers
		if isBedrockFailure(e.Event) {
			h.Set(":message-type", eventstream.StringValue("exception"))
			h.Set(":exception-type", eventstream.StringValue(e.Event))
		} else {
			h.Set(":message-type", eventstream.StringValue("event"))
			h.Set(":event-type", eventstream.StringValue(e.Event))
		}
		h.Set(":content-type", eventstream.StringValue("application/json"))
		if err := enc.Encode(&buf, eventstream.Message{Headers: h, Payload: eventData(e.Data)}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// runBedrockBody reads an event-stream body with a bedrock.Reader and
// feeds its events to a translator, as the gateway does, stopping at the
// first error (of the reader or of the translator).
func runBedrockBody(body []byte, event func(sse.Event, Emit) error) (out []sse.Event, readErr, evErr error) {
	emit := func(name string, data []byte) error {
		out = append(out, sse.Event{Name: name, Data: append([]byte(nil), data...)})
		return nil
	}
	r := bedrock.NewReader(bytes.NewReader(body), 0)
	for range 10000 { // a bound; the input is far shorter
		ev, err := r.Next()
		if err != nil {
			return out, err, nil
		}
		if err := event(ev, emit); err != nil {
			return out, nil, err
		}
	}
	return out, nil, nil
}

// TestBedrockEventStreamBody: every golden Bedrock stream, encoded as a
// real event-stream body by aws-sdk-go-v2's Encoder and read back by
// bedrock.Reader, translates to exactly what the golden table says; a
// body cut inside a message, or with a corrupted byte, is an error of the
// reader, never a translated event.
func TestBedrockEventStreamBody(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "bedrock_stream_to_chat", "*.json"))
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c goldenCase
			var want streamOut
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(c.Want, &want); err != nil {
				t.Fatal(err)
			}
			var o streamOptions
			if len(c.Options) > 0 {
				mustDecode(t, c.Options, &o)
			}
			body := encodeStreamCase(t, c.In)
			tr := NewBedrockToChatStream(BedrockToChatOptions{IncludeUsage: o.IncludeUsage, ID: "chatcmpl-req1", Created: created, Model: "anthropic.claude-sonnet-4-5"})
			out, readErr, evErr := runBedrockBody(body, tr.Event)
			if readErr != nil && readErr != io.EOF {
				t.Fatalf("reading the body: %v", readErr)
			}
			if (evErr != nil) != (want.Error != "") {
				t.Fatalf("translator error %v; the table says %q", evErr, want.Error)
			}
			if !reflect.DeepEqual(eventsOf(want.Events), out) && !(len(out) == 0 && len(want.Events) == 0) {
				t.Fatalf("events differ from the table:\n got %q\nwant %q", out, eventsOf(want.Events))
			}
			if got := tr.End(); got != want.End {
				t.Fatalf("End() = %+v, want %+v", got, want.End)
			}

			// Cut inside the last message: the reader says so.
			_, readErr, _ = runBedrockBody(body[:len(body)-3], NewBedrockToChatStream(BedrockToChatOptions{}).Event)
			if readErr == nil || readErr == io.EOF {
				t.Fatalf("a cut body read as %v; want an error", readErr)
			}
			// A flipped payload byte fails the message's checksum.
			bad := bytes.Clone(body)
			bad[len(bad)-6] ^= 0x20
			_, readErr, _ = runBedrockBody(bad, NewBedrockToChatStream(BedrockToChatOptions{}).Event)
			var ce eventstream.ChecksumError
			if !errors.As(readErr, &ce) {
				t.Fatalf("a corrupted body read as %v; want a checksum error", readErr)
			}
		})
	}
}

// TestBedrockReaderNames: a Reader names an event for its :event-type,
// an exception for its :exception-type, and a protocol error "error" with
// its code and message as JSON; the end of the body between messages is
// io.EOF.
func TestBedrockReaderNames(t *testing.T) {
	var body bytes.Buffer
	enc := eventstream.NewEncoder()
	if err := bedrock.Encode(&body, enc, "messageStart", []byte(`{"role":"assistant"}`)); err != nil {
		t.Fatal(err)
	}
	if err := bedrock.EncodeException(&body, enc, "throttlingException", "slow down"); err != nil {
		t.Fatal(err)
	}
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue("error"))
	h.Set(":error-code", eventstream.StringValue("InternalFailure"))
	h.Set(":error-message", eventstream.StringValue("it broke"))
	if err := enc.Encode(&body, eventstream.Message{Headers: h}); err != nil {
		t.Fatal(err)
	}
	r := bedrock.NewReader(&body, 0)
	want := []sse.Event{
		{Name: "messageStart", Data: []byte(`{"role":"assistant"}`)},
		{Name: "throttlingException", Data: []byte(`{"message":"slow down"}`)},
		{Name: "error", Data: []byte(`{"message":"it broke","__type":"InternalFailure"}`)},
	}
	for i, w := range want {
		ev, err := r.Next()
		if err != nil || ev.Name != w.Name || string(ev.Data) != string(w.Data) {
			t.Fatalf("event %d = %q %s, %v; want %q %s", i, ev.Name, ev.Data, err, w.Name, w.Data)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last message: %v; want io.EOF", err)
	}
	status, body2 := BedrockErrorToChat(0, "error", []byte(`{"message":"it broke","__type":"InternalFailure"}`))
	if status != 500 || body2.Error.Message != "it broke" {
		t.Fatalf("a protocol error maps to %d %+v; want 500 with its message", status, body2)
	}
}

// TestBedrockReaderRefusesLongMessage: a prelude announcing a message
// longer than the limit is refused before anything is read or allocated.
func TestBedrockReaderRefusesLongMessage(t *testing.T) {
	body := []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	_, err := bedrock.NewReader(bytes.NewReader(body), 1<<20).Next()
	if err == nil || err == io.EOF {
		t.Fatalf("Next() = %v; want an error saying the message is too long", err)
	}
}

// FuzzBedrockToOpenAIStream: whatever a Bedrock upstream sends, the
// event-stream reader and the translator do not panic, and what comes out
// is a well-formed OpenAI stream (or a prefix of one), ending in [DONE]
// exactly when End says the source was complete. With asSSE the input is
// read as SSE events named for their event type instead of event-stream
// framing, so that mutations reach the translator past the checksums.
func FuzzBedrockToOpenAIStream(f *testing.F) {
	seedBedrock(f)
	f.Fuzz(func(t *testing.T, body []byte, includeUsage, asSSE bool) {
		tr := NewBedrockToChatStream(BedrockToChatOptions{IncludeUsage: includeUsage, ID: "chatcmpl-1", Created: created, Model: "m"})
		out := fuzzBedrock(t, body, asSSE, tr.Event)
		if err := checkOpenAIStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzBedrockToAnthropicStream: the same through the pivot, to an
// Anthropic stream.
func FuzzBedrockToAnthropicStream(f *testing.F) {
	seedBedrock(f)
	f.Fuzz(func(t *testing.T, body []byte, _, asSSE bool) {
		tr := NewBedrockToMessagesStream("msg_1", "m")
		out := fuzzBedrock(t, body, asSSE, tr.Event)
		if err := checkAnthropicStream(out, tr.End().Complete); err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzBedrock feeds body to a translator, read as event-stream framing or
// (asSSE) as SSE, and returns what came out.
func fuzzBedrock(t *testing.T, body []byte, asSSE bool, event func(sse.Event, Emit) error) []sse.Event {
	if asSSE {
		return fuzzStream(t, body, event)
	}
	out, _, evErr := runBedrockBody(body, event)
	checkFuzzError(t, evErr)
	return out
}

// seedBedrock adds the golden Bedrock streams to f, both as event-stream
// bodies (encoded by aws-sdk-go-v2's Encoder) and as SSE.
func seedBedrock(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "bedrock_stream_to_chat", "*.json"))
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
		body := encodeStreamCase(f, c.In)
		f.Add(body, true, false)
		f.Add(body, false, false)
		var buf bytes.Buffer
		for _, e := range evs {
			_ = sse.WriteEvent(&buf, e.Event, eventData(e.Data))
		}
		f.Add(buf.Bytes(), true, true)
	}
}

// checkFuzzError fails t unless err is nil, an *AnswerError or a
// *StreamError with a JSON body.
func checkFuzzError(t *testing.T, err error) {
	if err == nil {
		return
	}
	var ae *AnswerError
	var se *StreamError
	if !errors.As(err, &ae) && !errors.As(err, &se) {
		t.Fatalf("Event returned %T %v; want an *AnswerError or a *StreamError", err, err)
	}
	if se != nil && !json.Valid(se.Body) {
		t.Fatalf("StreamError body is not JSON: %q", se.Body)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bedrock

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/warmgate/warmgate/sse"
)

// DefaultMaxMessage is the largest event-stream message a [Reader] takes:
// the format's own limit (16 MiB of payload, 128 KiB of headers).
const DefaultMaxMessage = 16<<20 + 128<<10

// ProtocolError is the event name a [Reader] gives an event-stream
// message of type "error" (a failure of the stream itself, with
// :error-code and :error-message headers); its data is
// {"__type":code,"message":message}.
const ProtocolError = "error"

// Reader reads a ConverseStream body, one event-stream message at a time,
// and gives each as an [sse.Event], so that the stream translators take
// Bedrock events the way they take SSE events: an event's Name is its
// :event-type (messageStart, contentBlockDelta, ...), an exception's Name
// its :exception-type (throttlingException, ...), a protocol error's Name
// [ProtocolError]; Data is the JSON payload. Raw is not set.
//
// The framing (prelude, headers, CRCs) is decoded by aws-sdk-go-v2's
// eventstream.Decoder; the Reader only bounds each message's length
// (read from the prelude before decoding) so that a broken prelude cannot
// make it read or allocate more. It does no other I/O than reading r.
type Reader struct {
	br  *bufio.Reader
	dec *eventstream.Decoder
	max uint32
	buf []byte
}

// NewReader returns a Reader of r taking messages of at most max bytes (0
// is [DefaultMaxMessage]).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 || max > DefaultMaxMessage {
		max = DefaultMaxMessage
	}
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), dec: eventstream.NewDecoder(), max: uint32(max)}
}

// Next returns the next event. Its Data is valid until the next call. At
// the end of the body, between messages, it returns io.EOF; a body cut
// inside a message gives io.ErrUnexpectedEOF; a message that is too long
// or fails its checksum gives an error saying so.
func (r *Reader) Next() (sse.Event, error) {
	prelude, err := r.br.Peek(4)
	if err != nil {
		if err == io.EOF && len(prelude) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return sse.Event{}, err
	}
	n := binary.BigEndian.Uint32(prelude)
	if n > r.max {
		return sse.Event{}, fmt.Errorf("event-stream message of %d bytes is longer than the limit of %d", n, r.max)
	}
	lr := io.LimitReader(r.br, int64(n))
	m, err := r.dec.Decode(lr, r.buf[:0])
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return sse.Event{}, fmt.Errorf("event-stream message: %w", err)
	}
	if cap(m.Payload) > cap(r.buf) {
		r.buf = m.Payload[:0]
	}
	return messageEvent(m), nil
}

// messageEvent names a decoded message as Next says.
func messageEvent(m eventstream.Message) sse.Event {
	header := func(name string) string {
		if v := m.Headers.Get(name); v != nil {
			return v.String()
		}
		return ""
	}
	switch header(":message-type") {
	case "exception":
		return sse.Event{Name: header(":exception-type"), Data: m.Payload}
	case "error":
		b, _ := json.Marshal(ErrorBody{Type: header(":error-code"), Message: header(":error-message")})
		return sse.Event{Name: ProtocolError, Data: b}
	}
	return sse.Event{Name: header(":event-type"), Data: m.Payload}
}

// Encode writes one event-stream message of an event (":message-type"
// event, ":event-type" name, ":content-type" application/json) to w with
// aws-sdk-go-v2's eventstream.Encoder: for tests and the mock.
func Encode(w io.Writer, enc *eventstream.Encoder, eventType string, payload []byte) error {
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue("event"))
	h.Set(":event-type", eventstream.StringValue(eventType))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	return enc.Encode(w, eventstream.Message{Headers: h, Payload: payload})
}

// EncodeException writes one exception message (":message-type"
// exception, ":exception-type" typ) with payload {"message":...}.
func EncodeException(w io.Writer, enc *eventstream.Encoder, typ, message string) error {
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue("exception"))
	h.Set(":exception-type", eventstream.StringValue(typ))
	h.Set(":content-type", eventstream.StringValue("application/json"))
	b, _ := json.Marshal(ErrorBody{Message: message})
	return enc.Encode(w, eventstream.Message{Headers: h, Payload: b})
}

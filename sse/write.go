// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errBadName is returned by WriteEvent for a name that would break framing.
var errBadName = errors.New("sse: event name contains a line break")

// WriteEvent writes one event named name (no event field if name is "")
// carrying data, then flushes w the way [Copy] does. Every line of data
// (split at LF, CRLF or CR) becomes its own "data: " line, so any payload,
// including one with line breaks, arrives intact: a [Reader] gives back data
// with its line breaks turned into LF. Empty data is sent as one empty data
// line, so that EventSource clients dispatch the event.
//
// The event goes out in a single Write. A write or flush error is wrapped in
// [ErrClientGone]. A name containing CR or LF is rejected before anything is
// written.
//
// Typical use is an error event after an upstream failed mid-stream:
//
//	sse.WriteEvent(w, "error", []byte(`{"error":{"message":"upstream failed","type":"upstream_error"}}`))
func WriteEvent(w io.Writer, name string, data []byte) error {
	if strings.ContainsAny(name, "\r\n") {
		return errBadName
	}
	// "event: " + name + "\n" + one "data: " + "\n" per line + "\n".
	buf := make([]byte, 0, len(name)+len(data)+len("event: \ndata: \n\n")+6*bytes.Count(data, []byte{'\n'}))
	if name != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, name...)
		buf = append(buf, '\n')
	}
	for {
		i := indexEOL(data)
		if i < 0 {
			break
		}
		buf = append(buf, "data: "...)
		buf = append(buf, data[:i]...)
		buf = append(buf, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')

	n, err := w.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if flush := flusherFor(w); err == nil && flush != nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClientGone, err)
	}
	return nil
}

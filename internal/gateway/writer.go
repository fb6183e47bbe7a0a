// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/warmgate/warmgate/openai"
	"github.com/warmgate/warmgate/sse"
)

// respWriter is the gateway's one wrapper of a client's
// http.ResponseWriter. It records the answer's status and size for the
// access log and, once a charge watches it (watch), finds the usage in
// the answer it relays unchanged: in the last usageTail bytes of a
// successful non-streamed answer, or in the events of a stream (onEvent).
//
// Everything http.ResponseController does reaches the real writer: Flush
// through FlushError, which returns the real writer's error (a client that
// is gone is noticed at the flush, not at the next write), and
// SetWriteDeadline, SetReadDeadline, EnableFullDuplex through Unwrap.
type respWriter struct {
	http.ResponseWriter
	status int   // the first final status written; 0 until then
	bytes  int64 // body bytes written
	stream bool  // the answer is an event stream (by its Content-Type)

	// Set by watch: the answer is an API answer whose usage counts.
	watching  bool
	reader    *usageReader
	tail      []byte
	wire      wireUsage // what the stream's events said so far
	usage     openai.Usage
	known     bool
	ownLimits bool // the key has an rpm or tpm (see ownRateHeaders)
	// strip drops the usage chunk (see charge.strip); usageChunk says the
	// event onEvent last saw is one.
	strip, usageChunk bool
	// held: the relay holds the whole answer and writes it in one piece,
	// then gives it to wroteHeld to read its usage from; no tail is kept.
	held bool
}

// ok reports whether the answer's status is a success.
func (w *respWriter) ok() bool { return w.status >= 200 && w.status < 300 }

// watch starts looking for the usage of the answer, read by reader.
func (w *respWriter) watch(reader *usageReader, strip, ownLimits bool) {
	w.watching, w.reader, w.strip, w.ownLimits = true, reader, strip, ownLimits
	w.wire = noUsage
}

func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		w.stream = isEventStream(w.Header().Get("Content-Type"))
		if w.watching && w.ok() && !w.stream && !w.held {
			if n, err := strconv.Atoi(w.Header().Get("Content-Length")); err == nil && n > 0 {
				w.tail = make([]byte, 0, min(n, usageTail)) // one allocation for most answers
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if w.watching && w.ok() && !w.stream && !w.held {
		w.keep(b[:n])
	}
	return n, err
}

// keep appends b to the tail, keeping the last usageTail bytes at least.
func (w *respWriter) keep(b []byte) {
	if len(b) >= usageTail {
		w.tail = append(w.tail[:0], b[len(b)-usageTail:]...)
		return
	}
	if len(w.tail)+len(b) > 2*usageTail {
		n := copy(w.tail, w.tail[len(w.tail)-(usageTail-len(b)):])
		w.tail = w.tail[:n]
	}
	w.tail = append(w.tail, b...)
}

// wroteHeld reads the usage of a held answer b, written whole: from its
// end, as much as keep would have kept.
func (w *respWriter) wroteHeld(b []byte) {
	if w.watching && w.ok() && !w.stream {
		w.usage, w.known = w.reader.answer(b[max(len(b)-usageTail, 0):])
	}
}

// done reads the usage out of the tail, once the answer is complete.
func (w *respWriter) done() {
	if w.watching && !w.known && !w.stream && w.ok() {
		w.usage, w.known = w.reader.answer(w.tail)
	}
}

// onEvent is sse.CopyOptions.OnEvent: it reads the usage the event
// carries, if any, into what the stream said so far.
func (w *respWriter) onEvent(ev sse.Event) {
	w.usageChunk = false
	if wu, ok := findWireUsage(ev.Data); ok {
		w.wire = w.reader.merge(w.wire, wu)
		w.usage, w.known = w.reader.normalize(w.wire)
		w.usageChunk = w.strip && w.reader.usageOnly != nil && w.reader.usageOnly(ev.Data)
	}
}

// setUsage records the usage of an answer the gateway translated: the
// translator read it from the upstream's answer.
func (w *respWriter) setUsage(u openai.Usage) {
	if w.watching {
		w.usage, w.known = u, true
	}
}

// drop is sse.CopyOptions.Drop: the usage chunk the client did not ask
// for.
func (w *respWriter) drop(sse.Event) bool { return w.usageChunk }

// FlushError flushes the real writer and returns its error: http.Flusher's
// Flush has no way to.
func (w *respWriter) FlushError() error {
	if f, ok := w.ResponseWriter.(interface{ FlushError() error }); ok {
		return f.FlushError() // net/http's writers: no ResponseController to make
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher, for handlers that look for it.
func (w *respWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the real writer.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker where the real writer does.
func (w *respWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

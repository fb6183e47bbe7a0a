// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"
)

// DefaultMaxEvent is the bound on one event's raw size used when none is given.
// 1 MiB is far above any chat-completion chunk (a few hundred bytes) and still
// small enough to hold per stream on a busy gateway.
const DefaultMaxEvent = 1 << 20

// readBufSize is the size of the Reader's bufio.Reader: a few chunk events
// (a chat-completion chunk is a few hundred bytes), so a busy stream still
// yields several events per read, while a relay holding thousands of slow
// streams, each blocked in a read with this buffer, holds 1 KiB per stream
// rather than a page. A longer event is read in several reads.
const readBufSize = 1024

// ErrEventTooLong is returned by [Reader.Next] and [Copy] when an event's raw
// bytes, terminating blank line included, would exceed the reader's bound.
var ErrEventTooLong = errors.New("sse: event too long")

// Event is one event of a stream, as returned by [Reader.Next].
//
// Raw and Data may alias the Reader's internal buffers: they are valid only
// until the next call to Next. Copy them to keep them longer.
type Event struct {
	// Raw is the event exactly as read, from the first byte after the previous
	// event up to and including the line ending of its terminating blank line.
	// Writing the Raw of every event reproduces the stream byte for byte
	// (see Next for the one exception, a split CRLF at end of stream).
	Raw []byte

	// Data is the value of the event's data fields joined with "\n", with the
	// one optional space after "data:" removed. It is empty (and may be nil)
	// for an event without data fields, such as a comment used as heartbeat.
	Data []byte

	// Name is the value of the last "event:" field, or "" if there is none
	// (the spec's default type, "message").
	Name string
}

// IsDone reports whether e is the "data: [DONE]" sentinel that
// OpenAI-compatible APIs send as the last event of a stream.
func (e Event) IsDone() bool { return string(e.Data) == "[DONE]" }

// utf8BOM is the byte-order mark the spec strips from the start of a stream.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Reader splits an SSE stream into events, holding at most one event in
// memory. Create one with [NewReader]. A Reader is not safe for concurrent use.
type Reader struct {
	br  *bufio.Reader
	max int
	err error // sticky: once set, Next returns it forever

	raw       []byte // bytes of the event being read; reused across events
	data      []byte // joined data fields; reused across events
	hasData   bool   // the current event has at least one data field
	name      string // the current event's name
	lastName  string // cache so a repeated event name costs no allocation
	lineStart int    // offset in raw where the current line begins
	content   bool   // raw holds more than a lone LF left over from a CRLF split across reads
	skipLF    bool   // the previous line ended in CR: a following LF belongs to it
	started   bool   // the first line of the stream, which may start with a BOM, has been read
	// beforeWait, if set, runs before a read of the source when nothing is
	// buffered (a read that may wait); an error it returns ends Next with
	// that error (Copy flushes what it wrote here).
	beforeWait func() error
	// bufs holds raw's and data's backing arrays while they are in
	// idleBufs (see wait), to be reused as the next one's holder.
	bufs *eventBuffers
}

// NewReader returns a Reader that reads events from r. An event whose raw
// size would exceed maxEvent bytes makes Next fail with [ErrEventTooLong];
// maxEvent <= 0 means [DefaultMaxEvent]. Whatever r sends, the Reader holds
// at most twice maxEvent (the raw event and its data) plus a 1 KiB read buffer.
//
// If r is a [bufio.Reader] of at least 1 KiB, the Reader reads through it
// directly rather than adding a second buffer.
func NewReader(r io.Reader, maxEvent int) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Reader{br: bufio.NewReaderSize(r, readBufSize), max: maxEvent}
}

// Next reads and returns the next complete event: the lines up to and
// including the next blank line. Lines may end in LF, CRLF or CR.
//
// Every event is returned, including those the browser EventSource would not
// dispatch: comments (lines starting with ':', used as heartbeats) and lone
// blank lines come back as events with empty Data, so that a relay forwards
// them too. Fields other than data and event (id, retry, unknown names) are
// kept in Raw and otherwise ignored.
//
// At the end of the stream Next returns io.EOF if no event was pending, or
// io.ErrUnexpectedEOF if the stream stopped inside an event; in that case the
// returned Event's Raw holds the partial bytes (and Data, Name what was
// parsed of complete lines). The only bytes never returned in an Event are
// an LF that completes a CRLF whose CR ended the previous event, when it
// arrives in a later read just before EOF (it is part of a line ending
// already honoured), and a stream consisting of nothing but a byte-order mark.
//
// An event that would exceed the bound fails with ErrEventTooLong; Raw then
// holds the bytes read of it so far. Any other read error is returned as is,
// with the partial event. After any error, Next keeps returning that error.
//
// The returned Raw and Data are valid until the next call to Next.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	if r.br.Buffered() == 0 {
		r.wait()
	}
	r.raw = r.raw[:0]
	r.data = r.data[:0]
	r.hasData = false
	r.name = ""
	r.lineStart = 0
	r.content = false

	for {
		// Look at whatever is buffered; block for more only when nothing is.
		if r.br.Buffered() == 0 {
			if r.beforeWait != nil {
				if err := r.beforeWait(); err != nil {
					return r.fail(err)
				}
			}
			if _, err := r.br.Peek(1); err != nil {
				return r.fail(err)
			}
		}
		buf, _ := r.br.Peek(r.br.Buffered())

		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				// Second half of a CRLF whose CR already ended a line.
				if err := r.take(buf[:1]); err != nil {
					return r.fail(err)
				}
				r.lineStart = len(r.raw)
				continue
			}
		}

		i := indexEOL(buf)
		if i < 0 {
			// No line ending yet: keep the partial line and read more.
			if err := r.take(buf); err != nil {
				return r.fail(err)
			}
			r.content = true
			continue
		}
		end := i + 1
		if buf[i] == '\r' {
			if end < len(buf) {
				if buf[end] == '\n' {
					end++
				}
			} else {
				// The LF of a CRLF may still be on its way. Do not wait for
				// it: that would hold back a complete event on a CR-only
				// stream. Consume it when it comes instead.
				r.skipLF = true
			}
		}
		lineEnd := len(r.raw) + i // the line may have begun in an earlier read
		if err := r.take(buf[:end]); err != nil {
			return r.fail(err)
		}
		r.content = true
		line := r.raw[r.lineStart:lineEnd]
		r.lineStart = len(r.raw)
		if !r.started {
			r.started = true
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) == 0 {
			return r.event(), nil
		}
		r.parseLine(line)
	}
}

// eventBuffers are the backing arrays of a Reader's raw and data buffers.
type eventBuffers struct{ raw, data []byte }

// idleBufs hold the event buffers of Readers waiting for their next event:
// a relay holding thousands of slow streams, each waiting seconds between
// events of a few hundred bytes, would otherwise hold its 1 KiB of event
// buffers per stream through every wait.
var idleBufs = sync.Pool{New: func() any { return new(eventBuffers) }}

// maxIdleBuf bounds the buffers kept in idleBufs: one long event does not
// pin its buffer in the pool.
const maxIdleBuf = 4 << 10

// wait is called before Next blocks for an event with nothing buffered:
// the previous event's buffers (no longer valid to the caller) go to
// idleBufs, and come back, or others do, when bytes arrive (see take).
func (r *Reader) wait() {
	if cap(r.raw) == 0 && cap(r.data) == 0 {
		return
	}
	b := r.bufs
	if b == nil {
		b = new(eventBuffers)
	}
	r.bufs = nil
	if cap(r.raw) <= maxIdleBuf && cap(r.data) <= maxIdleBuf {
		b.raw, b.data = r.raw[:0], r.data[:0]
		idleBufs.Put(b)
	}
	r.raw, r.data = nil, nil
}

// buffers gives the Reader event buffers from idleBufs if it has none.
func (r *Reader) buffers() {
	if cap(r.raw) != 0 || cap(r.data) != 0 {
		return
	}
	b := idleBufs.Get().(*eventBuffers)
	if cap(b.raw) <= r.max && cap(b.data) <= r.max { // the bound is on memory too (see grow)
		r.raw, r.data = b.raw, b.data
	}
	b.raw, b.data = nil, nil
	r.bufs = b
}

// take appends p to the current event and discards it from the read buffer,
// unless that would make the event exceed the bound.
func (r *Reader) take(p []byte) error {
	if len(r.raw)+len(p) > r.max {
		return ErrEventTooLong
	}
	r.buffers()
	r.raw = append(grow(r.raw, len(p), r.max), p...)
	_, _ = r.br.Discard(len(p)) // p is buffered: Discard cannot fail
	return nil
}

// grow makes room for n more bytes in b like append would, except that the
// capacity never exceeds limit (callers guarantee len(b)+n <= limit): the
// memory bound is the bound, not twice it.
func grow(b []byte, n, limit int) []byte {
	need := len(b) + n
	if need <= cap(b) {
		return b
	}
	c := min(max(2*cap(b), need, 512), limit)
	nb := make([]byte, len(b), c)
	copy(nb, b)
	return nb
}

// parseLine interprets one non-empty line (without its line ending) as the
// spec's "process the field" step.
func (r *Reader) parseLine(line []byte) {
	colon := bytes.IndexByte(line, ':')
	if colon == 0 {
		return // comment
	}
	field, value := line, []byte(nil)
	if colon > 0 {
		field, value = line[:colon], line[colon+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		// Data never outgrows raw, which holds it and more: bounded by max.
		r.data = grow(r.data, len(value)+1, r.max)
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		if string(value) != r.lastName {
			r.lastName = string(value)
		}
		r.name = r.lastName
	}
}

// event returns the event that has just been terminated by a blank line.
func (r *Reader) event() Event {
	return Event{Raw: r.raw, Data: r.data, Name: r.name}
}

// fail records err (mapping EOF to the right end-of-stream error) and
// returns it with whatever part of an event has been read.
func (r *Reader) fail(err error) (Event, error) {
	if !r.started && bytes.Equal(r.raw, utf8BOM) {
		r.content = false // a stream of just a byte-order mark is empty
	}
	if err == io.EOF && r.content {
		err = io.ErrUnexpectedEOF
	}
	r.err = err
	if !r.content {
		return Event{}, err
	}
	return Event{Raw: r.raw, Data: r.data, Name: r.name}, err
}

// indexEOL returns the index of the first CR or LF in b, or -1.
// Two IndexByte calls are much faster than bytes.IndexAny on long lines.
func indexEOL(b []byte) int {
	n := bytes.IndexByte(b, '\n')
	head := b
	if n >= 0 {
		head = b[:n]
	}
	if c := bytes.IndexByte(head, '\r'); c >= 0 {
		return c
	}
	return n
}

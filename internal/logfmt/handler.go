// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

// Package logfmt is a faster drop-in for slog's TextHandler and
// JSONHandler, for the gateway's one access log line per request.
//
// A 16-attribute access line costs about 2.2 µs through
// slog.Logger.LogAttrs and slog's TextHandler or JSONHandler; about 1.1 µs
// of that is the handler's generic formatting, the rest the Logger's (the
// clock, the caller's PC, copying the attributes into the Record). The
// handler returned by NewHandler formats the same line in about 0.45 µs:
// for the attribute kinds an access line is made of (strings, integers,
// floats, bools, durations, times and errors) it appends straight into a
// pooled buffer with strconv, using copies of slog's quoting and escaping
// rules (scanning 8 bytes at a time) and reusing the formatted date and
// zone while the second stays the same.
//
// The output is byte-for-byte what slog.NewTextHandler or
// slog.NewJSONHandler would write for the same record; the tests compare
// the two on a table of odd values, on every byte value in every position
// of a string, and under a fuzzer. Whatever the fast path is not certain
// to format exactly like slog is handed to a real slog handler on the
// same writer:
//
//   - groups (non-empty ones) and every handler derived with WithGroup;
//   - LogValuer values, and Any values other than nil and errors;
//   - errors that are also a json.Marshaler, encoding.TextMarshaler or
//     fmt.Formatter, or a byte slice, or whose Error method panics;
//   - in JSON, NaN and infinite floats, and times outside years 0–9999
//     (slog prints an error for those);
//   - every record of a handler built with HandlerOptions.ReplaceAttr or
//     AddSource: NewHandler then returns slog's handler itself.
//
// Both paths write each record with one Write call under one mutex, so
// lines never interleave and a batching writer (internal/logbuf) always
// sees whole lines.
package logfmt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Format selects the output format of NewHandler: the one of
// slog.TextHandler or the one of slog.JSONHandler.
type Format int

const (
	// Text is the key=value format of slog.TextHandler.
	Text Format = iota
	// JSON is the one-object-per-line format of slog.JSONHandler.
	JSON
)

// String returns "text" or "json", the names ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case Text:
		return "text"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the Format named s: "text" or "json", as given to
// the --log-format flag.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "text":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("logfmt: unknown format %q: use text or json", s)
}

// NewHandler returns a slog.Handler writing to w what
// slog.NewTextHandler(w, opts) (format Text) or slog.NewJSONHandler(w, opts)
// (format JSON) would write, byte for byte, one Write call per record.
// opts may be nil, as for slog; opts.Level, when set, is read on every
// Enabled call, so a slog.LevelVar can change it at run time.
//
// If opts sets ReplaceAttr or AddSource, NewHandler returns the slog
// handler itself: the fast path handles neither. It panics if format is
// neither Text nor JSON.
func NewHandler(w io.Writer, format Format, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	o := *opts // like slog, keep a copy: later changes to *opts have no effect
	if format != Text && format != JSON {
		panic(fmt.Sprintf("logfmt: invalid format %d", int(format)))
	}
	if o.ReplaceAttr != nil || o.AddSource {
		return newStd(w, format, &o)
	}
	lw := &lockedWriter{w: w}
	return &handler{
		c:    &common{json: format == JSON, level: o.Level, w: lw},
		root: newStd(lw, format, &o),
	}
}

func newStd(w io.Writer, format Format, opts *slog.HandlerOptions) slog.Handler {
	if format == JSON {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// common is what a handler and all handlers derived from it share.
type common struct {
	json  bool
	level slog.Leveler // nil means slog.LevelInfo
	w     *lockedWriter
	time  atomic.Pointer[timeParts] // the last second formatted
}

// lockedWriter serializes the writes of the fast path and of the slog
// handler it falls back on, which has its own mutex but could not
// otherwise share ours.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer under the mutex.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// handler is the fast handler. A handler with With-attrs keeps them twice:
// preformatted for the fast path, and as Attrs for the slog handler it
// builds, on first need, for records the fast path does not take.
type handler struct {
	c    *common
	root slog.Handler // slog's handler on c.w, without With-attrs
	pre  []byte       // With-attrs, each with its leading separator
	// attrs are the With-attrs given to slog's handler; error values are
	// replaced by their (already called) Error text, which slog formats
	// the same way, so that a late fallback prints what pre holds.
	attrs []slog.Attr

	once sync.Once
	slow slog.Handler // root.WithAttrs(attrs), built by fallback
}

// fallback returns slog's handler equivalent to h.
func (h *handler) fallback() slog.Handler {
	h.once.Do(func() {
		h.slow = h.root
		if len(h.attrs) > 0 {
			h.slow = h.root.WithAttrs(h.attrs)
		}
	})
	return h.slow
}

// Enabled reports whether l is at least the minimum level of the options
// (slog.LevelInfo if they set none).
func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	minLevel := slog.LevelInfo
	if h.c.level != nil {
		minLevel = h.c.level.Level()
	}
	return l >= minLevel
}

// Handle writes r with one Write call, formatting it itself if it can and
// through slog's handler otherwise. Like slog's handlers, it does not
// check the level: Enabled does.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	bp := getBuf()
	b, ok := h.appendRecord((*bp)[:0], &r)
	if !ok {
		*bp = b
		putBuf(bp)
		return h.fallback().Handle(ctx, r)
	}
	_, err := h.c.w.Write(b)
	*bp = b
	putBuf(bp)
	return err
}

// WithAttrs returns a handler that adds as to every record, before the
// record's own attributes. If one of as is not of a kind the fast path
// formats, it returns slog's handler instead.
func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	pre := slices.Clip(h.pre)
	attrs := slices.Grow(slices.Clip(h.attrs), len(as))
	for _, a := range as {
		if a.Value.Kind() == slog.KindAny {
			if err, ok := a.Value.Any().(error); ok {
				s, ok := errorText(err)
				if !ok {
					return h.fallback().WithAttrs(as)
				}
				a = slog.String(a.Key, s)
			}
		}
		var ok bool
		if pre, ok = h.c.appendAttr(pre, a); !ok {
			return h.fallback().WithAttrs(as)
		}
		attrs = append(attrs, a)
	}
	return &handler{c: h.c, root: h.root, pre: pre, attrs: attrs}
}

// WithGroup returns slog's handler for the group: the fast path does not
// format groups. Even an empty name goes to slog, whose handlers (unlike
// slog.Logger.WithGroup) open a group named "".
func (h *handler) WithGroup(name string) slog.Handler {
	return h.fallback().WithGroup(name)
}

// appendRecord appends r as one line to b. It reports false, with b
// holding garbage, if r has something the fast path does not format.
func (h *handler) appendRecord(b []byte, r *slog.Record) ([]byte, bool) {
	c := h.c
	if c.json {
		b = append(b, '{')
	}
	if !r.Time.IsZero() {
		t := r.Time.Round(0) // strip the monotonic reading, as slog does
		if c.json {
			if !jsonTimeOK(t) {
				return b, false
			}
			b = append(b, `"time":`...)
			b = c.appendJSONTime(b, t)
			b = append(b, `,"level":`...)
		} else {
			b = append(b, "time="...)
			b = c.appendTextTime(b, t)
			b = append(b, " level="...)
		}
	} else if c.json {
		b = append(b, `"level":`...)
	} else {
		b = append(b, "level="...)
	}
	b = c.appendString(b, r.Level.String())
	if c.json {
		b = append(b, `,"msg":`...)
	} else {
		b = append(b, " msg="...)
	}
	b = c.appendString(b, r.Message)
	b = append(b, h.pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = c.appendAttr(b, a)
		return ok
	})
	if !ok {
		return b, false
	}
	if c.json {
		b = append(b, '}')
	}
	return append(b, '\n'), true
}

// bufPool holds the line buffers.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// maxPooled is the largest buffer put back in the pool, as in slog: one
// huge line must not pin its buffer for good.
const maxPooled = 16 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	bufPool.Put(b)
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package logfmt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// Error and value types for the cases where slog does not print
// err.Error(), or where Error misbehaves.
type (
	textErr     struct{}             // encoding.TextMarshaler: text prints MarshalText
	jsonErr     struct{}             // json.Marshaler: JSON marshals it
	fmtErr      struct{}             // fmt.Formatter: text prints Format
	bytesErr    []byte               // text prints a byte slice quoted
	ptrErr      struct{ msg string } // Error panics on a nil pointer
	nilOKErr    struct{}             // Error works on a nil pointer
	panicErr    struct{}             // Error always panics
	stringerErr struct{}             // fmt prefers Error to String
	valuer      struct{}             // slog.LogValuer
)

func (textErr) Error() string                { return "text err" }
func (textErr) MarshalText() ([]byte, error) { return []byte("marshalled text"), nil }
func (jsonErr) Error() string                { return "json err" }
func (jsonErr) MarshalJSON() ([]byte, error) { return []byte(`{"j":1}`), nil }
func (fmtErr) Error() string                 { return "fmt err" }
func (fmtErr) Format(f fmt.State, _ rune)    { fmt.Fprint(f, "formatted") }
func (e bytesErr) Error() string             { return string(e) }
func (e *ptrErr) Error() string              { return e.msg }
func (*nilOKErr) Error() string              { return "nil is fine" }
func (panicErr) Error() string               { panic("boom") }
func (stringerErr) Error() string            { return "the error" }
func (stringerErr) String() string           { return "the stringer" }
func (valuer) LogValue() slog.Value          { return slog.StringValue("resolved") }

// t0 is a record time with nanoseconds, in UTC.
var t0 = time.Date(2026, 11, 26, 7, 53, 19, 123456789, time.UTC)

// handlers returns ours and slog's for format and opts, writing to two
// buffers.
func handlers(format Format, opts *slog.HandlerOptions) (fast, std slog.Handler, fastBuf, stdBuf *bytes.Buffer) {
	fastBuf, stdBuf = new(bytes.Buffer), new(bytes.Buffer)
	fast = NewHandler(fastBuf, format, opts)
	if format == JSON {
		std = slog.NewJSONHandler(stdBuf, opts)
	} else {
		std = slog.NewTextHandler(stdBuf, opts)
	}
	return fast, std, fastBuf, stdBuf
}

// tookFastPath reports whether h is our handler and formats r itself.
func tookFastPath(h slog.Handler, r slog.Record) bool {
	fh, ok := h.(*handler)
	if !ok {
		return false
	}
	_, ok = fh.appendRecord(nil, &r)
	return ok
}

// op derives a handler: With-attrs or a group.
type op struct {
	attrs []slog.Attr
	group string
}

func derive(h slog.Handler, ops []op) slog.Handler {
	for _, o := range ops {
		if o.attrs != nil {
			h = h.WithAttrs(o.attrs)
		} else {
			h = h.WithGroup(o.group)
		}
	}
	return h
}

func record(t time.Time, level slog.Level, msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(t, level, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// slow values of the table's slow field.
const (
	fastBoth = ""     // the fast path formats the record in both formats
	slowJSON = "json" // only in text
	slowBoth = "both" // in neither
)

func TestHandlerMatchesSlog(t *testing.T) {
	var nilPtr *ptrErr
	var nilOK *nilOKErr
	berlin := time.FixedZone("CET", 3600)
	odd := time.FixedZone("LMT", -(3*3600 + 25*60 + 7)) // offset with seconds
	tests := []struct {
		name string
		opts *slog.HandlerOptions
		ops  []op
		r    slog.Record
		slow string
	}{
		{name: "no attrs", r: record(t0, slog.LevelInfo, "hello")},
		{name: "zero time", r: record(time.Time{}, slog.LevelInfo, "hello", slog.Int("a", 1))},
		{name: "non-UTC time", r: record(t0.In(berlin), slog.LevelInfo, "m")},
		{name: "offset with seconds", r: record(t0.In(odd), slog.LevelInfo, "m")},
		{name: "whole second", r: record(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelInfo, "m")},
		{name: "999.9ms", r: record(time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), slog.LevelInfo, "m")},
		{name: "monotonic", r: record(time.Now(), slog.LevelInfo, "m")},
		{name: "year 1", r: record(time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), slog.LevelInfo, "m")},
		{name: "year 10000", r: record(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m"), slow: slowJSON},
		{name: "year -1", r: record(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m"), slow: slowJSON},
		{name: "debug", r: record(t0, slog.LevelDebug, "m")},
		{name: "warn", r: record(t0, slog.LevelWarn, "m")},
		{name: "error", r: record(t0, slog.LevelError, "m")},
		{name: "info+2", r: record(t0, slog.LevelInfo+2, "m")},
		{name: "debug-3", r: record(t0, slog.LevelDebug-3, "m")},
		{name: "error+100", r: record(t0, slog.LevelError+100, "m")},
		{name: "min level", r: record(t0, math.MinInt, "m")},
		{name: "max level", r: record(t0, math.MaxInt, "m")},
		{name: "empty msg", r: record(t0, slog.LevelInfo, "")},
		{name: "msg with space", r: record(t0, slog.LevelInfo, "hello world")},
		{name: "msg with newline", r: record(t0, slog.LevelInfo, "a\nb\r\tc")},
		{name: "strings", r: record(t0, slog.LevelInfo, "m",
			slog.String("empty", ""),
			slog.String("space", "a b"),
			slog.String("eq", "a=b"),
			slog.String("quote", `say "hi"`),
			slog.String("backslash", `C:\path`),
			slog.String("single", "it's"),
			slog.String("html", "<a href='x'>&amp;</a>"),
			slog.String("unicode", "héllo, 世界 🙂"),
			slog.String("nbsp", "a\u00a0b"),
			slog.String("ideographic space", "a\u3000b"),
			slog.String("line sep", "a\u2028b\u2029c"),
			slog.String("invalid utf8", "a\xffb\xc3"),
			slog.String("replacement char", "a\ufffdb"),
			slog.String("control", "a\x00b\x01c\x1fd\x7fe"),
			slog.String("zero width", "a\u200bb"),
			slog.String("bom", "\ufeffx"),
			slog.String("c1 control", "a\u0085b"),
			slog.String("newlines", "l1\nl2\r\n"),
			slog.String("tab", "a\tb"),
			slog.String("braces", "{}[]:,"),
			slog.String("long", strings.Repeat("x", 5000)),
		)},
		{name: "keys", r: record(t0, slog.LevelInfo, "m",
			slog.String("", "empty key"),
			slog.String("a b", "1"),
			slog.String("a=b", "2"),
			slog.String(`"q"`, "3"),
			slog.String("ключ", "4"),
			slog.String("k\xff", "5"),
			slog.String("k\n", "6"),
			slog.String("time", "dup builtin"),
			slog.String("msg", "dup builtin"),
			slog.String("a.b", "dots"),
		)},
		{name: "numbers", r: record(t0, slog.LevelInfo, "m",
			slog.Int("zero", 0),
			slog.Int("neg", -42),
			slog.Int64("min", math.MinInt64),
			slog.Int64("max", math.MaxInt64),
			slog.Uint64("umax", math.MaxUint64),
			slog.Any("uint8", uint8(255)),
			slog.Any("int32", int32(-7)),
			slog.Any("uintptr", uintptr(9)),
		)},
		{name: "floats", r: record(t0, slog.LevelInfo, "m",
			slog.Float64("zero", 0),
			slog.Float64("negzero", math.Copysign(0, -1)),
			slog.Float64("pi", math.Pi),
			slog.Float64("big", 1e21),
			slog.Float64("below big", 999999999999999999999),
			slog.Float64("small", 1e-7),
			slog.Float64("above small", 1e-6),
			slog.Float64("max", math.MaxFloat64),
			slog.Float64("tiny", math.SmallestNonzeroFloat64),
			slog.Float64("neg", -123.456e-10),
			slog.Float64("int", 3),
			slog.Any("float32", float32(0.1)),
			slog.Float64("exp", 1.5e300),
		)},
		{name: "NaN", r: record(t0, slog.LevelInfo, "m", slog.Float64("x", math.NaN())), slow: slowJSON},
		{name: "+Inf", r: record(t0, slog.LevelInfo, "m", slog.Float64("x", math.Inf(1))), slow: slowJSON},
		{name: "-Inf", r: record(t0, slog.LevelInfo, "m", slog.Float64("x", math.Inf(-1))), slow: slowJSON},
		{name: "bools", r: record(t0, slog.LevelInfo, "m", slog.Bool("t", true), slog.Bool("f", false))},
		{name: "durations", r: record(t0, slog.LevelInfo, "m",
			slog.Duration("zero", 0),
			slog.Duration("ns", 7),
			slog.Duration("us", 1500*time.Nanosecond),
			slog.Duration("ms", 1234567),
			slog.Duration("s", 1500*time.Millisecond),
			slog.Duration("h", 26*time.Hour+3*time.Minute),
			slog.Duration("neg", -time.Second),
			slog.Duration("min", math.MinInt64),
			slog.Duration("max", math.MaxInt64),
		)},
		{name: "times", r: record(t0, slog.LevelInfo, "m",
			slog.Time("utc", t0),
			slog.Time("zone", t0.In(berlin)),
			slog.Time("zero", time.Time{}),
			slog.Time("local", t0.Local()),
			slog.Time("monotonic", time.Now()),
			slog.Time("whole", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			slog.Time("far", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)),
			slog.Time("before 1970", time.Date(1969, 7, 20, 20, 17, 40, 5e6, time.UTC)),
			slog.Time("beyond UnixNano", time.Date(2300, 1, 1, 0, 0, 0, 1, time.UTC)),
		)},
		{name: "time year 12000", r: record(t0, slog.LevelInfo, "m",
			slog.Time("t", time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC))), slow: slowJSON},
		{name: "errors", r: record(t0, slog.LevelInfo, "m",
			slog.Any("err", errors.New("dial tcp: connection refused")),
			slog.Any("wrapped", fmt.Errorf("upstream %q: %w", "openai", context.DeadlineExceeded)),
			slog.Any("joined", errors.Join(errors.New("a"), errors.New("b"))),
			slog.Any("empty", errors.New("")),
			slog.Any("ptr", &ptrErr{msg: "ptr err"}),
			slog.Any("nil ok", nilOK),
			slog.Any("stringer", stringerErr{}),
			slog.Any("canceled", context.Canceled),
		)},
		{name: "nil any", r: record(t0, slog.LevelInfo, "m", slog.Any("err", nil))},
		{name: "nil any empty key", r: record(t0, slog.LevelInfo, "m", slog.Any("", nil), slog.Int("a", 1))},
		{name: "empty attr", r: record(t0, slog.LevelInfo, "m", slog.Attr{}, slog.Int("a", 1))},
		{name: "empty group", r: record(t0, slog.LevelInfo, "m", slog.Group("g"), slog.Int("a", 1))},
		{name: "empty key string", r: record(t0, slog.LevelInfo, "m", slog.String("", ""))},
		{name: "empty key int", r: record(t0, slog.LevelInfo, "m", slog.Int("", 0))},
		{name: "many attrs", r: record(t0, slog.LevelInfo, "m",
			slog.Int("a1", 1), slog.Int("a2", 2), slog.Int("a3", 3), slog.Int("a4", 4), slog.Int("a5", 5),
			slog.Int("a6", 6), slog.Int("a7", 7), slog.String("a8", "x y"))},
		{name: "nil pointer error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", nilPtr)), slow: slowBoth},
		{name: "panicking error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", panicErr{})), slow: slowBoth},
		{name: "text marshaler error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", textErr{})), slow: slowBoth},
		{name: "json marshaler error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", jsonErr{})), slow: slowBoth},
		{name: "formatter error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", fmtErr{})), slow: slowBoth},
		{name: "bytes error", r: record(t0, slog.LevelInfo, "m", slog.Any("err", bytesErr("a b"))), slow: slowBoth},
		{name: "group", r: record(t0, slog.LevelInfo, "m", slog.Group("g", slog.Int("a", 1))), slow: slowBoth},
		{name: "empty-key group", r: record(t0, slog.LevelInfo, "m", slog.Group("", slog.Int("a", 1))), slow: slowBoth},
		{name: "log valuer", r: record(t0, slog.LevelInfo, "m", slog.Any("v", valuer{})), slow: slowBoth},
		{name: "struct", r: record(t0, slog.LevelInfo, "m", slog.Any("s", struct{ A int }{1})), slow: slowBoth},
		{name: "byte slice", r: record(t0, slog.LevelInfo, "m", slog.Any("b", []byte("hi"))), slow: slowBoth},
		{name: "map", r: record(t0, slog.LevelInfo, "m", slog.Any("m", map[string]int{"a": 1})), slow: slowBoth},
		{name: "kind", r: record(t0, slog.LevelInfo, "m", slog.Any("k", slog.KindInt64)), slow: slowBoth},
		{name: "fast after slow", r: record(t0, slog.LevelInfo, "m", slog.Int("a", 1), slog.Any("s", []int{1}), slog.Int("b", 2)), slow: slowBoth},
		{
			name: "with attrs",
			ops:  []op{{attrs: []slog.Attr{slog.String("request_id", "r 1"), slog.Any("err", errors.New("x"))}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
		},
		{
			name: "with attrs, record without",
			ops:  []op{{attrs: []slog.Attr{slog.String("k", "v")}}},
			r:    record(t0, slog.LevelInfo, "m"),
		},
		{
			name: "with attrs twice",
			ops: []op{
				{attrs: []slog.Attr{slog.String("k", "v"), slog.Attr{}, slog.Group("empty")}},
				{attrs: []slog.Attr{slog.Duration("d", time.Second), slog.Any("nil", nil)}},
			},
			r: record(t0, slog.LevelInfo, "m", slog.Bool("b", true)),
		},
		{
			name: "with only empty attrs",
			ops:  []op{{attrs: []slog.Attr{{}, slog.Group("e")}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
		},
		{
			name: "with attrs, then a slow record",
			ops:  []op{{attrs: []slog.Attr{slog.String("k", "v"), slog.Any("err", errors.New("e"))}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Group("g", slog.Int("a", 1))),
			slow: slowBoth,
		},
		{
			name: "with a slow attr",
			ops:  []op{{attrs: []slog.Attr{slog.String("k", "v")}}, {attrs: []slog.Attr{slog.Any("v", valuer{})}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "with NaN",
			ops:  []op{{attrs: []slog.Attr{slog.Float64("f", math.NaN())}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowJSON,
		},
		{
			name: "with a panicking error",
			ops:  []op{{attrs: []slog.Attr{slog.Any("err", panicErr{})}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "with group",
			ops:  []op{{attrs: []slog.Attr{slog.String("k", "v")}}, {group: "g"}, {attrs: []slog.Attr{slog.Int("x", 1)}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "with group, record without attrs",
			ops:  []op{{group: "g"}},
			r:    record(t0, slog.LevelInfo, "m"),
			slow: slowBoth,
		},
		{
			name: "with empty group name",
			ops:  []op{{group: ""}, {attrs: []slog.Attr{slog.String("k", "v")}}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "replace attr",
			opts: &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "add source",
			opts: &slog.HandlerOptions{AddSource: true},
			r:    record(t0, slog.LevelInfo, "m", slog.Int("a", 1)),
			slow: slowBoth,
		},
		{
			name: "level option",
			opts: &slog.HandlerOptions{Level: slog.LevelDebug},
			r:    record(t0, slog.LevelDebug, "m", slog.Int("a", 1)),
		},
	}
	for _, tt := range tests {
		for _, format := range []Format{Text, JSON} {
			t.Run(tt.name+"/"+format.String(), func(t *testing.T) {
				fast, std, fastBuf, stdBuf := handlers(format, tt.opts)
				fast, std = derive(fast, tt.ops), derive(std, tt.ops)
				if err := fast.Handle(t.Context(), tt.r); err != nil {
					t.Fatalf("Handle: %v", err)
				}
				if err := std.Handle(t.Context(), tt.r); err != nil {
					t.Fatalf("slog Handle: %v", err)
				}
				if got, want := fastBuf.String(), stdBuf.String(); got != want {
					t.Errorf("output differs from slog's\n got: %q\nwant: %q", got, want)
				}
				wantFast := tt.slow == fastBoth || (tt.slow == slowJSON && format == Text)
				if got := tookFastPath(fast, tt.r); got != wantFast {
					t.Errorf("fast path taken = %v, want %v", got, wantFast)
				}
			})
		}
	}
}

// TestWithAttrsLeavesParent checks that deriving twice from one handler
// does not let the children's With-attrs overwrite each other.
func TestWithAttrsLeavesParent(t *testing.T) {
	for _, format := range []Format{Text, JSON} {
		t.Run(format.String(), func(t *testing.T) {
			fast, std, fastBuf, stdBuf := handlers(format, nil)
			fp, sp := fast.WithAttrs([]slog.Attr{slog.Int("p", 1)}), std.WithAttrs([]slog.Attr{slog.Int("p", 1)})
			fa, sa := fp.WithAttrs([]slog.Attr{slog.Int("a", 1)}), sp.WithAttrs([]slog.Attr{slog.Int("a", 1)})
			fb, sb := fp.WithAttrs([]slog.Attr{slog.Int("b", 2)}), sp.WithAttrs([]slog.Attr{slog.Int("b", 2)})
			r := record(t0, slog.LevelInfo, "m", slog.Any("x", []int{1})) // slow, to build the fallbacks too
			for _, h := range []slog.Handler{fa, fb, fp, fast, sa, sb, sp, std} {
				if err := h.Handle(t.Context(), record(t0, slog.LevelInfo, "m")); err != nil {
					t.Fatal(err)
				}
				if err := h.Handle(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
			if got, want := fastBuf.String(), stdBuf.String(); got != want {
				t.Errorf("output differs from slog's\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	var lv slog.LevelVar
	tests := []struct {
		name  string
		opts  *slog.HandlerOptions
		set   slog.Level // for the LevelVar
		level slog.Level
		want  bool
	}{
		{name: "nil opts, info", level: slog.LevelInfo, want: true},
		{name: "nil opts, debug", level: slog.LevelDebug, want: false},
		{name: "nil level, info-1", opts: &slog.HandlerOptions{}, level: slog.LevelInfo - 1, want: false},
		{name: "warn, info", opts: &slog.HandlerOptions{Level: slog.LevelWarn}, level: slog.LevelInfo, want: false},
		{name: "warn, error", opts: &slog.HandlerOptions{Level: slog.LevelWarn}, level: slog.LevelError, want: true},
		{name: "var debug, debug", opts: &slog.HandlerOptions{Level: &lv}, set: slog.LevelDebug, level: slog.LevelDebug, want: true},
		{name: "var error, warn", opts: &slog.HandlerOptions{Level: &lv}, set: slog.LevelError, level: slog.LevelWarn, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(io.Discard, Text, tt.opts)
			lv.Set(tt.set) // after NewHandler: the level is read at each call
			if got := h.Enabled(t.Context(), tt.level); got != tt.want {
				t.Errorf("Enabled(%v) = %v, want %v", tt.level, got, tt.want)
			}
			if got := h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).Enabled(t.Context(), tt.level); got != tt.want {
				t.Errorf("derived Enabled(%v) = %v, want %v", tt.level, got, tt.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{in: "text", want: Text},
		{in: "json", want: JSON},
		{in: "JSON", wantErr: true},
		{in: "", wantErr: true},
		{in: "logfmt", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFormat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseFormat(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && (got != tt.want || got.String() != tt.in) {
				t.Errorf("ParseFormat(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// countingWriter records each Write call as one line.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), w.err
}

// TestOneWritePerRecord checks both paths write each record whole, in one
// call, and pass on the writer's error.
func TestOneWritePerRecord(t *testing.T) {
	tests := []struct {
		name string
		r    slog.Record
	}{
		{name: "fast", r: record(t0, slog.LevelInfo, "m", slog.Int("a", 1))},
		{name: "slow", r: record(t0, slog.LevelInfo, "m", slog.Group("g", slog.Int("a", 1)))},
	}
	for _, tt := range tests {
		for _, format := range []Format{Text, JSON} {
			t.Run(tt.name+"/"+format.String(), func(t *testing.T) {
				w := &countingWriter{err: errors.New("disk full")}
				h := NewHandler(w, format, nil).WithAttrs([]slog.Attr{slog.String("k", "v")})
				if err := h.Handle(t.Context(), tt.r); err == nil || err.Error() != "disk full" {
					t.Errorf("Handle error = %v, want disk full", err)
				}
				if len(w.writes) != 1 || strings.Count(w.writes[0], "\n") != 1 || !strings.HasSuffix(w.writes[0], "\n") {
					t.Errorf("writes = %q, want one line in one write", w.writes)
				}
			})
		}
	}
}

// TestConcurrent logs from many goroutines, fast and slow records on
// derived handlers, and checks that every line comes out whole. Run it
// with -race.
func TestConcurrent(t *testing.T) {
	const goroutines, perG = 16, 200
	for _, format := range []Format{Text, JSON} {
		t.Run(format.String(), func(t *testing.T) {
			w := &countingWriter{}
			root := NewHandler(w, format, nil)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					h := root.WithAttrs([]slog.Attr{slog.Int("g", g)})
					log := slog.New(h)
					for i := range perG {
						if i%5 == 0 {
							log.Info("slow", "i", i, "grp", slog.GroupValue(slog.Int("x", i)))
						} else {
							log.Info("fast", "i", i, "s", strings.Repeat("y", i))
						}
					}
				})
			}
			wg.Wait()
			if len(w.writes) != goroutines*perG {
				t.Fatalf("%d writes, want %d", len(w.writes), goroutines*perG)
			}
			for _, line := range w.writes {
				whole := strings.Count(line, "\n") == 1 && strings.HasSuffix(line, "\n")
				if format == JSON {
					whole = whole && json.Valid([]byte(line)) && strings.Contains(line, `"g":`)
				} else {
					whole = whole && strings.HasPrefix(line, "time=") && strings.Contains(line, " g=")
				}
				if !whole {
					t.Fatalf("torn line %q", line)
				}
			}
		})
	}
}

// FuzzHandler compares our output with slog's, in text and JSON, for
// records built of fuzzed values of every fast kind, with and without
// With-attrs; slow adds a group to the record, so that a handler with
// fast With-attrs must hand it to slog.
func FuzzHandler(f *testing.F) {
	f.Add("key", "value", "msg", int64(0), uint64(0), 0.0, false, int64(0), int64(0), int64(0), int16(0), 0, false)
	f.Add("", "", "", int64(-1), uint64(math.MaxUint64), math.NaN(), true, int64(math.MinInt64), int64(-62135596800), int64(1), int16(-720), 2, true)
	f.Add("a b", "a=b \"q\"", "x\ny", int64(math.MaxInt64), uint64(1), math.Inf(-1), true, int64(1234567), int64(1795679599), int64(123456789), int16(330), -4, false)
	f.Add("k\xff", "\u2028\x00\x7f\\", "\u00a0", int64(42), uint64(42), 1e21, false, int64(3600e9), int64(253402300800), int64(999999999), int16(1), 8, true)
	f.Add("é", "\ufffd", "🙂", int64(7), uint64(7), 1e-7, true, int64(-1), int64(-62135596801), int64(-1), int16(-1), 1, false)
	f.Fuzz(func(t *testing.T, key, s, msg string, i int64, u uint64, fl float64, b bool, d, sec, nsec int64, offMin int16, level int, slow bool) {
		loc := time.UTC
		if offMin != 0 {
			loc = time.FixedZone("Z", int(offMin)*60+int(offMin)%60)
		}
		tm := time.Unix(sec, nsec).In(loc)
		attrs := []slog.Attr{
			slog.String(key, s),
			slog.Int64(s, i),
			slog.Uint64(key, u),
			slog.Float64(key, fl),
			slog.Bool(key, b),
			slog.Duration(key, time.Duration(d)),
			slog.Time(key, tm),
			slog.Any(key, errors.New(s)),
			slog.Any(key, nil),
		}
		r := record(tm, slog.Level(level), msg, attrs...)
		if slow {
			r.AddAttrs(slog.Group(key, slog.String(s, msg)))
		}
		for _, format := range []Format{Text, JSON} {
			for _, with := range []bool{false, true} {
				fast, std, fastBuf, stdBuf := handlers(format, nil)
				if with {
					fast, std = fast.WithAttrs(attrs), std.WithAttrs(attrs)
				}
				_ = fast.Handle(context.Background(), r)
				_ = std.Handle(context.Background(), r)
				if got, want := fastBuf.String(), stdBuf.String(); got != want {
					t.Fatalf("%v, with=%v: output differs from slog's\n got: %q\nwant: %q", format, with, got, want)
				}
			}
		}
	})
}

// accessLine is a typical access log line: 16 attributes.
func accessLine() []slog.Attr {
	return []slog.Attr{
		slog.String("request_id", "req_0123456789abcdef01234567"),
		slog.String("method", "POST"),
		slog.String("route", "/v1/chat/completions"),
		slog.Int("status", 200),
		slog.Duration("duration", 1234567*time.Nanosecond),
		slog.Int64("bytes", 412),
		slog.String("key", "team-a"),
		slog.String("model", "gpt-4.1-mini"),
		slog.Bool("stream", false),
		slog.String("upstream", "openai"),
		slog.Duration("first_byte", 987654*time.Nanosecond),
		slog.Int("retries", 0),
		slog.Bool("conn_reused", true),
		slog.String("proto", "h2"),
		slog.Int("prompt_tokens", 12),
		slog.Int("completion_tokens", 16),
	}
}

type namedHandler struct {
	name string
	h    slog.Handler
}

// benchHandlers returns ours and slog's, writing to io.Discard.
func benchHandlers(format Format) []namedHandler {
	std := slog.Handler(slog.NewTextHandler(io.Discard, nil))
	if format == JSON {
		std = slog.NewJSONHandler(io.Discard, nil)
	}
	return []namedHandler{{"fast", NewHandler(io.Discard, format, nil)}, {"slog", std}}
}

func BenchmarkHandler(b *testing.B) {
	attrs := accessLine()
	for _, format := range []Format{Text, JSON} {
		for _, impl := range benchHandlers(format) {
			b.Run(format.String()+"/"+impl.name, func(b *testing.B) {
				log := slog.New(impl.h)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
				}
			})
		}
	}
}

// BenchmarkHandle measures the handlers alone, without slog.Logger's
// share (time.Now, the caller's PC, copying the attrs into the Record).
func BenchmarkHandle(b *testing.B) {
	r := record(time.Now(), slog.LevelInfo, "request", accessLine()...)
	for _, format := range []Format{Text, JSON} {
		for _, impl := range benchHandlers(format) {
			b.Run(format.String()+"/"+impl.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_ = impl.h.Handle(ctx, r)
				}
			})
		}
	}
}

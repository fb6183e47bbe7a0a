// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package logfmt

import (
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// The rules in this file are copied from log/slog (handler.go,
// text_handler.go, json_handler.go) and encoding/json (the float encoder)
// of Go 1.26; the tests hold them to slog's output.

// appendAttr appends a with its leading separator, as slog would. It
// reports false if a is of a kind the fast path leaves to slog.
func (c *common) appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = c.appendKey(b, a.Key)
		b = c.appendString(b, v.String())
	case slog.KindInt64:
		b = c.appendKey(b, a.Key)
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = c.appendKey(b, a.Key)
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		f := v.Float64()
		if c.json {
			// slog calls json.Marshal, which fails on these; slog then
			// prints the error.
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return b, false
			}
			b = c.appendKey(b, a.Key)
			b = appendJSONFloat(b, f)
		} else {
			b = c.appendKey(b, a.Key)
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
	case slog.KindBool:
		b = c.appendKey(b, a.Key)
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = c.appendKey(b, a.Key)
		if c.json {
			b = strconv.AppendInt(b, int64(v.Duration()), 10) // what json.Marshal does
		} else {
			b = append(b, v.Duration().String()...)
		}
	case slog.KindTime:
		t := v.Time()
		if c.json {
			if !jsonTimeOK(t) {
				return b, false
			}
			b = c.appendKey(b, a.Key)
			b = c.appendJSONTime(b, t)
		} else {
			b = c.appendKey(b, a.Key)
			b = c.appendTextTime(b, t)
		}
	case slog.KindGroup:
		// slog drops a group without attributes; anything else goes to slog.
		if len(v.Group()) != 0 {
			return b, false
		}
	case slog.KindAny:
		x := v.Any()
		if x == nil {
			if a.Key == "" {
				return b, true // Attr{}: slog drops it
			}
			// slog's text handler prints fmt.Sprintf("%+v", nil); its JSON
			// handler json.Marshal(nil).
			b = c.appendKey(b, a.Key)
			if c.json {
				b = append(b, "null"...)
			} else {
				b = append(b, "<nil>"...)
			}
			return b, true
		}
		err, ok := x.(error)
		if !ok {
			return b, false
		}
		s, ok := errorText(err)
		if !ok {
			return b, false
		}
		b = c.appendKey(b, a.Key)
		b = c.appendString(b, s)
	default: // KindLogValuer, and any kind added later
		return b, false
	}
	return b, true
}

// errorText returns err.Error(), and whether both slog handlers print err
// as exactly that string: the JSON handler does unless err is a
// json.Marshaler; the text handler prints a TextMarshaler's text, a
// byte slice quoted, and otherwise fmt's %+v, which is err.Error() unless
// err is a fmt.Formatter. If Error panics (a nil pointer receiver, say),
// errorText reports false and slog prints what it prints for a panic.
func errorText(err error) (s string, ok bool) {
	switch err.(type) {
	case json.Marshaler, encoding.TextMarshaler, fmt.Formatter:
		return "", false
	}
	if reflect.TypeOf(err).Kind() == reflect.Slice {
		return "", false
	}
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return err.Error(), true
}

// appendKey appends the separator and key=, or ,"key": in JSON. The
// level and msg keys always come first, so an attribute always has a
// separator before it.
func (c *common) appendKey(b []byte, key string) []byte {
	if c.json {
		b = append(b, ',', '"')
		b = appendEscapedJSONString(b, key)
		return append(b, '"', ':')
	}
	b = append(b, ' ')
	b = appendTextString(b, key)
	return append(b, '=')
}

// appendString appends s as slog's handlers append a string value (and a
// key): quoted and escaped in JSON, quoted only if needed in text.
func (c *common) appendString(b []byte, s string) []byte {
	if c.json {
		b = append(b, '"')
		b = appendEscapedJSONString(b, s)
		return append(b, '"')
	}
	return appendTextString(b, s)
}

func appendTextString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// textSafe[b] holds whether the byte b may appear in an unquoted text
// value: slog quotes space, '=' and whatever needs escaping in a JSON
// string, except the backslash. Bytes from 0x80 are false here; whether
// they need quoting depends on the rune they begin.
var textSafe = func() (t [256]bool) {
	for b := range utf8.RuneSelf {
		t[b] = b == '\\' || (b != ' ' && b != '=' && jsonSafe[b])
	}
	return t
}()

// needsQuoting is slog's needsQuoting (text_handler.go), with a first
// pass over 8 bytes at a time, then one byte at a time, for the common
// all-ASCII case.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		// Stop at a word with a byte that is not ASCII, a control
		// character or space (< 0x21), '=' or '"'; the loops below decide.
		if x&hiBits != 0 || hasLess(x, 0x21) || hasZero(x^(loBits*'=')) || hasZero(x^(loBits*'"')) {
			break
		}
	}
	for i < len(s) && textSafe[s[i]] {
		i++
	}
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if !textSafe[b] {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendRFC3339Millis is slog's: RFC 3339 with exactly three fraction
// digits, for the text handler.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	// Format according to time.RFC3339Nano since it is highly optimized,
	// but truncate it to use millisecond resolution.
	// Unfortunately, that format trims trailing 0s, so add 1/10 millisecond
	// to guarantee that there are exactly 4 digits after the period.
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	b = append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the 4th digit
	return b
}

// jsonTimeOK reports whether slog's JSON handler formats t without
// complaint: it prints an error first for years outside [0,9999].
func jsonTimeOK(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y < 10000
}

// appendJSONTime appends t as slog's JSON handler does: quoted RFC 3339
// with nanoseconds, trailing zeros (and a bare '.') trimmed.
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// timeParts is what an RFC 3339 time has before and after its fraction
// of a second; both are the same for every instant of one Unix second in
// one Location.
type timeParts struct {
	sec    int64
	loc    *time.Location
	prefix [len("2006-01-02T15:04:05")]byte
	zone   string // "Z", "+01:00"
}

// cachedTime returns the parts of t, from the cache if t is in the second
// and Location last asked for. It returns nil for years outside 1–9999,
// whose format does not have this shape; the caller formats those in full.
func (c *common) cachedTime(t time.Time) *timeParts {
	sec, loc := t.Unix(), t.Location()
	if p := c.time.Load(); p != nil && p.sec == sec && p.loc == loc {
		return p
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return nil
	}
	var buf [64]byte
	b := time.Unix(sec, 0).In(loc).AppendFormat(buf[:0], time.RFC3339)
	p := &timeParts{sec: sec, loc: loc}
	if len(b) <= len(p.prefix) || b[len(p.prefix)] == '.' {
		return nil // not the expected shape: leave it to the slow formatting
	}
	copy(p.prefix[:], b)
	p.zone = string(b[len(p.prefix):])
	c.time.Store(p)
	return p
}

// appendTextTime appends t as slog's text handler does
// (appendRFC3339Millis), from the cached parts when it can.
func (c *common) appendTextTime(b []byte, t time.Time) []byte {
	p := c.cachedTime(t)
	if p == nil {
		return appendRFC3339Millis(b, t)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, p.prefix[:]...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, p.zone...)
}

// appendJSONTime appends t, whose year is in [0,9999], as slog's JSON
// handler does (appendJSONTime), from the cached parts when it can.
func (c *common) appendJSONTime(b []byte, t time.Time) []byte {
	p := c.cachedTime(t)
	if p == nil {
		return appendJSONTime(b, t)
	}
	b = append(b, '"')
	b = append(b, p.prefix[:]...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(frac)
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	b = append(b, p.zone...)
	return append(b, '"')
}

// appendJSONFloat appends a finite f as encoding/json does: like %g, but
// with ES6's exponent cut-offs and no padding of the exponent.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendEscapedJSONString is slog's (json_handler.go): JSON escaping
// without HTML escaping, invalid UTF-8 as \ufffd, U+2028 and U+2029
// escaped. It does not add the quotes.
func appendEscapedJSONString(buf []byte, s string) []byte {
	// Skip 8 bytes at a time while they need no escaping: ASCII, no
	// control character (< 0x20), no '"' and no '\\'.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		if x&hiBits != 0 || hasLess(x, 0x20) || hasZero(x^(loBits*'"')) || hasZero(x^(loBits*'\\')) {
			break
		}
	}
	start := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\')
			switch b {
			case '\\', '"':
				buf = append(buf, b)
			case '\n':
				buf = append(buf, 'n')
			case '\r':
				buf = append(buf, 'r')
			case '\t':
				buf = append(buf, 't')
			default:
				// This encodes bytes < 0x20 except for \t, \n and \r.
				buf = append(buf, 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 is LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR: valid in
		// JSON strings but not in JavaScript, so escaped.
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}

const hex = "0123456789abcdef"

// Word-at-a-time byte tests (Hacker's Delight; "bit twiddling hacks").
// Each may report a byte that is not there only after one that is, so a
// false result is exact: no byte of the word matches.
const (
	loBits = 0x0101010101010101
	hiBits = 0x8080808080808080
)

// load64 returns s[i:i+8] as a little-endian word; the compiler merges the
// loads into one.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// hasZero reports whether a byte of x is zero.
func hasZero(x uint64) bool { return (x-loBits)&^x&hiBits != 0 }

// hasLess reports whether a byte of x is below n, for x without its high
// bits set and n <= 128.
func hasLess(x uint64, n byte) bool { return (x-loBits*uint64(n))&^x&hiBits != 0 }

// jsonSafe[b] holds whether the ASCII byte b appears unescaped in a JSON
// string: all but the control characters, '"' and '\\' (encoding/json's
// safeSet; DEL is safe).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := range t {
		t[b] = b >= ' ' && b != '"' && b != '\\'
	}
	return t
}()

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// A small reader for the one JSON object the gateway parses on every
// answer: the "usage" object (usage.go). encoding/json costs a decoder, a buffer and
// reflection per answer for five integers; this reads them in place.

import "math"

// parseUsage reads the JSON object at the start of b (b[0] is '{') and
// returns its integer usage fields; fields it does not have stay unset.
// Other members, nested objects included, are skipped. ok is false when the
// object is malformed or a usage field is not an integer, as encoding/json
// would refuse it.
func parseUsage(b []byte) (w wireUsage, ok bool) {
	w = noUsage
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return w, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return w, false
		}
		end := stringEnd(b, i)
		if end < 0 {
			return w, false
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return w, false
		}
		i = skipSpace(b, i+1)
		if f := w.field(key); f != nil && i < len(b) && b[i] != 'n' { // null leaves it unset
			n, j, ok := parseInt(b, i)
			if !ok {
				return w, false
			}
			*f, i = n, j
		} else if i = skipValue(b, i); i < 0 {
			return w, false
		}
		i = skipSpace(b, i)
		switch {
		case i >= len(b):
			return w, false
		case b[i] == '}':
			return w, true
		case b[i] != ',':
			return w, false
		}
		i = skipSpace(b, i+1)
	}
	return w, false
}

// field returns the wireUsage field named key, or nil.
func (w *wireUsage) field(key []byte) *int {
	switch string(key) { // no allocation: the compiler compares in place
	case "prompt_tokens":
		return &w.PromptTokens
	case "completion_tokens":
		return &w.CompletionTokens
	case "input_tokens":
		return &w.InputTokens
	case "output_tokens":
		return &w.OutputTokens
	case "total_tokens":
		return &w.TotalTokens
	case "cache_read_input_tokens":
		return &w.CacheReadInputTokens
	case "cache_creation_input_tokens":
		return &w.CacheCreationInputTokens
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i]
// (a '"'), or -1 if it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// parseInt reads a JSON integer at b[i]: an optional minus and digits,
// without leading zeros, fraction or exponent, within int64.
func parseInt(b []byte, i int) (n, end int, ok bool) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg, i = true, i+1
	}
	start := i
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -9223372036854775808 fits
	}
	var v uint64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (limit-d)/10 {
			return 0, 0, false
		}
		v = v*10 + d
	}
	switch {
	case i == start, i-start > 1 && b[start] == '0':
		return 0, 0, false
	case i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'):
		return 0, 0, false
	}
	if neg {
		return int(-v), i, true // two's complement: also right for the limit
	}
	return int(v), i, true
}

// skipValue returns the index just past the JSON value starting at b[i],
// or -1 if it is malformed or does not end. Nested objects and arrays are
// skipped by bracket depth, strings by their quotes; scalars by their
// characters (their exact form is not checked: the value is not used).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] == 'E') {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// topLevel calls f with the key (raw, between its quotes) and the raw
// value of each member of the JSON object body, in order. body should be
// valid JSON (json.Valid); anything else ends the walk early.
func topLevel(body []byte, f func(key, value []byte)) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return
	}
	i = skipSpace(body, i+1)
	for i < len(body) && body[i] == '"' {
		end := stringEnd(body, i)
		if end < 0 {
			return
		}
		key := body[i+1 : end-1]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return
		}
		i = skipSpace(body, i+1)
		vend := skipValue(body, i)
		if vend < 0 {
			return
		}
		f(key, body[i:vend])
		i = skipSpace(body, vend)
		if i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
}

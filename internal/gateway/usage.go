// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// Reading an answer's token usage, by dialect: where the "usage" object
// is (the end of a JSON answer, one or more events of a stream), how the
// usage of several events adds up, and what its fields mean.

import (
	"bytes"
	"math"

	"github.com/warmgate/warmgate/openai"
)

// usageReader is how a route's answers report their usage (the endpoint
// table's usage column).
type usageReader struct {
	// normalize turns the fields found into the gateway's usage; ok is
	// false when none of them was set.
	normalize func(wireUsage) (openai.Usage, bool)
	// merge combines the usage found in a stream event with what the
	// earlier events said.
	merge func(prev, ev wireUsage) wireUsage
	// usageOnly, when not nil, reports whether a stream event that has a
	// usage carries nothing else (the chunk the gateway may have asked
	// for in the client's place: streamusage.go).
	usageOnly func(data []byte) bool
}

// answer finds the usage of a whole (non-streamed) answer, of which b is
// the end.
func (u *usageReader) answer(b []byte) (openai.Usage, bool) {
	w, ok := findWireUsage(b)
	if !ok {
		return openai.Usage{}, false
	}
	return u.normalize(w)
}

// openaiUsage reads OpenAI's APIs: Chat Completions' prompt/completion
// naming or the Responses API's input/output, in the answer's "usage" or
// in the stream's last event that has one (the final chunk with
// stream_options.include_usage, or the Responses API's
// response.completed), which is the whole usage.
var openaiUsage = &usageReader{
	normalize: wireUsage.normalize,
	merge:     func(_, ev wireUsage) wireUsage { return ev },
	usageOnly: emptyChoices,
}

// wireUsage is a usage object's integer fields, in either naming. Fields
// absent from the JSON keep the value unset.
type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	InputTokens      int `json:"input_tokens"`
	OutputTokens     int `json:"output_tokens"`
	TotalTokens      int `json:"total_tokens"`
	// Anthropic's prompt tokens read from or written to its cache, which
	// its input_tokens does not count.
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
}

// unset marks a wireUsage field the JSON did not set.
const unset = math.MinInt

// noUsage is a wireUsage with no field set.
var noUsage = wireUsage{unset, unset, unset, unset, unset, unset, unset}

var usageKey = []byte(`"usage"`)

// findUsage finds the last "usage" object in b, which may be a whole JSON
// document, the tail of one or one SSE event's data, and reads it as
// OpenAI's APIs write it.
func findUsage(b []byte) (openai.Usage, bool) { return openaiUsage.answer(b) }

// findWireUsage finds the last "usage" object in b that has a usage
// field set. A "usage" inside a string has its quotes escaped, so it does
// not match; "usage": null is skipped.
func findWireUsage(b []byte) (wireUsage, bool) {
	for end := len(b); ; {
		i := bytes.LastIndex(b[:end], usageKey)
		if i < 0 {
			return noUsage, false
		}
		end = i
		if escaped(b, i) {
			continue
		}
		rest := bytes.TrimLeft(b[i+len(usageKey):], " \t\r\n")
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '{' {
			continue
		}
		w, ok := parseUsage(rest)
		if ok && w != noUsage {
			return w, true
		}
	}
}

// escaped reports whether the byte at i follows an odd number of
// backslashes.
func escaped(b []byte, i int) bool {
	n := 0
	for i > 0 && b[i-1] == '\\' {
		n, i = n+1, i-1
	}
	return n%2 == 1
}

// pick is the first of a and b that is set, at least 0.
func pick(a, b int) (int, bool) {
	switch {
	case a != unset:
		return max(a, 0), true
	case b != unset:
		return max(b, 0), true
	}
	return 0, false
}

// normalize reads w in OpenAI's meaning: prompt_tokens (or input_tokens)
// counts the whole prompt, cached tokens included.
func (w wireUsage) normalize() (openai.Usage, bool) {
	p, okP := pick(w.PromptTokens, w.InputTokens)
	c, okC := pick(w.CompletionTokens, w.OutputTokens)
	t, okT := pick(w.TotalTokens, unset)
	if !okP && !okC && !okT {
		return openai.Usage{}, false
	}
	if !okT || t < p+c {
		t = p + c
	}
	return openai.Usage{PromptTokens: p, CompletionTokens: c, TotalTokens: t}, true
}

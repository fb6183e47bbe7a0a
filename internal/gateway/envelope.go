// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/warmgate/warmgate/openai"
)

// envelope is what readEnvelope found at the top level of a JSON body.
type envelope struct {
	openai.Envelope
	// models counts the "model" members: keys are compared after
	// unescaping, as every JSON decoder reads them ("mod\u0065l" is
	// "model").
	models int
	// dup is an envelope key ("model", "stream", "stream_options") that
	// appears more than once, or "". Decoders disagree on which one
	// counts: Go and Python take the last, others the first.
	dup string
	// folded is a key that is not an envelope key but equals one but for
	// case ("Model", "STREAM", or "ſtream" with a long s), or "". Go's
	// encoding/json and other case-insensitive decoders take it for the
	// envelope key; Python, serde and llama.cpp do not.
	folded string
	// optSpans are the byte ranges of the "stream_options" values, for
	// withStreamUsageAt.
	optSpans [][2]int
}

// readEnvelope reads what routing needs from body, a JSON object: the
// top-level "model", "stream" and "stream_options", and the keys that
// would make another server read them differently (envelope.dup and
// envelope.folded). It checks that body is valid JSON in one pass that
// allocates nothing (json.Valid), then reads the top level only: the
// values of other members (messages, tools: nearly all of a long
// conversation) are skipped by their brackets and quotes, never decoded.
//
// Keys match exactly, after unescaping, as upstreams that read keys
// exactly do (Python's json, serde, llama.cpp); encoding/json would also
// take "Model" for "model", so such keys are reported, not read. Any error
// (invalid JSON, a body that is not an object, a field of the wrong type)
// is the one json.Unmarshal gives, so that messages stay those of
// encoding/json.
func readEnvelope(body []byte) (e envelope, err error) {
	if !json.Valid(body) {
		return e, unmarshalError(body)
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		// An error, or null: an empty envelope. (Locals, not e's fields,
		// are decoded into here and below: their address escapes, and
		// would move e to the heap on every call.)
		var env openai.Envelope
		err = json.Unmarshal(body, &env)
		e.Envelope = env
		return e, err
	}
	var streams, opts int
	i = skipSpace(body, i+1)
	for i < len(body) && body[i] == '"' {
		end := stringEnd(body, i) // valid JSON: the string ends
		key := body[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			// An escaped key: every decoder reads its unescaped text.
			var s string
			if err := json.Unmarshal(body[i:end], &s); err != nil {
				return e, unmarshalError(body)
			}
			key = []byte(s)
		}
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // past ':'
		vend := skipValue(body, i)
		v := body[i:vend]
		switch envelopeKey(key) {
		case keyModel:
			e.models++
			if e.models == 2 && e.dup == "" {
				e.dup = "model"
			}
			if v[0] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
				e.Model = string(v[1 : len(v)-1]) // no escapes: the bytes are the value
			} else {
				var m string
				if err := json.Unmarshal(v, &m); err != nil {
					return e, unmarshalError(body)
				}
				e.Model = m
			}
		case keyStream:
			if streams++; streams == 2 && e.dup == "" {
				e.dup = "stream"
			}
			switch string(v) {
			case "true", "false":
				e.Stream = v[0] == 't'
			case "null":
			default:
				return e, unmarshalError(body)
			}
		case keyStreamOptions:
			if opts++; opts == 2 && e.dup == "" {
				e.dup = "stream_options"
			}
			e.optSpans = append(e.optSpans, [2]int{i, vend})
			var so *openai.StreamOptions
			if err := json.Unmarshal(v, &so); err != nil {
				return e, unmarshalError(body)
			}
			e.StreamOptions = so
		case keyFolded:
			if e.folded == "" {
				e.folded = string(key)
			}
		}
		i = skipSpace(body, vend)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return e, nil
}

// What a top-level key is to readEnvelope.
const (
	keyOther = iota
	keyModel
	keyStream
	keyStreamOptions
	keyFolded // an envelope key in another case
)

// envelopeKey classifies the unescaped key k.
func envelopeKey(k []byte) int {
	switch string(k) {
	case "model":
		return keyModel
	case "stream":
		return keyStream
	case "stream_options":
		return keyStreamOptions
	}
	// Unicode folds a few letters outside ASCII onto ASCII ones ("ſ" onto
	// "s", the Kelvin sign onto "k"), each 3 bytes at most: longer keys
	// cannot fold onto an envelope key.
	if len(k) < len("model") || len(k) > 3*len("stream_options") {
		return keyOther
	}
	for _, name := range [...]string{"model", "stream", "stream_options"} {
		if bytes.EqualFold(k, []byte(name)) {
			return keyFolded
		}
	}
	return keyOther
}

// unmarshalError is encoding/json's error for body as an Envelope.
func unmarshalError(body []byte) error {
	var env openai.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	// Valid for encoding/json but not for readEnvelope: cannot happen, as
	// both follow RFC 8259; say so rather than route a body half read.
	return &json.SyntaxError{}
}

package gateway

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/warmgate/warmgate/openai"
)

// readEnvelope reads what routing needs from body, a JSON object: the
// top-level "model", "stream" and "stream_options", and whether "model"
// appears more than once. It checks that body is valid JSON in one pass
// that allocates nothing (json.Valid), then reads the top level only: the
// values of other members (messages, tools: nearly all of a long
// conversation) are skipped by their brackets and quotes, never decoded.
//
// Keys match exactly, as the upstream reads them (encoding/json would also
// take "Model" for "model"). Any error (invalid JSON, a body that is not an
// object, a field of the wrong type) is the one json.Unmarshal gives, so
// that messages stay those of encoding/json.
//
// When the body was scanned (no escaped keys), optSpans are the byte ranges
// of the top-level "stream_options" values, for withStreamUsageAt; scanned
// is false, and optSpans nil, when encoding/json had to decide.
func readEnvelope(body []byte) (env openai.Envelope, dupModel bool, optSpans [][2]int, scanned bool, err error) {
	if !json.Valid(body) {
		return env, false, nil, false, unmarshalError(body)
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		env, dupModel, err = fullEnvelope(body) // an error, or null (an empty envelope)
		return env, dupModel, nil, false, err
	}
	models := 0
	i = skipSpace(body, i+1)
	for i < len(body) && body[i] == '"' {
		end := stringEnd(body, i) // valid JSON: the string ends
		key := body[i+1 : end-1]
		i = skipSpace(body, end)
		i = skipSpace(body, i+1) // past ':'
		vend := skipValue(body, i)
		v := body[i:vend]
		switch {
		case bytes.IndexByte(key, '\\') >= 0:
			// An escaped key could spell "model": let encoding/json decide.
			env, dupModel, err = fullEnvelope(body)
			return env, dupModel, nil, false, err
		case string(key) == "model":
			models++
			if v[0] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
				env.Model = string(v[1 : len(v)-1]) // no escapes: the bytes are the value
			} else if err := json.Unmarshal(v, &env.Model); err != nil {
				return env, false, nil, false, unmarshalError(body)
			}
		case string(key) == "stream":
			switch string(v) {
			case "true", "false":
				env.Stream = v[0] == 't'
			case "null":
			default:
				return env, false, nil, false, unmarshalError(body)
			}
		case string(key) == "stream_options":
			optSpans = append(optSpans, [2]int{i, vend})
			env.StreamOptions = nil
			if err := json.Unmarshal(v, &env.StreamOptions); err != nil {
				return env, false, nil, false, unmarshalError(body)
			}
		}
		i = skipSpace(body, vend)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return env, models > 1, optSpans, true, nil
}

// fullEnvelope decodes body with encoding/json: the rare body whose keys
// have escapes.
func fullEnvelope(body []byte) (env openai.Envelope, dupModel bool, err error) {
	if err := json.Unmarshal(body, &env); err != nil {
		return env, false, err
	}
	return env, duplicateModel(body), nil
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

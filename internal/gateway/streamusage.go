// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

// A stream's token usage comes in a last chunk only when the request asks
// for it (stream_options.include_usage). The gateway needs it for tpm
// limits, budgets and the usage ledger, so when a client streams Chat
// Completions or Completions without asking, the gateway asks in its place
// and drops that chunk from what the client receives: the client sees the
// stream it asked for, except that the other chunks carry "usage": null, as
// they do for every client that asks (the SDKs read it as absent).

import (
	"bytes"
	"encoding/json"

	"github.com/warmgate/warmgate/openai"
)

// includeUsage is the value the gateway sets for stream_options when the
// request has none.
var includeUsage = []byte(`"stream_options":{"include_usage":true}`)

// wantsUsageOption reports whether the gateway should ask for the usage
// chunk of this request, to a route that sends it only on request
// (endpoint.askUsage): a stream, where the client did not ask.
func wantsUsageOption(env *openai.Envelope) bool {
	return env.Stream && (env.StreamOptions == nil || !env.StreamOptions.IncludeUsage)
}

// withStreamUsage returns body with stream_options.include_usage set to
// true, touching nothing else: "stream_options" is added first in the
// object when absent; when present (an object without include_usage, or
// null), its value alone is rewritten. ok is false, and body is returned as
// is, when stream_options is neither an object nor null: the upstream will
// refuse it as it would have anyway.
func withStreamUsage(body []byte) ([]byte, bool) {
	spans, err := valueSpans(body, "stream_options")
	if err != nil {
		return body, false
	}
	return withStreamUsageAt(body, spans)
}

// withStreamUsageAt is withStreamUsage for a body whose "stream_options"
// values are known to be at spans (readEnvelope found them): no second
// pass over the body.
func withStreamUsageAt(body []byte, spans [][2]int) ([]byte, bool) {
	if len(spans) == 0 {
		i := bytes.IndexByte(body, '{') + 1 // the envelope decoded: body is an object
		rest := bytes.TrimLeft(body[i:], " \t\r\n")
		out := make([]byte, 0, len(body)+len(includeUsage)+1)
		out = append(out, body[:i]...)
		out = append(out, includeUsage...)
		if len(rest) > 0 && rest[0] != '}' {
			out = append(out, ',')
		}
		return append(out, body[i:]...), true
	}
	// Rewrite each occurrence (decoders differ on which duplicate counts),
	// from the last so the earlier spans stay valid.
	out := body
	for k := len(spans) - 1; k >= 0; k-- {
		sp := spans[k]
		opts := map[string]json.RawMessage{}
		if v := body[sp[0]:sp[1]]; !bytes.Equal(v, []byte("null")) {
			if v[0] != '{' || json.Unmarshal(v, &opts) != nil {
				return body, false
			}
		}
		opts["include_usage"] = json.RawMessage("true")
		v, err := json.Marshal(opts)
		if err != nil {
			return body, false
		}
		next := make([]byte, 0, len(out)+len(v))
		next = append(next, out[:sp[0]]...)
		next = append(next, v...)
		out = append(next, out[sp[1]:]...)
	}
	return out, true
}

var choicesKey = []byte(`"choices"`)

// emptyChoices reports whether the chunk data has a top-level-looking
// "choices": [] (the usage chunk's mark; a content chunk always has at
// least one choice). It is a byte scan: the chunk is then parsed for its
// usage only when this is true.
func emptyChoices(data []byte) bool {
	for rest := data; ; {
		i := bytes.Index(rest, choicesKey)
		if i < 0 {
			return false
		}
		after := bytes.TrimLeft(rest[i+len(choicesKey):], " \t\r\n")
		rest = rest[i+len(choicesKey):]
		if len(after) == 0 || after[0] != ':' {
			continue
		}
		after = bytes.TrimLeft(after[1:], " \t\r\n")
		if len(after) > 0 && after[0] == '[' {
			after = bytes.TrimLeft(after[1:], " \t\r\n")
			if len(after) > 0 && after[0] == ']' {
				return true
			}
		}
	}
}

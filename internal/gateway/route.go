// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/warmgate/warmgate/upstream"
)

// chain is the list of models to try for a requested one: the requested
// model (through its alias, if any), then its fallbacks in order, used only
// when every upstream of the ones before failed. Models the key may not use
// are left out of the fallbacks. The list is appended to dst.
func (g *Gateway) chain(dst []string, requested string, allowed func(string) bool) []string {
	first := requested
	if a, ok := g.cfg.Aliases[requested]; ok {
		first = a
	}
	out := append(dst, first)
	seen := map[string]bool{first: true}
	for _, fb := range g.cfg.Fallbacks[requested] {
		if !seen[fb] && allowed(fb) {
			seen[fb] = true
			out = append(out, fb)
		}
	}
	if first != requested {
		for _, fb := range g.cfg.Fallbacks[first] {
			if !seen[fb] && allowed(fb) {
				seen[fb] = true
				out = append(out, fb)
			}
		}
	}
	return out
}

// failedAll reports whether an outcome of Pool.Do means that every upstream
// of the model failed, so that a fallback model may be tried: an upstream
// error (not the caller's cancel) or a final 5xx or 429.
func failedAll(resp *http.Response, err error) bool {
	if err != nil {
		var ue *upstream.Error
		return !errors.As(err, &ue) || ue.Kind != upstream.KindCanceled
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
}

// withModel returns body with its top-level "model" value (the last one,
// as JSON decoders read it) replaced by model, touching nothing else: the
// bytes before and after the value are kept as they are. body must be a
// JSON object with a string "model" (the envelope decode checked that).
func withModel(body []byte, model string) ([]byte, error) {
	spans, err := modelSpans(body)
	if err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, errors.New(`body has no "model"`)
	}
	sp := spans[len(spans)-1]
	q := strconv.AppendQuote(nil, model) // model names are plain ASCII; Quote is valid JSON for them
	out := make([]byte, 0, len(body)-(sp[1]-sp[0])+len(q))
	out = append(out, body[:sp[0]]...)
	out = append(out, q...)
	return append(out, body[sp[1]:]...), nil
}

// modelSpans returns the byte ranges of every top-level "model" string
// value in body, in order.
func modelSpans(body []byte) ([][2]int, error) {
	spans, err := valueSpans(body, "model")
	for _, sp := range spans {
		if body[sp[0]] != '"' {
			return nil, errors.New(`"model" is not a string`)
		}
	}
	return spans, err
}

// valueSpans returns the byte ranges of the values of every top-level key
// named key in the JSON object body, in order.
func valueSpans(body []byte, key string) ([][2]int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("body is not a JSON object")
	}
	var spans [][2]int
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if k, _ := t.(string); k == key {
			end := int(dec.InputOffset())
			spans = append(spans, [2]int{end - len(v), end})
		}
	}
	return spans, nil
}

// duplicateModel reports whether body names "model" more than once at the
// top level. Decoders disagree on which one counts (Go takes the last, some
// the first), so a client could pass one model through the key check and
// have the upstream use the other.
func duplicateModel(body []byte) bool {
	if bytes.Count(body, []byte(`"model"`)) < 2 { // the common case costs one scan
		return false
	}
	spans, err := modelSpans(body)
	return err == nil && len(spans) > 1
}

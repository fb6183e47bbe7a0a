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
// are left out of the fallbacks.
func (g *Gateway) chain(requested string, allowed func(string) bool) []string {
	first := requested
	if a, ok := g.cfg.Aliases[requested]; ok {
		first = a
	}
	out := []string{first}
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
// as JSON decoders read it) replaced by model, touching nothing else: the bytes before and after the value are
// kept as they are. body must be a JSON object with a string "model" (the
// envelope decode checked that).
func withModel(body []byte, model string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("body is not a JSON object")
	}
	start, end := -1, -1 // of the last top-level "model" value: decoders keep the last
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := t.(string); key == "model" {
			afterKey := dec.InputOffset()
			var v string
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			end = int(dec.InputOffset())
			start = bytes.IndexByte(body[afterKey:end], '"')
			if start < 0 {
				return nil, errors.New(`"model" is not a string`)
			}
			start += int(afterKey)
			continue
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	if start >= 0 {
		q := strconv.AppendQuote(nil, model) // model names are plain ASCII; Quote is valid JSON for them
		out := make([]byte, 0, len(body)-(end-start)+len(q))
		out = append(out, body[:start]...)
		out = append(out, q...)
		return append(out, body[end:]...), nil
	}
	return nil, errors.New(`body has no "model"`)
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/openai"
)

var envelopeSeeds = []string{
	`{"model":"gpt-4.1","stream":true}`,
	`{"messages":[{"role":"user","content":"{\"model\":\"x\"}"}],"model":"m","stream_options":{"include_usage":true}}`,
	`{"model":"a","model":"b"}`,
	`{"model":null,"stream":null,"stream_options":null}`,
	` { "model" : "m\u00e9" , "n" : 1.5e3, "t": [true, false, null, {"a": []}] } `,
	`{"model":1}`,
	`{"stream":"yes","model":"m"}`,
	`{"stream_options":[],"model":"m"}`,
	`{"mod\u0065l":"m"}`,
	`[1,2]`,
	`null`,
	`"model"`,
	`{"model":"m",}`,
	`{"model":"m"`,
	`{}`,
	``,
}

// refEnvelope is what encoding/json reads, the reference readEnvelope must
// agree with.
func refEnvelope(b []byte) (openai.Envelope, bool, error) {
	var env openai.Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return env, false, err
	}
	return env, duplicateModel(b), nil
}

func checkEnvelope(t *testing.T, b []byte) {
	e, gotErr := readEnvelope(b)
	got, gotDup, spans := e.Envelope, e.models > 1, e.optSpans
	if gotErr == nil {
		want, err := valueSpans(b, "stream_options")
		if err == nil && !reflect.DeepEqual(spans, want) && (len(spans) > 0 || len(want) > 0) {
			t.Errorf("readEnvelope(%q) stream_options at %v; valueSpans: %v", b, spans, want)
		}
	}
	want, wantDup, wantErr := refEnvelope(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("readEnvelope(%q) error %v; encoding/json: %v", b, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Errorf("readEnvelope(%q) error %q; encoding/json: %q", b, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) || gotDup != wantDup {
		t.Errorf("readEnvelope(%q) = %+v dup %v; encoding/json: %+v dup %v", b, got, gotDup, want, wantDup)
	}
}

func TestReadEnvelope(t *testing.T) {
	for _, s := range envelopeSeeds {
		t.Run(s, func(t *testing.T) { checkEnvelope(t, []byte(s)) })
	}
}

// FuzzReadEnvelope: readEnvelope agrees with encoding/json (values, errors
// and duplicate "model") on every input whose keys are lower case:
// encoding/json also matches keys case-insensitively, which the gateway
// deliberately does not.
func FuzzReadEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.ContainsAny(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\u017f\u212a") || strings.Contains(string(b), `\u`) {
			_, _ = readEnvelope(b) // must not panic
			return
		}
		checkEnvelope(t, b)
	})
}

func BenchmarkReadEnvelope(b *testing.B) {
	long := `{"model":"gpt-4.1-mini","stream":true,"messages":[` + strings.Repeat(`{"role":"user","content":"Tell me about keep-alive, \"timeouts\" and pools."},`, 1000) +
		`{"role":"user","content":"ok"}]}`
	for _, c := range []struct{ name, body string }{{"small", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"stream":false}`}, {"80KB", long}} {
		body := []byte(c.body)
		b.Run(c.name+"/scan", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readEnvelope(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/encoding_json", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := refEnvelope(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// exactEnvelope is how a server that reads keys exactly (Python's json,
// serde, llama.cpp) reads body: json.Decoder tokens, whose keys are the
// unescaped text, compared as they are. ok is false when such a server
// would not read body at all; models counts the "model" keys, folded
// reports a key that equals an envelope key but for case.
func exactEnvelope(b []byte) (env openai.Envelope, models int, folded, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return env, 0, false, false
	}
	if tok == nil { // null: no envelope
		_, err := dec.Token()
		return env, 0, false, err == io.EOF
	}
	if tok != json.Delim('{') {
		return env, 0, false, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return env, 0, false, false
		}
		k := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return env, 0, false, false
		}
		switch {
		case k == "model":
			models++
			s, isString := v.(string)
			if !isString && v != nil {
				return env, 0, false, false // a server would refuse a model that is not a string
			}
			env.Model = s
		case k == "stream":
			s, isBool := v.(bool)
			if !isBool && v != nil {
				return env, 0, false, false
			}
			env.Stream = s
		case k == "stream_options":
		case strings.EqualFold(k, "model"), strings.EqualFold(k, "stream"), strings.EqualFold(k, "stream_options"):
			folded = true
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return env, 0, false, false
	}
	_, err = dec.Token()
	return env, models, folded, err == io.EOF
}

var modelSeeds = []string{
	`{"model":"gpt-4.1","Model":"gpt-4.1-mini","\u0078":1}`,
	`{"Model":"gpt-4.1-mini","model":"gpt-4.1"}`,
	`{"model":"gpt-4.1-mini","mod\u0065l":"gpt-4.1"}`,
	`{"mod\u0065l":"gpt-4.1","model":"gpt-4.1-mini"}`,
	`{"\u004dodel":"gpt-4.1","model":"gpt-4.1-mini"}`,
	`{"MODEL":"gpt-4.1"}`,
	`{"model":"gpt-4.1-mini","stream":false,"Stream":true}`,
	`{"model":"gpt-4.1-mini","ſtream":true}`,
	`{"model":"gpt-4.1-mini","stream_options":{"include_usage":true},"stream_options":null}`,
	`{"model":"gpt-4.1-mini","metadata":{"model":"gpt-4.1","Model":"x"}}`,
	`{"model":"gpt-4.1\u002dmini","messages":[]}`,
	`{"model":"gpt\ud800"}`,
}

// FuzzEnvelopeModel: whatever the body, the model (and stream) the
// gateway reads from it is the one a server reading keys exactly reads, and
// the one encoding/json (case-insensitive, last duplicate wins) reads; or
// the gateway refuses the body.
func FuzzEnvelopeModel(f *testing.F) {
	for _, s := range append(append([]string{}, envelopeSeeds...), modelSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, aerr := jsonEnvelope(b)
		if aerr != nil {
			return // refused: no upstream gets it
		}
		env, models, folded, ok := exactEnvelope(b)
		switch {
		case !ok:
			t.Fatalf("accepted %q, which a server reading keys exactly cannot read", b)
		case models > 1 || folded:
			t.Fatalf("accepted %q: %d \"model\" keys, a key in another case: %v", b, models, folded)
		case env.Model != e.Model || env.Stream != e.Stream:
			t.Fatalf("accepted %q as model %q stream %v; read exactly, it is model %q stream %v", b, e.Model, e.Stream, env.Model, env.Stream)
		}
		var std openai.Envelope
		if err := json.Unmarshal(b, &std); err != nil || std.Model != e.Model || std.Stream != e.Stream {
			t.Fatalf("accepted %q as model %q stream %v; encoding/json reads model %q stream %v (%v)", b, e.Model, e.Stream, std.Model, std.Stream, err)
		}
	})
}

// TestJSONEnvelopeRefusesAmbiguousBodies: the bodies servers would read
// two ways are refused, each with its code; the others are read as
// exact-key servers read them.
func TestJSONEnvelopeRefusesAmbiguousBodies(t *testing.T) {
	tests := []struct {
		name, in, code, model string
	}{
		{"case variant after", `{"model":"gpt-4.1","Model":"gpt-4.1-mini","\u0078":1}`, "ambiguous_key", ""},
		{"case variant before", `{"Model":"gpt-4.1-mini","model":"gpt-4.1"}`, "ambiguous_key", ""},
		{"case variant alone", `{"MODEL":"gpt-4.1"}`, "ambiguous_key", ""},
		{"escaped case variant", `{"\u004dodel":"gpt-4.1","model":"gpt-4.1-mini"}`, "ambiguous_key", ""},
		{"escaped duplicate after", `{"model":"gpt-4.1-mini","mod\u0065l":"gpt-4.1"}`, "duplicate_model", ""},
		{"escaped duplicate before", `{"mod\u0065l":"gpt-4.1","model":"gpt-4.1-mini"}`, "duplicate_model", ""},
		{"plain duplicate", `{"model":"a","model":"b"}`, "duplicate_model", ""},
		{"stream in another case", `{"model":"m","stream":false,"Stream":true}`, "ambiguous_key", ""},
		{"stream with a long s", `{"model":"m","ſtream":true}`, "ambiguous_key", ""},
		{"duplicate stream", `{"model":"m","stream":false,"stream":true}`, "duplicate_key", ""},
		{"duplicate stream_options", `{"model":"m","stream_options":{},"stream_options":null}`, "duplicate_key", ""},
		{"escaped key alone", `{"mod\u0065l":"gpt-4.1"}`, "", "gpt-4.1"},
		{"escaped value", `{"model":"gpt-4.1\u002dmini"}`, "", "gpt-4.1-mini"},
		{"nested model does not count", `{"model":"gpt-4.1-mini","metadata":{"model":"gpt-4.1","Model":"x"}}`, "", "gpt-4.1-mini"},
		{"other keys in any case", `{"model":"m","Messages":[],"MODELS":1,"model_x":2}`, "", "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, aerr := jsonEnvelope([]byte(tt.in))
			switch {
			case tt.code == "" && aerr != nil:
				t.Fatalf("refused: %v", aerr)
			case tt.code != "" && (aerr == nil || aerr.code != tt.code || aerr.status != 400):
				t.Fatalf("got %+v, want 400 %s", aerr, tt.code)
			case tt.code == "" && e.Model != tt.model:
				t.Errorf("model %q, want %q", e.Model, tt.model)
			}
		})
	}
}

package gateway

import (
	"bytes"
	"encoding/json"
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
	got, gotDup, spans, scanned, gotErr := readEnvelope(b)
	if gotErr == nil && scanned {
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
			_, _, _, _, _ = readEnvelope(b) // must not panic
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
				if _, _, _, _, err := readEnvelope(body); err != nil {
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

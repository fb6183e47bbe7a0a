// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// multipartBody is a multipart/form-data body with the given fields (name,
// value pairs) and a small "file" part, as the SDKs send audio
// transcriptions; it returns the body and its Content-Type.
func multipartBody(t *testing.T, fields ...string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "speech.mp3")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte("ID3 not really an mp3"))
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), mw.FormDataContentType()
}

// multipartRaw is a multipart body with one part of the given
// Content-Disposition and value.
func multipartRaw(disposition, value string) (string, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disposition}})
	_, _ = pw.Write([]byte(value))
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}

// TestModelCheckCannotBeBypassed: whatever the shape of the body, a key
// limited to some models reaches an upstream only with a model it may use,
// read as every upstream reads it; a body that servers could read two ways
// is refused, and nothing is forwarded. Bodies without the model check's
// reach (a nested "model", a form without a model) pass.
func TestModelCheckCannotBeBypassed(t *testing.T) {
	m := startMock(t, mock.Options{})
	env := map[string]string{"KEY_MINI": "sk-mini-0123456789", "KEY_PLAIN": "sk-plain-0123456789"}
	g := startGateway(t, defaultYAML(t, m)+`keys:
  - {name: mini, key_env: KEY_MINI, models: ["gpt-4.1-mini"], paths: ["/v1/audio/*", "/v1/files", "/v1/realtime"]}
  - {name: plain, key_env: KEY_PLAIN}
`, env)
	mini, plain := "Bearer "+env["KEY_MINI"], "Bearer "+env["KEY_PLAIN"]
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	mp := func(fields ...string) [2]string { b, ct := multipartBody(t, fields...); return [2]string{ct, b} }
	raw := func(disp, v string) [2]string { b, ct := multipartRaw(disp, v); return [2]string{ct, b} }
	jsonCT := func(body string) [2]string { return [2]string{"application/json", body} }
	noCT := func(body string) [2]string { return [2]string{"", body} }
	tests := []struct {
		name   string
		key    string
		path   string
		body   [2]string // Content-Type, body
		hdr    []string
		status int    // the gateway's own answer; 0: forwarded
		code   string // its error code
	}{
		{"case variant of model", mini, "/v1/chat/completions", jsonCT(`{"model":"gpt-4.1","Model":"gpt-4.1-mini","\u0078":1,` + msgs + `}`), nil, 400, "ambiguous_key"},
		{"case variant first", mini, "/v1/chat/completions", jsonCT(`{"Model":"gpt-4.1-mini","model":"gpt-4.1",` + msgs + `}`), nil, 400, "ambiguous_key"},
		{"escaped case variant", mini, "/v1/chat/completions", jsonCT(`{"\u004dodel":"gpt-4.1","model":"gpt-4.1-mini",` + msgs + `}`), nil, 400, "ambiguous_key"},
		{"escaped duplicate, first", mini, "/v1/chat/completions", jsonCT(`{"mod\u0065l":"gpt-4.1","model":"gpt-4.1-mini",` + msgs + `}`), nil, 400, "duplicate_model"},
		{"escaped duplicate, last", mini, "/v1/chat/completions", jsonCT(`{"model":"gpt-4.1-mini","mod\u0065l":"gpt-4.1",` + msgs + `}`), nil, 400, "duplicate_model"},
		{"stream in another case", plain, "/v1/chat/completions", jsonCT(`{"model":"gpt-4.1-mini","stream":false,"Stream":true,` + msgs + `}`), nil, 400, "ambiguous_key"},
		{"escaped key, allowed model", mini, "/v1/chat/completions", jsonCT(`{"mod\u0065l":"gpt-4.1-mini",` + msgs + `}`), nil, 0, ""},
		{"nested model does not count", mini, "/v1/chat/completions", jsonCT(`{"model":"gpt-4.1-mini","metadata":{"model":"gpt-4.1","Model":"x"},` + msgs + `}`), nil, 0, ""},
		{"no Content-Type", mini, "/v1/chat/completions", noCT(`{"model":"gpt-4.1",` + msgs + `}`), nil, 403, "model_not_allowed"},
		{"trailing slash, no Content-Type", mini, "/v1/chat/completions/", noCT(`{"model":"gpt-4.1",` + msgs + `}`), nil, 403, "model_not_allowed"},
		{"trailing slash, no model", mini, "/v1/chat/completions/", noCT(`{` + msgs + `}`), nil, 400, "missing_model"},
		{"path in another case", mini, "/v1/Chat/Completions", noCT(`{"model":"gpt-4.1",` + msgs + `}`), nil, 403, "model_not_allowed"},
		{"passthrough, no Content-Type", mini, "/v1/audio/speech", noCT(`{"model":"gpt-4.1","input":"hi"}`), nil, 403, "model_not_allowed"},
		{"passthrough, +json", mini, "/v1/audio/speech", [2]string{"application/vnd.api+json", `{"model":"gpt-4.1","input":"hi"}`}, nil, 403, "model_not_allowed"},
		{"passthrough, text/plain JSON", mini, "/v1/audio/speech", [2]string{"text/plain", `{"model":"gpt-4.1","input":"hi"}`}, nil, 403, "model_not_allowed"},
		{"passthrough, case variant", mini, "/v1/audio/speech", noCT(`{"model":"gpt-4.1-mini","MODEL":"gpt-4.1"}`), nil, 400, "ambiguous_key"},
		{"multipart with a model not allowed", mini, "/v1/audio/transcriptions", mp("model", "gpt-4.1"), nil, 403, "model_not_allowed"},
		{"multipart with an allowed model", mini, "/v1/audio/transcriptions", mp("model", "gpt-4.1-mini", "language", "en"), nil, 0, ""},
		{"multipart with two models", mini, "/v1/audio/transcriptions", mp("model", "gpt-4.1-mini", "model", "gpt-4.1"), nil, 400, "duplicate_model"},
		{"multipart with Model", mini, "/v1/audio/transcriptions", mp("model", "gpt-4.1-mini", "Model", "gpt-4.1"), nil, 400, "ambiguous_key"},
		{"multipart with name*", mini, "/v1/audio/transcriptions", raw(`form-data; name*=utf-8''model`, "gpt-4.1"), nil, 400, "invalid_form"},
		{"multipart without a model", mini, "/v1/files", mp("purpose", "batch"), nil, 0, ""},
		{"multipart type, JSON body", mini, "/v1/audio/transcriptions", [2]string{"multipart/form-data; boundary=x", `{"model":"gpt-4.1"}`}, nil, 403, "model_not_allowed"},
		{"multipart type, no boundary found", mini, "/v1/audio/transcriptions", [2]string{"multipart/form-data; boundary=x", `model=gpt-4.1`}, nil, 400, "invalid_form"},
		{"urlencoded", mini, "/v1/audio/speech", [2]string{"application/x-www-form-urlencoded", "input=hi&model=gpt-4.1"}, nil, 403, "model_not_allowed"},
		{"urlencoded, escaped key", mini, "/v1/audio/speech", [2]string{"application/x-www-form-urlencoded", "input=hi&mod%65l=gpt-4.1"}, nil, 403, "model_not_allowed"},
		{"urlencoded, two models", mini, "/v1/audio/speech", [2]string{"application/x-www-form-urlencoded", "model=gpt-4.1-mini&model=gpt-4.1"}, nil, 400, "duplicate_model"},
		{"a body with no model, on a path the key allows", mini, "/v1/audio/speech", [2]string{"application/octet-stream", "\x00\x01binary"}, nil, 0, ""},
		{"a body with no model, unlimited key", plain, "/v1/audio/speech", [2]string{"application/octet-stream", "\x00\x01binary"}, nil, 0, ""},
		{"encoded body, passthrough", mini, "/v1/audio/speech", jsonCT(`{"model":"gpt-4.1-mini"}`), []string{"Content-Encoding", "gzip"}, 415, "unsupported_content_encoding"},
		{"encoded body, unlimited key", plain, "/v1/audio/speech", jsonCT(`{"model":"gpt-4.1-mini"}`), []string{"Content-Encoding", "gzip"}, 0, ""},
		{"charset other than UTF-8", mini, "/v1/chat/completions", [2]string{"application/json; charset=utf-7", `{"model":"gpt-4.1-mini","+AG0-odel":"gpt-4.1"}`}, nil, 415, "unsupported_charset"},
		{"charset UTF-8", mini, "/v1/chat/completions", [2]string{"application/json; charset=UTF-8", `{"model":"gpt-4.1-mini",` + msgs + `}`}, nil, 0, ""},
		{"encoded body", mini, "/v1/chat/completions", jsonCT(`{"model":"gpt-4.1-mini",` + msgs + `}`), []string{"Content-Encoding", "gzip"}, 415, "unsupported_content_encoding"},
		{"model in the query", mini, "/v1/realtime?model=gpt-4.1", noCT(""), nil, 403, "model_not_allowed"},
		{"model in the query, escaped", mini, "/v1/realtime?%4Dodel=gpt-4.1", noCT(""), nil, 403, "model_not_allowed"},
		{"two Content-Types", mini, "/v1/audio/speech", jsonCT(`{"model":"gpt-4.1-mini"}`), []string{"Content-Type", "multipart/form-data; boundary=x"}, 400, "invalid_content_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := m.Stats().Requests
			a := sendRaw(t, g, http.MethodPost, tt.path, tt.body[0], tt.body[1], append([]string{"Authorization", tt.key}, tt.hdr...)...)
			forwarded := m.Stats().Requests - before
			if tt.status == 0 {
				if forwarded != 1 {
					t.Errorf("not forwarded: %d %s", a.status, a.body)
				}
				return
			}
			checkError(t, a, tt.status, tt.code)
			if forwarded != 0 {
				t.Errorf("the mock saw %d requests; a refused request must not be forwarded", forwarded)
			}
		})
	}
}

// sendRaw sends body with Content-Type ct (none when ""), and the header
// pairs hdr (added, not set: a name may come twice), and reads the answer.
func sendRaw(t *testing.T, g *gw, method, path, ct, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

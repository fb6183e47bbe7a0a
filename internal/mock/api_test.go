// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// chatAnswer mirrors the parts of chat.completion the tests check.
type chatAnswer struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Delta *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func unmarshal[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

func TestChatCompletionShape(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	for _, tc := range []struct {
		name     string
		auth     bool
		wantAuth string
	}{
		{"with key", true, "true"},
		{"without key", false, "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth {
				hdr = []string{"Authorization", "Bearer sk-secret"}
			}
			resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody, hdr...)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if got := resp.Header.Get("X-Mock-Has-Authorization"); got != tc.wantAuth {
				t.Errorf("X-Mock-Has-Authorization = %q, want %q", got, tc.wantAuth)
			}
			if strings.Contains(string(b), "sk-secret") || strings.Contains(resp.Header.Get("X-Mock-Has-Authorization"), "sk-") {
				t.Error("the answer echoes the key")
			}
			if !strings.HasPrefix(resp.Header.Get("X-Request-Id"), "req_") {
				t.Errorf("X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
			}
			a := unmarshal[chatAnswer](t, b)
			if !strings.HasPrefix(a.ID, "chatcmpl-") || a.Object != "chat.completion" || a.Model != "gpt-4.1" {
				t.Errorf("id %q object %q model %q", a.ID, a.Object, a.Model)
			}
			if d := time.Since(time.Unix(a.Created, 0)); d < -time.Minute || d > time.Minute {
				t.Errorf("created = %d, not now", a.Created)
			}
			if len(a.Choices) != 1 {
				t.Fatalf("%d choices", len(a.Choices))
			}
			ch := a.Choices[0]
			if ch.Message.Role != "assistant" || ch.Message.Content != content(defaultTokens) || *ch.FinishReason != "stop" {
				t.Errorf("choice = %+v", ch)
			}
			messages := `[{"role":"user","content":"Say hello to the mock upstream."}]`
			u := a.Usage
			if u == nil || u.PromptTokens != len(messages)/4 || u.CompletionTokens != defaultTokens || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage = %+v, want prompt %d, completion %d", u, len(messages)/4, defaultTokens)
			}
		})
	}
}

func TestChatTokens(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Tokens: 5})
	for _, tc := range []struct {
		name, extra string
		wantN       int
		wantFinish  string
	}{
		{"option", ``, 5, "stop"},
		{"max_tokens caps", `"max_tokens":3,`, 3, "length"},
		{"max_completion_tokens caps", `"max_completion_tokens":2,"max_tokens":4,`, 2, "length"},
		{"larger limit", `"max_tokens":100,`, 5, "stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{` + tc.extra + `"model":"m","messages":[{"role":"user","content":"x"}]}`
			_, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", body)
			a := unmarshal[chatAnswer](t, b)
			if got := a.Choices[0].Message.Content; got != content(tc.wantN) {
				t.Errorf("content = %q, want %q", got, content(tc.wantN))
			}
			if *a.Choices[0].FinishReason != tc.wantFinish || a.Usage.CompletionTokens != tc.wantN {
				t.Errorf("finish %q, completion tokens %d", *a.Choices[0].FinishReason, a.Usage.CompletionTokens)
			}
		})
	}
	if content(3) != "word1 word2 word3" {
		t.Errorf("content(3) = %q", content(3))
	}
}

func TestChatStream(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Tokens: 4})
	_, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody)
	want := unmarshal[chatAnswer](t, b).Choices[0].Message.Content

	for _, includeUsage := range []bool{false, true} {
		name := map[bool]string{false: "no usage", true: "include_usage"}[includeUsage]
		t.Run(name, func(t *testing.T) {
			resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", streamBody(includeUsage))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type = %q", ct)
			}
			evs, err := readEvents(resp.Body, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			// role, 4 tokens, finish, [usage], [DONE]
			wantEvents := 7
			if includeUsage {
				wantEvents++
			}
			if len(evs) != wantEvents {
				t.Fatalf("%d events, want %d: %v", len(evs), wantEvents, evs)
			}
			if evs[len(evs)-1].data != "[DONE]" {
				t.Errorf("last event %q, want [DONE]", evs[len(evs)-1].data)
			}
			var got strings.Builder
			var id string
			for i, ev := range evs[:len(evs)-1] {
				c := unmarshal[chatAnswer](t, []byte(ev.data))
				if c.Object != "chat.completion.chunk" || c.Model != "gpt-4.1" {
					t.Errorf("event %d: object %q model %q", i, c.Object, c.Model)
				}
				if i == 0 {
					id = c.ID
				} else if c.ID != id {
					t.Errorf("event %d: id %q, want %q", i, c.ID, id)
				}
				hasUsageKey := strings.Contains(ev.data, `"usage":`)
				if hasUsageKey != includeUsage {
					t.Errorf("event %d: usage key present = %v, want %v", i, hasUsageKey, includeUsage)
				}
				switch {
				case i == 0:
					d := c.Choices[0].Delta
					if d == nil || d.Role == nil || *d.Role != "assistant" || d.Content == nil || *d.Content != "" || c.Choices[0].FinishReason != nil {
						t.Errorf("first chunk %s, want role assistant and empty content", ev.data)
					}
				case i <= 4:
					got.WriteString(*c.Choices[0].Delta.Content)
					if c.Choices[0].FinishReason != nil {
						t.Errorf("token chunk %d has a finish_reason", i)
					}
				case i == 5:
					if fr := c.Choices[0].FinishReason; fr == nil || *fr != "stop" || !strings.Contains(ev.data, `"delta":{}`) {
						t.Errorf("finish chunk %s", ev.data)
					}
				case i == 6:
					if len(c.Choices) != 0 || !strings.Contains(ev.data, `"choices":[]`) || c.Usage == nil || c.Usage.CompletionTokens != 4 || c.Usage.TotalTokens != c.Usage.PromptTokens+4 {
						t.Errorf("usage chunk %s", ev.data)
					}
				}
			}
			if got.String() != want {
				t.Errorf("streamed content %q, want the non-streamed %q", got.String(), want)
			}
		})
	}
}

func TestStreamTiming(t *testing.T) {
	t.Parallel()
	const ttft, interval = 150 * time.Millisecond, 40 * time.Millisecond
	s := start(t, Options{Tokens: 4, TTFT: ttft, TokenInterval: interval})
	t0 := time.Now()
	resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", streamBody(false))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if d := time.Since(t0); d < ttft {
		t.Errorf("headers after %v, want >= TTFT %v", d, ttft)
	}
	evs, err := readEvents(resp.Body, t0)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].at < ttft {
		t.Errorf("first chunk at %v, want >= %v", evs[0].at, ttft)
	}
	// events: 0 role, 1..4 tokens; tokens 2..4 each wait the interval.
	for i := 2; i <= 4; i++ {
		if evs[i].at < evs[1].at+time.Duration(i-1)*interval-5*time.Millisecond {
			t.Errorf("token %d at %v, token 1 at %v: want >= %v apart", i, evs[i].at, evs[1].at, time.Duration(i-1)*interval)
		}
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	const latency = 120 * time.Millisecond
	s := start(t, Options{Latency: latency, TTFT: time.Minute})
	t0 := time.Now()
	call(t, s.Client(), http.MethodPost, s.URL()+"/v1/chat/completions", chatBody)
	if d := time.Since(t0); d < latency || d > 30*time.Second {
		t.Errorf("answer after %v, want >= Latency %v (and TTFT not applied)", d, latency)
	}
}

func TestCompletions(t *testing.T) {
	t.Parallel()
	s := start(t, Options{Tokens: 3})
	resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/completions", `{"model":"gpt-3.5-turbo-instruct","prompt":"Once upon a time"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	a := unmarshal[chatAnswer](t, b)
	if !strings.HasPrefix(a.ID, "cmpl-") || a.Object != "text_completion" || a.Model != "gpt-3.5-turbo-instruct" {
		t.Errorf("id %q object %q model %q", a.ID, a.Object, a.Model)
	}
	if a.Choices[0].Text != "word1 word2 word3" || *a.Choices[0].FinishReason != "stop" {
		t.Errorf("choice %+v", a.Choices[0])
	}
	if a.Usage == nil || a.Usage.PromptTokens != len(`"Once upon a time"`)/4 || a.Usage.CompletionTokens != 3 {
		t.Errorf("usage %+v", a.Usage)
	}

	resp, err := send(t.Context(), s.Client(), http.MethodPost, s.URL()+"/v1/completions",
		`{"model":"m","prompt":["a","b"],"stream":true,"stream_options":{"include_usage":true}}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs, err := readEvents(resp.Body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 6 || evs[5].data != "[DONE]" { // 3 tokens, finish, usage, [DONE]
		t.Fatalf("events %v", evs)
	}
	var text strings.Builder
	for _, ev := range evs[:3] {
		c := unmarshal[chatAnswer](t, []byte(ev.data))
		if c.Object != "text_completion" || c.Choices[0].FinishReason != nil {
			t.Errorf("token chunk %s", ev.data)
		}
		text.WriteString(c.Choices[0].Text)
	}
	if text.String() != a.Choices[0].Text {
		t.Errorf("streamed %q, want %q", text.String(), a.Choices[0].Text)
	}
	if fin := unmarshal[chatAnswer](t, []byte(evs[3].data)); *fin.Choices[0].FinishReason != "stop" {
		t.Errorf("finish chunk %s", evs[3].data)
	}
	if u := unmarshal[chatAnswer](t, []byte(evs[4].data)); len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 3 {
		t.Errorf("usage chunk %s", evs[4].data)
	}
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	type answer struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Data   []struct {
			Object    string          `json:"object"`
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
		Usage map[string]int `json:"usage"`
	}
	for _, tc := range []struct {
		name, input, extra string
		wantN, wantDims    int
	}{
		{"string", `"hello"`, ``, 1, 8},
		{"strings", `["hello","world","again"]`, ``, 3, 8},
		{"tokens", `[1,2,3]`, ``, 1, 8},
		{"token arrays", `[[1,2],[3]]`, ``, 2, 8},
		{"dimensions", `"hello"`, `,"dimensions":32`, 1, 32},
		{"base64", `["hello","world"]`, `,"encoding_format":"base64"`, 2, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"model":"text-embedding-3-small","input":` + tc.input + tc.extra + `}`
			resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/embeddings", body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			a := unmarshal[answer](t, b)
			if a.Object != "list" || a.Model != "text-embedding-3-small" || len(a.Data) != tc.wantN {
				t.Fatalf("object %q model %q, %d items, want %d", a.Object, a.Model, len(a.Data), tc.wantN)
			}
			if p := a.Usage["prompt_tokens"]; p != max(1, len(tc.input)/4) || a.Usage["total_tokens"] != p {
				t.Errorf("usage %v", a.Usage)
			}
			for i, d := range a.Data {
				if d.Object != "embedding" || d.Index != i {
					t.Errorf("item %d: object %q index %d", i, d.Object, d.Index)
				}
				var v []float32
				if strings.Contains(tc.extra, "base64") {
					bs, err := base64.StdEncoding.DecodeString(unmarshal[string](t, d.Embedding))
					if err != nil {
						t.Fatal(err)
					}
					for j := 0; j+4 <= len(bs); j += 4 {
						v = append(v, math.Float32frombits(binary.LittleEndian.Uint32(bs[j:])))
					}
				} else {
					v = unmarshal[[]float32](t, d.Embedding)
				}
				if len(v) != tc.wantDims {
					t.Fatalf("item %d: %d dimensions, want %d", i, len(v), tc.wantDims)
				}
				var norm float64
				for _, x := range v {
					norm += float64(x) * float64(x)
				}
				if math.Abs(norm-1) > 1e-4 {
					t.Errorf("item %d: squared norm %v, want 1", i, norm)
				}
			}
		})
	}

	// Equal inputs embed equally, different ones differently.
	_, b1 := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/embeddings", `{"model":"m","input":["same","same","other"]}`)
	a := unmarshal[answer](t, b1)
	if string(a.Data[0].Embedding) != string(a.Data[1].Embedding) || string(a.Data[0].Embedding) == string(a.Data[2].Embedding) {
		t.Errorf("embeddings not deterministic: %s", b1)
	}

	for _, bad := range []string{`""`, `[]`, `42`, `[{}]`, `[""]`, `null`, `[[]]`} {
		resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/embeddings", `{"model":"m","input":`+bad+`}`)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"param":"input"`) {
			t.Errorf("input %s: %d %s, want 400 naming input", bad, resp.StatusCode, b)
		}
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	resp, b := call(t, s.Client(), http.MethodGet, s.URL()+"/v1/models", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	list := unmarshal[struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, OwnedBy string
		} `json:"data"`
	}](t, b)
	ids := map[string]bool{}
	for _, m := range list.Data {
		ids[m.ID] = m.Object == "model"
	}
	if list.Object != "list" || !ids["gpt-4.1"] || !ids["gpt-4.1-mini"] || !ids["text-embedding-3-small"] {
		t.Errorf("models %s", b)
	}

	resp, b = call(t, s.Client(), http.MethodGet, s.URL()+"/v1/models/gpt-4.1-mini", "")
	if m := unmarshal[map[string]any](t, b); resp.StatusCode != http.StatusOK || m["id"] != "gpt-4.1-mini" || m["object"] != "model" {
		t.Errorf("model: %d %s", resp.StatusCode, b)
	}
	resp, b = call(t, s.Client(), http.MethodGet, s.URL()+"/v1/models/nope", "")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), `"code":"model_not_found"`) {
		t.Errorf("unknown model: %d %s", resp.StatusCode, b)
	}
}

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	for _, tc := range []struct {
		name, method, path, body string
		wantStatus               int
		wantMsg                  string
	}{
		{"unknown path", "POST", "/v1/nope", `{}`, 404, "Invalid URL (POST /v1/nope)"},
		{"root", "GET", "/", ``, 404, "Invalid URL"},
		{"unknown mock path", "GET", "/mock/nope", ``, 404, "Invalid URL"},
		{"wrong method chat", "GET", "/v1/chat/completions", ``, 405, "Invalid method"},
		{"wrong method models", "POST", "/v1/models", `{}`, 405, "Invalid method"},
		{"invalid json", "POST", "/v1/chat/completions", `{"model":`, 400, "could not parse the JSON body"},
		{"wrong type", "POST", "/v1/chat/completions", `{"model":"m","stream":"yes","messages":[{}]}`, 400, "could not parse"},
		{"missing model", "POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400, "'model'"},
		{"missing messages", "POST", "/v1/chat/completions", `{"model":"m"}`, 400, "'messages'"},
		{"empty messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, "'messages'"},
		{"missing prompt", "POST", "/v1/completions", `{"model":"m"}`, 400, "'prompt'"},
		{"bad encoding", "POST", "/v1/embeddings", `{"model":"m","input":"x","encoding_format":"hex"}`, 400, "encoding_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := call(t, s.Client(), tc.method, s.URL()+tc.path, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			checkErrorShape(t, resp, b, tc.wantMsg)
			if tc.wantStatus == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	s := start(t, Options{})
	body := `{"model":"m","input":"` + strings.Repeat("x", maxBody) + `"}`
	resp, b := call(t, s.Client(), http.MethodPost, s.URL()+"/v1/embeddings", body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	checkErrorShape(t, resp, b, "too large")
	// net/http lingers 500ms before closing such a connection; wait for it
	// so that the leak check does not see the lingering goroutine.
	eventually(t, "the connection to close", func() bool { return s.Stats().ActiveConnections == 0 })
}

// checkErrorShape checks {"error":{"message","type","param","code"}}.
func checkErrorShape(t *testing.T, resp *http.Response, b []byte, wantMsg string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	body := unmarshal[map[string]map[string]any](t, b)
	e, ok := body["error"]
	if !ok || len(body) != 1 {
		t.Fatalf("not an OpenAI error: %s", b)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error lacks %q: %s", k, b)
		}
	}
	if msg, _ := e["message"].(string); !strings.Contains(msg, wantMsg) {
		t.Errorf("message %q, want it to contain %q", msg, wantMsg)
	}
	if typ, _ := e["type"].(string); typ == "" {
		t.Errorf("empty type: %s", b)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Kind gemini end to end: the mock speaks Gemini's API under /v1beta, the
// official OpenAI and Anthropic SDKs are the clients, and every answer is
// translated both ways.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/warmgate/warmgate/internal/mock"
)

// geminiKey is the mock's Gemini key, the gateway's upstream key.
const geminiKey = "AIza-mock-upstream-key"

// geminiGateway serves the mock m's gemini-* models through one upstream
// of kind gemini whose key is upKey, with the Anthropic tests' client keys.
func geminiGateway(t *testing.T, m *mock.Server, upKey, extra string) *gw {
	t.Helper()
	env := map[string]string{"GEMINI_KEY": upKey}
	for k, v := range anthropicEnv {
		env[k] = v
	}
	yaml := "upstreams:\n  - name: gem\n    kind: gemini\n    base_url: " + m.URL() + "\n    api_key_env: GEMINI_KEY\n" +
		"    models: [\"gemini-*\"]\n    " + fastRetry + "\n    " + noCircuit + "\n" + anthropicKeysYAML + extra
	return startGateway(t, yaml, env)
}

// weatherFunction is the OpenAI tool the tool tests offer: the mock calls
// it with {"city":"mock"}.
var weatherFunction = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}})

// checkToolTurns asks model, through openai-go, for a call of
// weatherFunction, plain and streamed, then sends the call's result and
// wants the mock's text answer: a translated upstream's function calling
// both ways.
func checkToolTurns(t *testing.T, c openai.Client, model string) {
	t.Helper()
	tp := chatParams(model)
	tp.Tools = []openai.ChatCompletionToolUnionParam{weatherFunction}
	tc, err := c.Chat.Completions.New(t.Context(), tp)
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	calls := tc.Choices[0].Message.ToolCalls
	if tc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 ||
		calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"mock"}` || calls[0].ID == "" {
		t.Fatalf("tool answer = %+v", tc.Choices[0])
	}
	tacc, err := streamChat(t, c, tp)
	if err != nil {
		t.Fatalf("tools stream: %v", err)
	}
	if sc := tacc.Choices[0].Message.ToolCalls; tacc.Choices[0].FinishReason != "tool_calls" || len(sc) != 1 ||
		sc[0].Function.Name != "get_weather" || sc[0].Function.Arguments != `{"city":"mock"}` {
		t.Errorf("streamed tool answer = %+v", tacc.Choices[0])
	}
	tp.Messages = append(tp.Messages, tc.Choices[0].Message.ToParam(), openai.ToolMessage(`{"temp":21}`, calls[0].ID))
	res, err := c.Chat.Completions.New(t.Context(), tp)
	if err != nil {
		t.Fatalf("tool result turn: %v", err)
	}
	if res.Choices[0].FinishReason != "stop" || res.Choices[0].Message.Content != "word1 word2 word3 word4" || len(res.Choices[0].Message.ToolCalls) != 0 {
		t.Errorf("tool result turn = %+v, want text", res.Choices[0])
	}
}

// streamChat reads an openai-go stream into one completion.
func streamChat(t *testing.T, c openai.Client, p openai.ChatCompletionNewParams, opts ...option.RequestOption) (openai.ChatCompletionAccumulator, error) {
	t.Helper()
	s := c.Chat.Completions.NewStreaming(t.Context(), p, opts...)
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	return acc, s.Err()
}

// TestGeminiOpenAIClient: openai-go to an upstream of kind gemini: plain
// and streamed answers with their usage, a function call (plain and
// streamed) and the tool-result turn after it, embeddings in both
// encodings, safety blocks as content_filter, and Gemini's errors in
// OpenAI's shape, a 429 retried by the gateway.
func TestGeminiOpenAIClient(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 4, APIKey: geminiKey})
	g := geminiGateway(t, m, geminiKey, "")
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	ctx := t.Context()

	got, err := c.Chat.Completions.New(ctx, chatParams("gemini-2.5-flash"))
	if err != nil {
		t.Fatalf("Chat.Completions.New: %v", err)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "word1 word2 word3 word4" || got.Choices[0].FinishReason != "stop" ||
		got.Usage.CompletionTokens != 4 || got.Usage.PromptTokens == 0 || got.Usage.TotalTokens != got.Usage.PromptTokens+4 ||
		got.Model != "gemini-2.5-flash" {
		t.Errorf("answer = %+v", got)
	}
	if !strings.Contains(g.logs.String(), `"translated":true`) {
		t.Errorf("access log does not say translated:\n%s", g.logs.String())
	}

	p := chatParams("gemini-2.5-flash")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	acc, err := streamChat(t, c, p)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != got.Choices[0].Message.Content ||
		acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens != got.Usage.PromptTokens {
		t.Errorf("streamed = %+v, usage %+v; want the plain answer and its usage", acc.Choices, acc.Usage)
	}

	// A function call, plain and streamed, then the turn with its result.
	checkToolTurns(t, c, "gemini-2.5-flash")

	// Safety blocks, of the prompt and of the answer, plain and streamed.
	for _, kind := range []string{"prompt", "response"} {
		fault := option.WithHeader(mock.FaultHeader, "safety="+kind)
		b, err := c.Chat.Completions.New(ctx, chatParams("gemini-2.5-flash"), fault)
		if err != nil || b.Choices[0].FinishReason != "content_filter" {
			t.Errorf("safety=%s: %+v, %v; want finish_reason content_filter", kind, b, err)
		}
		sb, err := streamChat(t, c, chatParams("gemini-2.5-flash"), fault)
		if err != nil || len(sb.Choices) != 1 || sb.Choices[0].FinishReason != "content_filter" {
			t.Errorf("safety=%s streamed: %+v, %v; want finish_reason content_filter", kind, sb.Choices, err)
		}
	}

	// Gemini's errors, in OpenAI's shape.
	for _, e := range []struct {
		name, model, fault string
		status             int
		typ                string
	}{
		{"unknown model", "gemini-no-such", "", 404, "not_found_error"},
		{"rate limit", "gemini-2.5-flash", "status=429", 429, "rate_limit_error"},
		{"overloaded", "gemini-2.5-flash", "status=503", 503, "server_error"},
		{"bad request", "gemini-2.5-flash", "status=400", 400, "invalid_request_error"},
	} {
		t.Run(e.name, func(t *testing.T) {
			var opts []option.RequestOption
			if e.fault != "" {
				opts = append(opts, option.WithHeader(mock.FaultHeader, e.fault))
			}
			_, err := c.Chat.Completions.New(ctx, chatParams(e.model), opts...)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || apiErr.Type != e.typ {
				t.Errorf("%v, want %d %s in OpenAI's shape", err, e.status, e.typ)
			}
		})
	}

	// One 429 (Gemini's RESOURCE_EXHAUSTED), retried by the gateway.
	before := g.stats(t).Retries["status_429"]
	if _, err := c.Chat.Completions.New(ctx, chatParams("gemini-2.5-flash"), option.WithHeader(mock.FaultHeader, "status=429,times=1")); err != nil {
		t.Errorf("after one 429: %v, want the gateway's retry to answer", err)
	}
	if n := g.stats(t).Retries["status_429"] - before; n != 1 {
		t.Errorf("status_429 retries = %d, want 1", n)
	}
}

// TestGeminiEmbeddings: /v1/embeddings from openai-go to a gemini
// upstream goes out as batchEmbedContents, and the vectors come back in
// the client's order and encoding, equal to what the mock's OpenAI route
// gives the same inputs.
func TestGeminiEmbeddings(t *testing.T) {
	m := startMock(t, mock.Options{APIKey: geminiKey})
	g := geminiGateway(t, m, geminiKey, "")
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	inputs := []string{"the first text", "the second"}
	direct := mockDirect(t, m, http.MethodPost, "/v1/embeddings", `{"model":"text-embedding-3-small","input":["the first text","the second"]}`,
		"Authorization", "Bearer "+geminiKey)
	var want struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(direct.body, &want); err != nil || len(want.Data) != 2 {
		t.Fatalf("the mock's OpenAI embeddings: %v %s", err, direct.body)
	}
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			res, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: "gemini-embedding-001",
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}, EncodingFormat: format})
			if err != nil {
				t.Fatalf("Embeddings.New: %v", err)
			}
			if len(res.Data) != 2 || res.Model != "gemini-embedding-001" {
				t.Fatalf("answer = %+v", res)
			}
			for i, d := range res.Data {
				if d.Index != int64(i) || len(d.Embedding) != len(want.Data[i].Embedding) {
					t.Fatalf("embedding %d: index %d, %d floats; want %d", i, d.Index, len(d.Embedding), len(want.Data[i].Embedding))
				}
				for j, v := range d.Embedding {
					if math.Abs(v-want.Data[i].Embedding[j]) > 1e-6 {
						t.Fatalf("embedding %d differs from the mock's at %d: %v, want %v", i, j, v, want.Data[i].Embedding[j])
					}
				}
			}
		})
	}
	_, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: "gemini-embedding-001",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 2}}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "untranslatable_request" {
		t.Errorf("token input: %v, want 400 untranslatable_request", err)
	}
}

// TestGeminiAnthropicClient: anthropic-sdk-go to a gemini upstream: plain
// and streamed messages, a tool_use and the tool_result turn after it,
// plain and streamed, a safety block as refusal, and Gemini's errors in
// Anthropic's shape.
func TestGeminiAnthropicClient(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 5, APIKey: geminiKey})
	g := geminiGateway(t, m, geminiKey, "")
	c := anthropicSDK(t, g, "KEY_PLAIN")
	ctx := t.Context()

	msg, err := c.Messages.New(ctx, hello("gemini-2.5-pro"))
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "word1 word2 word3 word4 word5" || msg.StopReason != "end_turn" ||
		msg.Usage.OutputTokens != 5 || msg.Usage.InputTokens == 0 {
		t.Errorf("message = %+v", msg)
	}
	acc, err := accumulate(t, c.Messages.NewStreaming(ctx, hello("gemini-2.5-pro")))
	if err != nil || len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != "end_turn" ||
		acc.Usage.OutputTokens != 5 {
		t.Errorf("streamed = %+v, %v; want the plain answer", acc, err)
	}

	for _, stream := range []bool{false, true} {
		params := hello("gemini-2.5-pro")
		params.Tools = []anthropic.ToolUnionParam{weatherTool("get_weather")}
		var first anthropic.Message
		if stream {
			first, err = accumulate(t, c.Messages.NewStreaming(ctx, params))
		} else {
			var mp *anthropic.Message
			if mp, err = c.Messages.New(ctx, params); mp != nil {
				first = *mp
			}
		}
		if err != nil {
			t.Fatalf("tools, stream=%v: %v", stream, err)
		}
		use := first.Content[len(first.Content)-1]
		if first.StopReason != "tool_use" || use.Type != "tool_use" || use.Name != "get_weather" || string(use.Input) != `{"city":"mock"}` || use.ID == "" {
			t.Fatalf("tools, stream=%v: %+v", stream, first)
		}
		params.Messages = append(params.Messages, first.ToParam(),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, `{"temp":21}`, false)))
		second, err := accumulate(t, c.Messages.NewStreaming(ctx, params))
		if err != nil || second.StopReason != "end_turn" || len(second.Content) != 1 || second.Content[0].Text != "word1 word2 word3 word4 word5" {
			t.Errorf("tool_result turn, stream=%v: %+v, %v; want text", stream, second, err)
		}
	}

	b, err := c.Messages.New(ctx, hello("gemini-2.5-pro"), aoption.WithHeader(mock.FaultHeader, "safety=response"))
	if err != nil || b.StopReason != "refusal" {
		t.Errorf("safety block: %+v, %v; want stop_reason refusal", b, err)
	}

	for _, e := range []struct {
		name, model, fault string
		status             int
		typ                string
	}{
		{"unknown model", "gemini-no-such", "", 404, "not_found_error"},
		{"rate limit", "gemini-2.5-pro", "status=429", 429, "rate_limit_error"},
		{"overloaded", "gemini-2.5-pro", "status=503", 503, "overloaded_error"},
	} {
		t.Run(e.name, func(t *testing.T) {
			var opts []aoption.RequestOption
			if e.fault != "" {
				opts = append(opts, aoption.WithHeader(mock.FaultHeader, e.fault))
			}
			_, err := c.Messages.New(ctx, hello(e.model), opts...)
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || string(apiErr.Type()) != e.typ {
				t.Errorf("%v, want %d %s in Anthropic's shape", err, e.status, e.typ)
			}
		})
	}
}

// TestGeminiUpstreamKeyErrors: a gemini upstream configured with a wrong
// key (Google's 400 API_KEY_INVALID) is a 401 to the client, and one
// without a key (Google's 403) a 403, each in the client's dialect; the
// key never reaches the client, and goes out only as x-goog-api-key.
func TestGeminiUpstreamKeyErrors(t *testing.T) {
	m := startMock(t, mock.Options{APIKey: geminiKey})
	for _, tt := range []struct {
		name, key string
		status    int
		openaiTyp string
		anthTyp   string
	}{
		{"wrong key", "AIza-wrong-key", 401, "authentication_error", "authentication_error"},
		{"no key", "", 403, "permission_error", "permission_error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "upstreams:\n  - name: gem\n    kind: gemini\n    base_url: " + m.URL() + "/v1beta\n" +
				"    models: [\"gemini-*\"]\n    " + noCircuit + "\n"
			env := map[string]string{}
			if tt.key != "" {
				yaml = strings.Replace(yaml, "    models:", "    api_key_env: GEMINI_KEY\n    models:", 1)
				env["GEMINI_KEY"] = tt.key
			}
			g := startGateway(t, yaml, env)
			a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gemini-2.5-flash", false))
			if a.status != tt.status || !strings.Contains(string(a.body), `"type":"`+tt.openaiTyp+`"`) {
				t.Errorf("OpenAI client: %d %s, want %d %s", a.status, a.body, tt.status, tt.openaiTyp)
			}
			a = g.do(t, http.MethodPost, "/v1/messages", `{"model":"gemini-2.5-flash","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
			if a.status != tt.status || !strings.Contains(string(a.body), `"type":"error"`) || !strings.Contains(string(a.body), `"type":"`+tt.anthTyp+`"`) {
				t.Errorf("Anthropic client: %d %s, want %d %s", a.status, a.body, tt.status, tt.anthTyp)
			}
			if tt.key != "" && (strings.Contains(string(a.body), tt.key) || strings.Contains(g.logs.String(), tt.key)) {
				t.Error("the upstream key reached the client or the log")
			}
		})
	}
}

// TestGeminiStreamCut: a Gemini stream cut mid-way (no finishReason yet)
// ends, for each client, in its dialect's error event after the text that
// came, never in a made-up end.
func TestGeminiStreamCut(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 6, APIKey: geminiKey})
	g := geminiGateway(t, m, geminiKey, "")
	for _, tt := range []struct {
		name, path, body string
		wantErr          string // in the last event
		notEnd           string // an end that must not come
	}{
		{"openai", "/v1/chat/completions", chatBody("gemini-2.5-flash", true), `"error":{`, "[DONE]"},
		{"anthropic", "/v1/messages", `{"model":"gemini-2.5-flash","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			`"type":"error"`, "message_stop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.send(t, t.Context(), http.MethodPost, tt.path, tt.body, "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"],
				mock.FaultHeader, "reset_after_chunks=2")
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var evs []sseEvent
			_ = readEvents(resp.Body, func(ev sseEvent) bool { evs = append(evs, ev); return len(evs) < 100 })
			if len(evs) < 2 {
				t.Fatalf("events %v, want the first text then an error", evs)
			}
			text := slices.ContainsFunc(evs, func(ev sseEvent) bool { return strings.Contains(ev.data, "word1") })
			last := evs[len(evs)-1]
			if !text || !strings.Contains(last.data, tt.wantErr) {
				t.Errorf("events %v; want word1, then an error event (%s) last", evs, tt.wantErr)
			}
			for _, ev := range evs {
				if strings.Contains(ev.data, tt.notEnd) || ev.name == tt.notEnd {
					t.Errorf("a cut stream ended with %s: %v", tt.notEnd, evs)
				}
			}
		})
	}
}

// TestGeminiUsageCounted: the usage Gemini reports (usageMetadata), plain
// and streamed, is what the gateway counts: the tokens metric, the access
// log and the key's budget.
func TestGeminiUsageCounted(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 6, APIKey: geminiKey})
	// What the upstream reports, asked in its own dialect with the body
	// the gateway sends (the translation of the request below).
	d := mockDirect(t, m, http.MethodPost, "/v1beta/models/gemini-2.5-flash:generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}`, "X-Goog-Api-Key", geminiKey)
	var direct struct {
		UsageMetadata struct {
			Prompt     int `json:"promptTokenCount"`
			Candidates int `json:"candidatesTokenCount"`
		} `json:"usageMetadata"`
	}
	if err := json.Unmarshal(d.body, &direct); err != nil || direct.UsageMetadata.Candidates != 6 {
		t.Fatalf("direct: %d %s, %v", d.status, d.body, err)
	}
	prompt, completion := direct.UsageMetadata.Prompt, direct.UsageMetadata.Candidates
	cost := float64(prompt+completion) * 1000 / 1e6
	anthropicEnv := maps.Clone(anthropicEnv)
	anthropicEnv["KEY_B"] = "sk-wg-budget-0123456789"
	yaml := "upstreams:\n  - name: gem\n    kind: gemini\n    base_url: " + m.URL() + "\n    api_key_env: GEMINI_KEY\n" +
		"    models: [\"gemini-*\"]\n    " + noCircuit + "\n" +
		strings.Replace(anthropicKeysYAML, "keys:\n", "keys:\n"+fmt.Sprintf("  - {name: budget, key_env: KEY_B, budget_daily: %v}\n", 2.5*cost), 1) +
		"prices: {\"gemini-2.5-flash\": {prompt: 1000, completion: 1000}}\n"
	anthropicEnv["GEMINI_KEY"] = geminiKey
	g := startGateway(t, yaml, anthropicEnv)
	auth := []string{"Authorization", "Bearer " + anthropicEnv["KEY_B"]}
	body := `{"model":"gemini-2.5-flash","stream":%v,"messages":[{"role":"user","content":"hello there"}]}`
	for i, stream := range []bool{false, true, false} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", fmt.Sprintf(body, stream), auth...)
		if a.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, a.status, a.body)
		}
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", fmt.Sprintf(body, false), auth...); a.status != http.StatusTooManyRequests ||
		!strings.Contains(string(a.body), "budget") {
		t.Errorf("the 4th request of a 2.5-request budget: %d %s, want 429", a.status, a.body)
	}
	value := scrape(t, g, "Authorization", "Bearer "+anthropicEnv["ADMIN_KEY"])
	for kind, want := range map[string]float64{"prompt": 3 * float64(prompt), "completion": 3 * float64(completion)} {
		if v := value("warmgate_tokens_total", "key", "budget", "model", "gemini-2.5-flash", "kind", kind); v != want {
			t.Errorf("warmgate_tokens_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	if want := fmt.Sprintf(`"prompt_tokens":%d,"completion_tokens":%d`, prompt, completion); strings.Count(g.logs.String(), want) != 3 {
		t.Errorf("the access log lacks the usage %s three times:\n%s", want, g.logs.String())
	}
}

// TestGeminiModelsListed: GET /v1/models lists the models a gemini
// upstream lists (Gemini's own list shape, "models/NAME"), filtered by
// its model globs.
func TestGeminiModelsListed(t *testing.T) {
	m := startMock(t, mock.Options{APIKey: geminiKey})
	g := geminiGateway(t, m, geminiKey, "")
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	var ids []string
	pages := c.Models.ListAutoPaging(t.Context())
	for pages.Next() {
		ids = append(ids, pages.Current().ID)
	}
	if err := pages.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"} {
		if !slices.Contains(ids, want) {
			t.Errorf("GET /v1/models lists %v, want %s among them", ids, want)
		}
	}
}

// TestGeminiModelPathEscaped: the model goes into the upstream's path
// path-escaped, under the base URL's /v1beta, with alt=sse on a stream,
// and the key in x-goog-api-key, never in the query.
func TestGeminiModelPathEscaped(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" key="+r.Header.Get("X-Goog-Api-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}`))
	}))
	t.Cleanup(up.Close)
	yaml := "upstreams:\n  - name: gem\n    kind: gemini\n    base_url: " + up.URL + "\n    api_key_env: GEMINI_KEY\n" +
		"    models: [\"*\"]\n    " + noCircuit + "\n"
	g := startGateway(t, yaml, map[string]string{"GEMINI_KEY": geminiKey})
	for _, stream := range []bool{false, true} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("tuned/../../x y", stream))
		if a.status != 404 && !stream {
			t.Errorf("stream=%v: %d %s", stream, a.status, a.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{
		"POST /v1beta/models/tuned%2F..%2F..%2Fx%20y:generateContent? key=" + geminiKey,
		"POST /v1beta/models/tuned%2F..%2F..%2Fx%20y:streamGenerateContent?alt=sse key=" + geminiKey,
	} {
		if !slices.Contains(seen, want) {
			t.Errorf("upstream saw %q, want %q among them", seen, want)
		}
	}
}

// TestClientGoogleKeyNotForwarded: a client's x-goog-api-key is a
// credential like its Authorization: it reaches no upstream, of any kind.
func TestClientGoogleKeyNotForwarded(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","object":"chat.completion","choices":[]}`))
	}))
	t.Cleanup(up.Close)
	g := startGateway(t, "upstreams:\n  - {name: oai, base_url: \""+up.URL+"/v1\", models: [\"*\"]}\n", nil)
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("m", false), "X-Goog-Api-Key", "AIza-client-secret"); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if h := <-got; h.Get("X-Goog-Api-Key") != "" {
		t.Errorf("the upstream got the client's x-goog-api-key")
	}
}

// TestGeminiAsFallbackGroup: a model served by an OpenAI-compatible
// upstream (down) and a gemini one, in that config order: an OpenAI client
// tries its own group first, then the gemini group, translated; an
// Anthropic client, with no group of its own, tries the OpenAI group then
// the gemini one, each translated its own way.
func TestGeminiAsFallbackGroup(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 2, APIKey: geminiKey})
	yaml := "upstreams:\n" +
		"  - {name: down, base_url: http://" + closedAddr(t) + "/v1, models: [\"gemini-*\"], " + fastRetry + "}\n" +
		"  - {name: gem, kind: gemini, base_url: \"" + m.URL() + "\", api_key_env: GEMINI_KEY, models: [\"gemini-*\"]}\n"
	g := startGateway(t, yaml, map[string]string{"GEMINI_KEY": geminiKey})
	for _, tt := range []struct{ name, path, body, want string }{
		{"openai client", "/v1/chat/completions", chatBody("gemini-2.5-flash", false), `"content":"word1 word2"`},
		{"anthropic client", "/v1/messages", `{"model":"gemini-2.5-flash","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			`"text":"word1 word2"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, http.MethodPost, tt.path, tt.body)
			if a.status != 200 || !strings.Contains(string(a.body), tt.want) {
				t.Fatalf("%d %s, want 200 with %s", a.status, a.body, tt.want)
			}
		})
	}
	logs := g.logs.String()
	if n := strings.Count(logs, `"upstream":"gem"`); n < 2 || strings.Count(logs, "trying its upstreams of another API, translated") < 2 {
		t.Errorf("want both answers from gem, after the down group:\n%s", logs)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The three paths of item "dialects at the edge", with the project's mock
// as the upstream in both of its dialects and the official SDKs as
// clients: a, an Anthropic client to an upstream of kind anthropic (byte
// for byte); b, an OpenAI client to an anthropic upstream (translated);
// c, an Anthropic client to an OpenAI-compatible upstream (translated).

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/warmgate/warmgate/internal/mock"
)

// kindGateway serves the mock m's claude-* and gpt-* models through one
// upstream of kind, with the Anthropic tests' keys and extra config.
func kindGateway(t *testing.T, m *mock.Server, kind, extra string) *gw {
	t.Helper()
	return startGateway(t, "upstreams:\n"+kindYAML(t, "up", m, kind, `models: ["claude-*", "gpt-*"]`, fastRetry, noCircuit)+
		anthropicKeysYAML+extra, anthropicEnv)
}

// kindYAML is an upstream of kind serving the mock m in that kind's dialect
// only: the mock speaks both, so it is put behind a proxy that answers 404
// to the other dialect's routes, as a real upstream of the kind would.
func kindYAML(t *testing.T, name string, m *mock.Server, kind string, extra ...string) string {
	t.Helper()
	target, _ := url.Parse(m.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the mock's faults cut bodies on purpose
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		anthropicRoute := strings.HasPrefix(r.URL.Path, "/v1/messages")
		if anthropicRoute != (kind == "anthropic") && r.URL.Path != "/v1/models" {
			http.Error(w, `{"error":{"message":"no such route in this dialect","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    kind: %s\n    base_url: %s/v1\n", name, kind, front.URL)
	for _, e := range extra {
		b.WriteString("    " + e + "\n")
	}
	return b.String()
}

// weatherTool is the tool the tool tests offer: the mock calls it with
// {"city":"mock"}.
func weatherTool(name string) anthropic.ToolUnionParam {
	return anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{Name: name, Description: anthropic.String("Weather of a city."),
		InputSchema: anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}}}
}

// accumulate reads an SDK stream into one message.
func accumulate(t *testing.T, s interface {
	Next() bool
	Current() anthropic.MessageStreamEventUnion
	Err() error
	Close() error
}) (anthropic.Message, error) {
	t.Helper()
	defer s.Close()
	var acc anthropic.Message
	for s.Next() {
		if err := acc.Accumulate(s.Current()); err != nil {
			return acc, err
		}
	}
	return acc, s.Err()
}

// paths are the Anthropic client's two paths: a (no translation) and c.
var anthropicPaths = []struct {
	name, kind string
	translated bool
}{
	{"a/kind anthropic", "anthropic", false},
	{"c/kind openai", "openai", true},
}

// TestAnthropicSDKPaths: the anthropic SDK through paths a and c: plain
// and streamed answers, tools (plain and streamed), the SDK's typed errors
// for the gateway's own refusals and for the upstream's, and on path a a
// 529 retried by the gateway.
func TestAnthropicSDKPaths(t *testing.T) {
	for _, p := range anthropicPaths {
		t.Run(p.name, func(t *testing.T) {
			m := startMock(t, mock.Options{Tokens: 5})
			g := kindGateway(t, m, p.kind, "")
			c := anthropicSDK(t, g, "KEY_PLAIN")
			ctx := t.Context()

			msg, err := c.Messages.New(ctx, hello("claude-sonnet-4-5"))
			if err != nil {
				t.Fatalf("Messages.New: %v", err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != "word1 word2 word3 word4 word5" || msg.StopReason != "end_turn" ||
				msg.Usage.OutputTokens != 5 || msg.Usage.InputTokens == 0 {
				t.Errorf("message = %+v", msg)
			}
			if got := strings.Contains(g.logs.String(), `"translated":true`); got != p.translated {
				t.Errorf("access log translated=%v, want %v:\n%s", got, p.translated, g.logs.String())
			}
			acc, err := accumulate(t, c.Messages.NewStreaming(ctx, hello("claude-sonnet-4-5")))
			if err != nil || len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != "end_turn" ||
				acc.Usage.OutputTokens != 5 {
				t.Errorf("streamed = %+v, %v; want the plain answer", acc, err)
			}

			tools := hello("claude-sonnet-4-5")
			tools.Tools = []anthropic.ToolUnionParam{weatherTool("get_weather")}
			for _, stream := range []bool{false, true} {
				var got anthropic.Message
				if stream {
					got, err = accumulate(t, c.Messages.NewStreaming(ctx, tools))
				} else {
					var mp *anthropic.Message
					if mp, err = c.Messages.New(ctx, tools); mp != nil {
						got = *mp
					}
				}
				if err != nil {
					t.Fatalf("tools, stream=%v: %v", stream, err)
				}
				last := got.Content[len(got.Content)-1]
				if got.StopReason != "tool_use" || last.Type != "tool_use" || last.Name != "get_weather" ||
					string(last.Input) != `{"city":"mock"}` || last.ID == "" {
					t.Errorf("tools, stream=%v: %+v", stream, got)
				}
			}

			errs := []struct {
				name, env, model, fault string
				status                  int
				typ                     string
			}{
				{"gateway authentication", "", "claude-sonnet-4-5", "", 401, "authentication_error"},
				{"gateway permission", "KEY_ONE", "claude-other", "", 403, "permission_error"},
				{"gateway not found", "KEY_PLAIN", "no-such-model", "", 404, "not_found_error"},
				{"upstream authentication", "KEY_PLAIN", "claude-sonnet-4-5", "status=401", 401, "authentication_error"},
				{"upstream permission", "KEY_PLAIN", "claude-sonnet-4-5", "status=403", 403, "permission_error"},
				{"upstream not found", "KEY_PLAIN", "claude-sonnet-4-5", "status=404", 404, "not_found_error"},
				{"upstream rate limit", "KEY_PLAIN", "claude-sonnet-4-5", "status=429", 429, "rate_limit_error"},
			}
			for _, e := range errs {
				t.Run(e.name, func(t *testing.T) {
					c := anthropicSDK(t, g, e.env)
					if e.env == "" {
						c = anthropic.NewClient(aoption.WithBaseURL(g.base+"/"), aoption.WithAPIKey("sk-not-a-key"),
							aoption.WithHTTPClient(g.hc), aoption.WithMaxRetries(0))
					}
					var opts []aoption.RequestOption
					if e.fault != "" {
						opts = append(opts, aoption.WithHeader(mock.FaultHeader, e.fault))
					}
					_, err := c.Messages.New(t.Context(), hello(e.model), opts...)
					var apiErr *anthropic.Error
					if !errors.As(err, &apiErr) {
						t.Fatalf("err = %v (%T), want *anthropic.Error", err, err)
					}
					if apiErr.StatusCode != e.status || string(apiErr.Type()) != e.typ {
						t.Errorf("status %d, type %q; want %d %s: %s", apiErr.StatusCode, apiErr.Type(), e.status, e.typ, apiErr.RawJSON())
					}
				})
			}

			if p.kind == "anthropic" {
				before := g.stats(t).Retries["status_5xx"]
				if _, err := c.Messages.New(ctx, hello("claude-haiku-4-5"), aoption.WithHeader(mock.FaultHeader, "status=529,times=1")); err != nil {
					t.Errorf("after one 529: %v, want the gateway's retry to answer", err)
				}
				if n := g.stats(t).Retries["status_5xx"] - before; n != 1 {
					t.Errorf("status_5xx retries = %d, want 1 (the 529)", n)
				}
			}
		})
	}
}

// TestOpenAISDKToAnthropicUpstream: path b, openai-go to an upstream of
// kind anthropic: plain and streamed answers with their usage, tool calls
// plain and streamed, and the upstream's errors in OpenAI's shape.
func TestOpenAISDKToAnthropicUpstream(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 4})
	g := kindGateway(t, m, "anthropic", "")
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	ctx := t.Context()

	got, err := c.Chat.Completions.New(ctx, chatParams("claude-sonnet-4-5"))
	if err != nil {
		t.Fatalf("Chat.Completions.New: %v", err)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "word1 word2 word3 word4" || got.Choices[0].FinishReason != "stop" ||
		got.Usage.CompletionTokens != 4 || got.Usage.PromptTokens == 0 || got.Usage.TotalTokens != got.Usage.PromptTokens+4 {
		t.Errorf("answer = %+v", got)
	}

	p := chatParams("claude-sonnet-4-5")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	_ = s.Close()
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != got.Choices[0].Message.Content ||
		acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens != got.Usage.PromptTokens {
		t.Errorf("streamed = %+v, usage %+v; want the plain answer and its usage", acc.Choices, acc.Usage)
	}

	tp := chatParams("claude-sonnet-4-5")
	tp.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}})}
	tc, err := c.Chat.Completions.New(ctx, tp)
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	if calls := tc.Choices[0].Message.ToolCalls; tc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 ||
		calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"mock"}` || calls[0].ID == "" {
		t.Errorf("tool answer = %+v", tc.Choices[0])
	}
	ts := c.Chat.Completions.NewStreaming(ctx, tp)
	var tacc openai.ChatCompletionAccumulator
	for ts.Next() {
		tacc.AddChunk(ts.Current())
	}
	if err := ts.Err(); err != nil {
		t.Fatalf("tools stream: %v", err)
	}
	_ = ts.Close()
	if calls := tacc.Choices[0].Message.ToolCalls; tacc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 ||
		calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"mock"}` {
		t.Errorf("streamed tool answer = %+v", tacc.Choices[0])
	}

	for _, e := range []struct {
		fault  string
		status int
		typ    string
	}{
		{"status=401", 401, "authentication_error"},
		{"status=429", 429, "rate_limit_error"},
		{"status=529", 503, "server_error"},
	} {
		_, err := c.Chat.Completions.New(ctx, chatParams("claude-sonnet-4-5"), option.WithHeader(mock.FaultHeader, e.fault))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || apiErr.Type != e.typ {
			t.Errorf("%s: %v, want %d %s in OpenAI's shape", e.fault, err, e.status, e.typ)
		}
	}
}

// TestTranslatedRefusals: what one side cannot serve is a clear error in
// the client's dialect; GET /v1/models lists the models of both kinds.
func TestTranslatedRefusals(t *testing.T) {
	ma, mo := startMock(t, mock.Options{}), startMock(t, mock.Options{})
	yaml := "upstreams:\n" + kindYAML(t, "claude", ma, "anthropic", `models: ["claude-*"]`) +
		kindYAML(t, "gpt", mo, "openai", `models: ["gpt-*"]`)
	g := startGateway(t, yaml, nil)
	tests := []struct {
		name, path, body string
		status           int
		want             []string
	}{
		{"count_tokens to an openai upstream", "/v1/messages/count_tokens",
			`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`, 404,
			[]string{`"type":"error"`, `"type":"not_found_error"`, "no count_tokens endpoint"}},
		{"embeddings to an anthropic upstream", "/v1/embeddings", `{"model":"claude-sonnet-4-5","input":"hi"}`, 400,
			[]string{`"code":"route_not_supported"`, "cannot serve /v1/embeddings"}},
		{"n=2 to an anthropic upstream", "/v1/chat/completions",
			`{"model":"claude-sonnet-4-5","n":2,"messages":[{"role":"user","content":"hi"}]}`, 400,
			[]string{`"type":"invalid_request_error"`, `"code":"untranslatable_request"`, "n"}},
		{"a server tool to an openai upstream", "/v1/messages",
			`{"model":"gpt-4.1-mini","max_tokens":10,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}`, 400,
			[]string{`"type":"invalid_request_error"`, "web_search_20250305"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, http.MethodPost, tt.path, tt.body)
			if a.status != tt.status {
				t.Errorf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(a.body), w) {
					t.Errorf("body lacks %s: %s", w, a.body)
				}
			}
		})
	}
	a := g.do(t, http.MethodGet, "/v1/models", "")
	for _, id := range []string{`"claude-sonnet-4-5"`, `"gpt-4.1-mini"`} {
		if !strings.Contains(string(a.body), id) {
			t.Errorf("GET /v1/models lacks %s: %s", id, a.body)
		}
	}
}

// TestTranslatedStreamWithoutEnd: an upstream stream cut before its end
// reaches the client of a translated path as its dialect's error event,
// then an aborted response: never the translator's end.
func TestTranslatedStreamWithoutEnd(t *testing.T) {
	for _, tt := range []struct {
		name, kind, path, body, errorEvent, end string
	}{
		{"b", "anthropic", "/v1/chat/completions", chatBody("claude-sonnet-4-5", true), `{"error":{`, "[DONE]"},
		{"c", "openai", "/v1/messages",
			`{"model":"gpt-4.1-mini","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			`"type":"error"`, "message_stop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := startMock(t, mock.Options{Tokens: 8})
			g := kindGateway(t, m, tt.kind, "")
			resp := g.send(t, t.Context(), http.MethodPost, tt.path, tt.body,
				"Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"], mock.FaultHeader, "reset_after_chunks=4")
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Errorf("the response ended cleanly; want it aborted: %s", b)
			}
			s := string(b)
			if resp.StatusCode != 200 || !strings.Contains(s, "event: error\n") || !strings.Contains(s, tt.errorEvent) || strings.Contains(s, tt.end) {
				t.Errorf("status %d, body:\n%s\nwant some events, an error event in the client's dialect, no %s", resp.StatusCode, s, tt.end)
			}
		})
	}
}

// TestTranslatedUsageCounted: a translated answer's usage counts for the
// key's metrics, log, ledger and budget as any other, on paths b and c.
func TestTranslatedUsageCounted(t *testing.T) {
	for _, tt := range []struct {
		name, kind, path, body, model string
	}{
		{"b", "anthropic", "/v1/chat/completions", `{"model":"claude-sonnet-4-5","stream":%v,"messages":[{"role":"user","content":"hello there"}]}`, "claude-sonnet-4-5"},
		{"c", "openai", "/v1/messages", `{"model":"gpt-4.1-mini","max_tokens":50,"stream":%v,"messages":[{"role":"user","content":"hello there"}]}`, "gpt-4.1-mini"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := startMock(t, mock.Options{Tokens: 6})
			// What the upstream reports, asked directly in its own dialect.
			direct := `{"model":"` + tt.model + `","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`
			route := "/v1/chat/completions"
			if tt.kind == "anthropic" {
				route = "/v1/messages"
			}
			d := mockDirect(t, m, http.MethodPost, route, direct)
			var u struct {
				Usage struct {
					PromptTokens     int `json:"prompt_tokens"`
					CompletionTokens int `json:"completion_tokens"`
					InputTokens      int `json:"input_tokens"`
					OutputTokens     int `json:"output_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(d.body, &u); err != nil {
				t.Fatal(err)
			}
			prompt, completion := u.Usage.PromptTokens+u.Usage.InputTokens, u.Usage.CompletionTokens+u.Usage.OutputTokens
			cost := float64(prompt+completion) * 1000 / 1e6
			env := map[string]string{"KEY_B": "sk-wg-budget-0123456789"}
			for k, v := range anthropicEnv {
				env[k] = v
			}
			yaml := "upstreams:\n" + kindYAML(t, "up", m, tt.kind, `models: ["claude-*", "gpt-*"]`) +
				strings.Replace(anthropicKeysYAML, "keys:\n", "keys:\n"+fmt.Sprintf("  - {name: budget, key_env: KEY_B, budget_daily: %v}\n", 2.5*cost), 1) +
				"prices: {\"" + tt.model + "\": {prompt: 1000, completion: 1000}}\n"
			g := startGateway(t, yaml, env)
			auth := []string{"Authorization", "Bearer " + env["KEY_B"]}
			for i, stream := range []bool{false, true, false} {
				a := g.do(t, http.MethodPost, tt.path, fmt.Sprintf(tt.body, stream), auth...)
				if a.status != 200 {
					t.Fatalf("request %d: %d %s", i+1, a.status, a.body)
				}
			}
			if a := g.do(t, http.MethodPost, tt.path, fmt.Sprintf(tt.body, false), auth...); a.status != http.StatusTooManyRequests ||
				!strings.Contains(string(a.body), "budget") {
				t.Errorf("the 4th request of a 2.5-request budget: %d %s, want 429", a.status, a.body)
			}
			value := scrape(t, g, adminHdr()...)
			for kind, want := range map[string]float64{"prompt": 3 * float64(prompt), "completion": 3 * float64(completion)} {
				if v := value("warmgate_tokens_total", "key", "budget", "model", tt.model, "kind", kind); v != want {
					t.Errorf("warmgate_tokens_total{kind=%q} = %v, want %v", kind, v, want)
				}
			}
			if want := fmt.Sprintf(`"prompt_tokens":%d,"completion_tokens":%d`, prompt, completion); strings.Count(g.logs.String(), want) != 3 {
				t.Errorf("the access log lacks the usage %s three times:\n%s", want, g.logs.String())
			}
		})
	}
}

// TestClaudeCodeExchange: what Claude Code sends, through paths a and c: a
// 60 KB system prompt, 20 tools, a streamed answer with a tool_use block,
// then the tool_result turn answered in text.
func TestClaudeCodeExchange(t *testing.T) {
	for _, p := range anthropicPaths {
		t.Run(p.name, func(t *testing.T) {
			m := startMock(t, mock.Options{Tokens: 3})
			g := kindGateway(t, m, p.kind, "")
			c := anthropicSDK(t, g, "KEY_PLAIN")
			system := strings.Repeat("You are a coding agent. Follow the repository's conventions. ", 1100)[:60<<10]
			params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 4096,
				System:   []anthropic.TextBlockParam{{Text: system, CacheControl: anthropic.NewCacheControlEphemeralParam()}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Read main.go and fix the bug."))}}
			for i := range 20 {
				params.Tools = append(params.Tools, weatherTool(fmt.Sprintf("tool_%02d", i)))
			}
			first, err := accumulate(t, c.Messages.NewStreaming(t.Context(), params))
			if err != nil {
				t.Fatalf("first turn: %v", err)
			}
			use := first.Content[len(first.Content)-1]
			if first.StopReason != "tool_use" || use.Type != "tool_use" || use.Name != "tool_00" || string(use.Input) != `{"city":"mock"}` {
				t.Fatalf("first turn = %+v, want a tool_use of tool_00", first)
			}
			params.Messages = append(params.Messages, first.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "package main\nfunc main() {}\n", false)))
			second, err := accumulate(t, c.Messages.NewStreaming(t.Context(), params))
			if err != nil {
				t.Fatalf("tool_result turn: %v", err)
			}
			if second.StopReason != "end_turn" || len(second.Content) != 1 || second.Content[0].Text != "word1 word2 word3" {
				t.Errorf("tool_result turn = %+v, want text", second)
			}
		})
	}
}

// TestMixedKindsGroups: a model served by upstreams of both kinds goes to
// those of the client's dialect first, untranslated, and to the others,
// translated, only when all of the first failed.
func TestMixedKindsGroups(t *testing.T) {
	ma, mo := startMock(t, mock.Options{Tokens: 2}), startMock(t, mock.Options{Tokens: 2})
	yaml := "upstreams:\n" +
		"  - {name: down, base_url: http://" + closedAddr(t) + "/v1, models: [\"both-*\"], " + fastRetry + "}\n" +
		kindYAML(t, "claude", ma, "anthropic", `models: ["both-*"]`, fastRetry) +
		kindYAML(t, "gpt", mo, "openai", `models: ["both-*"]`, fastRetry)
	g := startGateway(t, yaml, nil)
	tests := []struct{ name, path, body string }{
		{"anthropic client: its own group", "/v1/messages",
			`{"model":"both-1","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
		{"openai client: its own group, the dead upstream failed over", "/v1/chat/completions", chatBody("both-1", false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, http.MethodPost, tt.path, tt.body)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
		})
	}
	// Every OpenAI-compatible upstream down: the anthropic one answers, translated.
	_ = mo.Close()
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("both-1", false))
	if a.status != 200 || !strings.Contains(string(a.body), `"object":"chat.completion"`) {
		t.Fatalf("with the OpenAI upstreams down: %d %s", a.status, a.body)
	}
	logs := g.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	var last string
	for _, l := range lines {
		if strings.Contains(l, `"msg":"request"`) {
			last = l
		}
	}
	if !strings.Contains(last, `"upstream":"claude"`) || !strings.Contains(last, `"translated":true`) {
		t.Errorf("last request's log line: %s; want upstream claude, translated", last)
	}
	if strings.Count(logs, `"translated":true`) != 1 {
		t.Errorf("translated answers in the log: %d, want 1 (the first two went to the client's own dialect)\n%s",
			strings.Count(logs, `"translated":true`), logs)
	}
}

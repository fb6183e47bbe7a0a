// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Kind bedrock end to end: the mock speaks Bedrock Runtime's Converse API
// and checks each request's Signature Version 4, the official OpenAI and
// Anthropic SDKs are the clients, and every answer, stream (AWS event
// stream) and error is translated back.

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

	"github.com/warmgate/warmgate/internal/mock"
)

// The AWS credentials of the tests: the mock checks signatures with these.
const (
	awsKeyID  = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// bedrockModel is a Bedrock model id as clients name it (its ":" is part
// of the path segment).
const bedrockModel = "anthropic.claude-3-5-haiku-20241022-v1:0"

// bedrockMock is the mock with signature checks on.
func bedrockMock(t *testing.T, tokens int) *mock.Server {
	t.Helper()
	return startMock(t, mock.Options{Tokens: tokens, AWSAccessKeyID: awsKeyID, AWSSecretAccessKey: awsSecret})
}

// bedrockGateway serves the mock m's models through one upstream of kind
// bedrock signing with the AWS chain's secret, with the Anthropic tests'
// client keys.
func bedrockGateway(t *testing.T, m *mock.Server, secret, extra string) *gw {
	t.Helper()
	bedrockEnv(t, awsKeyID, secret)
	yaml := "upstreams:\n  - name: br\n    kind: bedrock\n    region: us-east-1\n    base_url: " + m.URL() + "\n" +
		"    models: [\"anthropic.*\", \"us.amazon.nova-lite-v1:0\"]\n    " + fastRetry + "\n    " + noCircuit + "\n" + anthropicKeysYAML + extra
	return startGateway(t, yaml, anthropicEnv)
}

// noSecret fails t when the AWS secret key is in the log or in body.
func noSecret(t *testing.T, g *gw, body string) {
	t.Helper()
	if strings.Contains(body, awsSecret) || strings.Contains(g.logs.String(), awsSecret) {
		t.Error("the AWS secret key reached the client or the log")
	}
}

// TestBedrockOpenAIClient: openai-go to an upstream of kind bedrock:
// plain and streamed answers with their usage, a tool call (plain and
// streamed) and the tool-result turn after it, Bedrock's errors in
// OpenAI's shape, and one throttle retried by the gateway, signed again.
func TestBedrockOpenAIClient(t *testing.T) {
	m := bedrockMock(t, 4)
	g := bedrockGateway(t, m, awsSecret, "")
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	ctx := t.Context()

	got, err := c.Chat.Completions.New(ctx, chatParams(bedrockModel))
	if err != nil {
		t.Fatalf("Chat.Completions.New: %v", err)
	}
	if len(got.Choices) != 1 || got.Choices[0].Message.Content != "word1 word2 word3 word4" || got.Choices[0].FinishReason != "stop" ||
		got.Usage.CompletionTokens != 4 || got.Usage.PromptTokens == 0 || got.Usage.TotalTokens != got.Usage.PromptTokens+4 ||
		got.Model != bedrockModel || !strings.HasPrefix(got.ID, "chatcmpl-") {
		t.Errorf("answer = %+v", got)
	}
	if !strings.Contains(g.logs.String(), `"translated":true`) {
		t.Errorf("access log does not say translated:\n%s", g.logs.String())
	}

	p := chatParams(bedrockModel)
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	acc, err := streamChat(t, c, p)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != got.Choices[0].Message.Content ||
		acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 4 || acc.Usage.PromptTokens != got.Usage.PromptTokens {
		t.Errorf("streamed = %+v, usage %+v; want the plain answer and its usage", acc.Choices, acc.Usage)
	}

	// A tool call, plain and streamed, then the turn with its result.
	checkToolTurns(t, c, bedrockModel)

	// Bedrock's errors, in OpenAI's shape; none retried but the throttle
	// and the 503 (which the mock repeats, so they fail in the end).
	for _, e := range []struct {
		name, fault string
		status      int
		typ, code   string
	}{
		{"unknown model", "status=404", 404, "not_found_error", ""},
		{"validation", "status=400", 400, "invalid_request_error", ""},
		{"throttled", "status=429", 429, "rate_limit_error", "rate_limit_exceeded"},
		{"unavailable", "status=503", 503, "server_error", "overloaded"},
		{"model timeout", "status=408", 504, "server_error", "timeout"},
		{"model error", "status=424", 502, "server_error", "model_error"},
	} {
		t.Run(e.name, func(t *testing.T) {
			_, err := c.Chat.Completions.New(ctx, chatParams(bedrockModel), option.WithHeader(mock.FaultHeader, e.fault))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || apiErr.Type != e.typ || apiErr.Code != e.code {
				t.Errorf("%v, want %d %s %s in OpenAI's shape", err, e.status, e.typ, e.code)
			}
		})
	}

	// One throttle, retried by the gateway: the retry is signed again
	// (the mock checks it before the fault) and answers.
	before := g.stats(t).Retries["status_429"]
	if _, err := c.Chat.Completions.New(ctx, chatParams(bedrockModel), option.WithHeader(mock.FaultHeader, "status=429,times=1")); err != nil {
		t.Errorf("after one 429: %v, want the gateway's retry to answer", err)
	}
	if n := g.stats(t).Retries["status_429"] - before; n != 1 {
		t.Errorf("status_429 retries = %d, want 1", n)
	}
	// A model timeout (408) and a model error (424) are not retried.
	before5 := g.stats(t).Retries["status_5xx"]
	for _, f := range []string{"status=408,times=1", "status=424,times=1"} {
		if _, err := c.Chat.Completions.New(ctx, chatParams(bedrockModel), option.WithHeader(mock.FaultHeader, f)); err == nil {
			t.Errorf("%s: answered, want the error (not retried)", f)
		}
	}
	if n := g.stats(t).Retries["status_5xx"] - before5; n != 0 {
		t.Errorf("408/424 retried %d times, want 0", n)
	}
	noSecret(t, g, "")
}

// TestBedrockAnthropicClient: anthropic-sdk-go to a bedrock upstream:
// plain and streamed messages, a tool_use and the tool_result turn after
// it, plain and streamed, and Bedrock's errors in Anthropic's shape.
func TestBedrockAnthropicClient(t *testing.T) {
	m := bedrockMock(t, 5)
	g := bedrockGateway(t, m, awsSecret, "")
	c := anthropicSDK(t, g, "KEY_PLAIN")
	ctx := t.Context()

	msg, err := c.Messages.New(ctx, hello(bedrockModel))
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "word1 word2 word3 word4 word5" || msg.StopReason != "end_turn" ||
		msg.Usage.OutputTokens != 5 || msg.Usage.InputTokens == 0 || string(msg.Model) != bedrockModel || !strings.HasPrefix(msg.ID, "msg_") {
		t.Errorf("message = %+v", msg)
	}
	acc, err := accumulate(t, c.Messages.NewStreaming(ctx, hello(bedrockModel)))
	if err != nil || len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text || acc.StopReason != "end_turn" ||
		acc.Usage.OutputTokens != 5 || acc.Usage.InputTokens != msg.Usage.InputTokens {
		t.Errorf("streamed = %+v, %v; want the plain answer", acc, err)
	}

	for _, stream := range []bool{false, true} {
		params := hello(bedrockModel)
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

	for _, e := range []struct {
		name, fault string
		status      int
		typ         string
	}{
		{"unknown model", "status=404", 404, "not_found_error"},
		{"validation", "status=400", 400, "invalid_request_error"},
		{"throttled", "status=429", 429, "rate_limit_error"},
		{"unavailable", "status=503", 503, "overloaded_error"},
	} {
		t.Run(e.name, func(t *testing.T) {
			_, err := c.Messages.New(ctx, hello(bedrockModel), aoption.WithHeader(mock.FaultHeader, e.fault))
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || string(apiErr.Type()) != e.typ {
				t.Errorf("%v, want %d %s in Anthropic's shape", err, e.status, e.typ)
			}
		})
	}
	noSecret(t, g, "")
}

// TestBedrockBadSignature: a gateway whose AWS secret is wrong gets
// Bedrock's 403 InvalidSignatureException: each client gets a 403
// permission error in its dialect, and the secret reaches neither the
// client nor the log.
func TestBedrockBadSignature(t *testing.T) {
	m := bedrockMock(t, 2)
	const wrong = "wrongSecretKeyForTheMockOnly0123456789abc"
	g := bedrockGateway(t, m, wrong, "")
	auth := []string{"Authorization", "Bearer " + anthropicEnv["KEY_PLAIN"]}
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(bedrockModel, false), auth...)
	if a.status != 403 || !strings.Contains(string(a.body), `"type":"permission_error"`) {
		t.Errorf("OpenAI client: %d %s, want 403 permission_error", a.status, a.body)
	}
	b := g.do(t, http.MethodPost, "/v1/messages", `{"model":"`+bedrockModel+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, auth...)
	if b.status != 403 || !strings.Contains(string(b.body), `"type":"error"`) || !strings.Contains(string(b.body), `"type":"permission_error"`) {
		t.Errorf("Anthropic client: %d %s, want 403 permission_error", b.status, b.body)
	}
	for _, s := range []string{wrong, awsSecret} {
		if strings.Contains(string(a.body)+string(b.body)+g.logs.String(), s) {
			t.Errorf("an AWS secret reached the client or the log")
		}
	}
}

// TestBedrockStreamFailures: a ConverseStream cut mid-way, or ended by an
// exception mid-way, ends for each client in its dialect's error event
// after the text that came, never in a made-up end.
func TestBedrockStreamFailures(t *testing.T) {
	m := bedrockMock(t, 6)
	g := bedrockGateway(t, m, awsSecret, "")
	for _, fault := range []string{"reset_after_chunks=3", "exception_after_chunks=3"} {
		for _, tt := range []struct {
			name, path, body string
			wantErr          string // in the last event
			notEnd           string // an end that must not come
		}{
			{"openai", "/v1/chat/completions", chatBody(bedrockModel, true), `"error":{`, "[DONE]"},
			{"anthropic", "/v1/messages", `{"model":"` + bedrockModel + `","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
				`"type":"error"`, "message_stop"},
		} {
			t.Run(fault+"/"+tt.name, func(t *testing.T) {
				resp := g.send(t, t.Context(), http.MethodPost, tt.path, tt.body, "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"],
					mock.FaultHeader, fault)
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
				if strings.HasPrefix(fault, "exception") && !strings.Contains(last.data, "model failed while streaming") {
					t.Errorf("last event %s, want the exception's message", last.data)
				}
				for _, ev := range evs {
					if strings.Contains(ev.data, tt.notEnd) || ev.name == tt.notEnd {
						t.Errorf("a failed stream ended with %s: %v", tt.notEnd, evs)
					}
				}
			})
		}
	}
	noSecret(t, g, "")
}

// TestBedrockUsageCounted: the usage Bedrock reports, plain and streamed,
// is what the gateway counts: the tokens metric, the access log and the
// key's budget.
func TestBedrockUsageCounted(t *testing.T) {
	m := bedrockMock(t, 6)
	env := maps.Clone(anthropicEnv)
	env["KEY_B"] = "sk-wg-budget-0123456789"
	body := `{"model":"` + bedrockModel + `","stream":%v,"messages":[{"role":"user","content":"hello there"}]}`
	// What the upstream reports, through a gateway without budgets.
	plain := bedrockGateway(t, m, awsSecret, "")
	d := plain.do(t, http.MethodPost, "/v1/chat/completions", fmt.Sprintf(body, false), "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"])
	var prompt, completion int
	if _, err := fmt.Sscanf(string(d.body[strings.Index(string(d.body), `"prompt_tokens":`):]), `"prompt_tokens":%d,"completion_tokens":%d`, &prompt, &completion); err != nil || completion != 6 {
		t.Fatalf("usage of %s: %v", d.body, err)
	}
	cost := float64(prompt+completion) * 1000 / 1e6
	yaml := "upstreams:\n  - name: br\n    kind: bedrock\n    region: us-east-1\n    base_url: " + m.URL() + "\n" +
		"    models: [\"anthropic.*\"]\n    " + noCircuit + "\n" +
		strings.Replace(anthropicKeysYAML, "keys:\n", "keys:\n"+fmt.Sprintf("  - {name: budget, key_env: KEY_B, budget_daily: %v}\n", 2.5*cost), 1) +
		fmt.Sprintf("prices: {%q: {prompt: 1000, completion: 1000}}\n", bedrockModel)
	g := startGateway(t, yaml, env)
	auth := []string{"Authorization", "Bearer " + env["KEY_B"]}
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
	value := scrape(t, g, "Authorization", "Bearer "+env["ADMIN_KEY"])
	for kind, want := range map[string]float64{"prompt": 3 * float64(prompt), "completion": 3 * float64(completion)} {
		if v := value("warmgate_tokens_total", "key", "budget", "model", bedrockModel, "kind", kind); v != want {
			t.Errorf("warmgate_tokens_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	if want := fmt.Sprintf(`"prompt_tokens":%d,"completion_tokens":%d`, prompt, completion); strings.Count(g.logs.String(), want) != 3 {
		t.Errorf("the access log lacks the usage %s three times:\n%s", want, g.logs.String())
	}
	noSecret(t, g, "")
}

// TestBedrockModelsListed: GET /v1/models lists a bedrock upstream's
// configured model names (Bedrock Runtime has no model list), not its
// globs; GET /v1/models/{id} describes a model a glob matches.
func TestBedrockModelsListed(t *testing.T) {
	m := bedrockMock(t, 2)
	g := bedrockGateway(t, m, awsSecret, "")
	a := g.do(t, http.MethodGet, "/v1/models", "", "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"])
	if a.status != 200 || !strings.Contains(string(a.body), `"id":"us.amazon.nova-lite-v1:0"`) || strings.Contains(string(a.body), `anthropic.*`) {
		t.Errorf("GET /v1/models: %d %s, want us.amazon.nova-lite-v1:0 and no glob", a.status, a.body)
	}
	// A model its glob matches: described by the gateway, not asked of
	// Bedrock (which has no such request).
	a = g.do(t, http.MethodGet, "/v1/models/anthropic.claude-foo", "", "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"])
	if a.status != 200 || !strings.Contains(string(a.body), `"id":"anthropic.claude-foo"`) || !strings.Contains(string(a.body), `"owned_by":"br"`) {
		t.Errorf("GET /v1/models/anthropic.claude-foo: %d %s, want its entry", a.status, a.body)
	}
}

// TestBedrockRouting: the model goes into Converse's path escaped as the
// SDKs do (an ARN's ":" and "/"), /converse-stream for a stream; the
// client's Accept and its own API's headers are not sent; Bedrock's
// request id comes back as X-Upstream-Request-Id; a request without a
// model (passthrough) is a 404 in the client's dialect, never sent to
// Bedrock, and a path other than chat completions and messages for a
// bedrock model a 400.
func TestBedrockRouting(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath()+" accept="+r.Header.Get("Accept")+" beta="+r.Header.Get("Openai-Beta")+r.Header.Get("Anthropic-Version"))
		mu.Unlock()
		w.Header().Set("X-Amzn-Requestid", "aws-req-1")
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon.bedrock/")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Could not resolve the foundation model."}`))
	}))
	t.Cleanup(up.Close)
	bedrockEnv(t, awsKeyID, awsSecret)
	arn := "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude"
	yaml := "upstreams:\n  - {name: br, kind: bedrock, region: us-east-1, base_url: \"" + up.URL + "\", models: [\"*\"], " + noCircuit + "}\n"
	g := startGateway(t, yaml, nil)
	for _, stream := range []bool{false, true} {
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody(arn, stream), "Accept", "text/event-stream", "OpenAI-Beta", "assistants=v2")
		if !stream && (a.status != 404 || a.header.Get("X-Upstream-Request-Id") != "aws-req-1" || !strings.Contains(string(a.body), "Could not resolve")) {
			t.Errorf("stream=%v: %d %v %s", stream, a.status, a.header, a.body)
		}
	}
	a := g.do(t, http.MethodPost, "/v1/messages", `{"model":"`+arn+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		"Anthropic-Version", "2023-06-01")
	if a.status != 404 || !strings.Contains(string(a.body), `"type":"not_found_error"`) {
		t.Errorf("messages: %d %s", a.status, a.body)
	}
	if strings.Contains(g.logs.String(), "has no API key of its own") {
		t.Errorf("the log says a bedrock upstream gets the clients' keys:\n%s", g.logs.String())
	}
	esc := "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude"
	mu.Lock()
	for _, want := range []string{"POST " + esc + "/converse accept= beta=", "POST " + esc + "/converse-stream accept= beta="} {
		if !slices.Contains(seen, want) {
			t.Errorf("upstream saw %q, want %q among them", seen, want)
		}
	}
	n := len(seen)
	mu.Unlock()

	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"passthrough without a model", http.MethodGet, "/v1/files", "", 404, `"code":"route_not_supported"`},
		{"completions", http.MethodPost, "/v1/completions", `{"model":"x","prompt":"hi"}`, 400, "upstreams of kind bedrock"},
		{"embeddings", http.MethodPost, "/v1/embeddings", `{"model":"x","input":"hi"}`, 400, "upstreams of kind bedrock"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, tt.method, tt.path, tt.body)
			if a.status != tt.status || !strings.Contains(string(a.body), tt.want) || !strings.Contains(string(a.body), `"error":{`) {
				t.Errorf("%d %s, want %d with %s", a.status, a.body, tt.status, tt.want)
			}
		})
	}
	mu.Lock()
	if len(seen) != n {
		t.Errorf("refused requests reached the upstream: %q", seen[n:])
	}
	mu.Unlock()
}

// TestBedrockWarmNotFoundHint: a bedrock upstream whose warm-up answered
// 404 is told to check its endpoint, not to add /v1 (Bedrock has none).
func TestBedrockWarmNotFoundHint(t *testing.T) {
	m := bedrockMock(t, 2)
	bedrockEnv(t, awsKeyID, awsSecret)
	g := startGateway(t, fmt.Sprintf("upstreams:\n  - {name: br, kind: bedrock, region: us-east-1, base_url: %q}\n", m.URL()+"/wrong"), nil)
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	g.Warm(ctx)
	logs := g.logs.String()
	if g.stats(t).WarmStatus != http.StatusNotFound || strings.Contains(logs, "lacks /v1") ||
		strings.Count(logs, "it is Bedrock Runtime's endpoint (https://bedrock-runtime.REGION.amazonaws.com") != 1 {
		t.Errorf("warm-up status %d; want one hint to check the endpoint, none about /v1:\n%s", g.stats(t).WarmStatus, logs)
	}
}

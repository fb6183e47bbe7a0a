// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Kind azure end to end: the gateway in front of the mock speaking Azure
// OpenAI (its deployment style and its v1 API), with the official OpenAI
// and Anthropic SDKs as clients.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/warmgate/warmgate/internal/mock"
)

// azureKey is the Azure upstream's key, which the mock checks in api-key.
const azureKey = "az-upstream-secret-0123"

// azureMock is a mock speaking Azure whose deployments are my-gpt-4o (the
// deployments map's name for gpt-4o) and the mock's own model names.
func azureMock(t *testing.T) *mock.Server {
	return startMock(t, mock.Options{Tokens: 4, APIKey: azureKey,
		AzureDeployments: []string{"my-gpt-4o", "gpt-4.1-mini", "text-embedding-3-small"}})
}

// azureYAML is an upstream of kind azure for the mock m: the deployment
// style (style "deployment": the resource's root, api_version, the
// deployments map) or the v1 API (base URL ending in /openai/v1).
func azureYAML(m *mock.Server, style string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: azure\n    kind: azure\n")
	if style == "deployment" {
		fmt.Fprintf(&b, "    base_url: %s\n    api_version: \"2024-10-21\"\n    deployments: {\"gpt-4o\": \"my-gpt-4o\"}\n", m.URL())
	} else {
		fmt.Fprintf(&b, "    base_url: %s/openai/v1\n", m.URL())
	}
	b.WriteString("    models: [\"gpt-*\", \"text-embedding-*\"]\n    " + fastRetry + "\n    " + noCircuit + "\n")
	for _, e := range extra {
		b.WriteString("    " + e + "\n")
	}
	return b.String()
}

// azureEnv is the Anthropic tests' keys plus the Azure upstream's.
func azureEnv() map[string]string {
	env := map[string]string{"AZ_KEY": azureKey}
	for k, v := range anthropicEnv {
		env[k] = v
	}
	return env
}

func azureGateway(t *testing.T, m *mock.Server, style string, extra ...string) *gw {
	t.Helper()
	return startGateway(t, "upstreams:\n"+azureYAML(m, style, append([]string{"api_key_env: AZ_KEY"}, extra...)...)+anthropicKeysYAML, azureEnv())
}

var azureStyles = []string{"deployment", "v1"}

// TestAzureOpenAISDK: an OpenAI client, relayed byte for byte to Azure in
// both URL styles: plain, streamed, tools, embeddings; the key goes out as
// api-key, never Authorization; the usage is counted; Azure's errors
// (content filter, unknown deployment, throttling) reach the client as
// OpenAI-shaped errors, and a throttle with retry-after-ms is retried
// after it.
func TestAzureOpenAISDK(t *testing.T) {
	for _, style := range azureStyles {
		t.Run(style, func(t *testing.T) {
			m := azureMock(t)
			g := azureGateway(t, m, style)
			c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
			ctx := t.Context()
			model := "gpt-4o" // the deployment style sends it to my-gpt-4o: the mock knows no other name for it
			if style == "v1" {
				model = "gpt-4.1-mini"
			}

			var raw *http.Response
			got, err := c.Chat.Completions.New(ctx, chatParams(model), option.WithResponseInto(&raw))
			if err != nil {
				t.Fatalf("Chat.Completions.New: %v", err)
			}
			if len(got.Choices) != 1 || got.Choices[0].Message.Content != "word1 word2 word3 word4" || got.Choices[0].FinishReason != "stop" ||
				got.Usage.CompletionTokens != 4 || got.Usage.PromptTokens == 0 {
				t.Errorf("answer = %+v", got)
			}
			if raw.Header.Get("X-Mock-Has-Authorization") != "false" {
				t.Error("an Authorization header went to the Azure upstream; its key goes as api-key")
			}
			if want := `"completion_tokens":4`; !strings.Contains(g.logs.String(), want) {
				t.Errorf("the access log lacks the usage %s:\n%s", want, g.logs.String())
			}

			p := chatParams(model)
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
			if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "word1 word2 word3 word4" || acc.Usage.CompletionTokens != 4 {
				t.Errorf("streamed = %+v, usage %+v", acc.Choices, acc.Usage)
			}

			tp := chatParams(model)
			tp.Tools = []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
					"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}})}
			tc, err := c.Chat.Completions.New(ctx, tp)
			if err != nil {
				t.Fatalf("tools: %v", err)
			}
			if calls := tc.Choices[0].Message.ToolCalls; tc.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "get_weather" {
				t.Errorf("tool answer = %+v", tc.Choices[0])
			}

			emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small",
				Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}})
			if err != nil || len(emb.Data) != 1 || len(emb.Data[0].Embedding) == 0 {
				t.Errorf("embeddings: %+v, %v", emb, err)
			}

			// The content filter: a refused prompt is Azure's 400, passed on
			// as it is (OpenAI's shape, code content_filter); a filtered
			// completion is an answer with finish_reason content_filter.
			_, err = c.Chat.Completions.New(ctx, chatParams(model), option.WithHeader(mock.FaultHeader, "content_filter=1"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "content_filter" || !strings.Contains(apiErr.Message, "content management policy") {
				t.Errorf("a filtered prompt: %v, want 400 content_filter", err)
			}
			cf, err := c.Chat.Completions.New(ctx, chatParams(model), option.WithHeader(mock.FaultHeader, "content_filter=output"))
			if err != nil || cf.Choices[0].FinishReason != "content_filter" {
				t.Errorf("a filtered completion: %+v, %v; want finish_reason content_filter", cf, err)
			}

			// Throttled once, retry-after-ms 50: retried after it, then answered.
			if _, err := c.Chat.Completions.New(ctx, chatParams(model), option.WithHeader(mock.FaultHeader, "retry_after_ms=50,times=1")); err != nil {
				t.Errorf("after a 429 with retry-after-ms: %v", err)
			}
			if st := g.stats(t); st.Retries["status_429"] != 1 {
				t.Errorf("status_429 retries = %d, want 1", st.Retries["status_429"])
			}
			// Throttled for longer than the pool may wait (retry-after-ms
			// read: a minute): not retried, the 429 and its retry-after-ms
			// passed on to the client, whose SDK waits that long.
			_, err = c.Chat.Completions.New(ctx, chatParams(model), option.WithHeader(mock.FaultHeader, "retry_after_ms=60000"), option.WithResponseInto(&raw))
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || raw.Header.Get("Retry-After-Ms") != "60000" {
				t.Errorf("a 429 asking for a minute: %v, retry-after-ms %q; want the 429 with retry-after-ms 60000", err, raw.Header.Get("Retry-After-Ms"))
			}
			if st := g.stats(t); st.Retries["status_429"] != 1 {
				t.Errorf("status_429 retries = %d, want still 1 (a wait past max_retry_after is not waited)", st.Retries["status_429"])
			}

			if style == "deployment" { // a model with no deployment of that name: Azure's 404
				_, err = c.Chat.Completions.New(ctx, chatParams("gpt-unknown"))
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "DeploymentNotFound" {
					t.Errorf("unknown deployment: %v, want 404 DeploymentNotFound", err)
				}
			}
		})
	}
}

// TestAzureBadKey: the upstream refusing the gateway's key is Azure's 401,
// passed on to an OpenAI client; the key is in no log line.
func TestAzureBadKey(t *testing.T) {
	for _, style := range azureStyles {
		t.Run(style, func(t *testing.T) {
			m := azureMock(t)
			env := azureEnv()
			env["AZ_KEY"] = "az-wrong-key-0123"
			g := startGateway(t, "upstreams:\n"+azureYAML(m, style, "api_key_env: AZ_KEY")+anthropicKeysYAML, env)
			c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
			_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "401" {
				t.Errorf("%v, want Azure's 401", err)
			}
			if strings.Contains(g.logs.String(), "az-wrong-key") {
				t.Error("the upstream key is in the gateway's log")
			}
		})
	}
}

// TestAzureAnthropicSDK: an Anthropic client on /v1/messages, translated to
// an Azure upstream (OpenAI's dialect): plain, streamed, tools; Azure's
// errors become Anthropic's, a filtered completion's stop reason is
// refusal.
func TestAzureAnthropicSDK(t *testing.T) {
	for _, style := range azureStyles {
		t.Run(style, func(t *testing.T) {
			m := azureMock(t)
			g := azureGateway(t, m, style)
			c := anthropicSDK(t, g, "KEY_PLAIN")
			ctx := t.Context()
			model := "gpt-4.1-mini"

			msg, err := c.Messages.New(ctx, hello(model))
			if err != nil {
				t.Fatalf("Messages.New: %v", err)
			}
			if len(msg.Content) != 1 || msg.Content[0].Text != "word1 word2 word3 word4" || msg.StopReason != "end_turn" || msg.Usage.OutputTokens != 4 {
				t.Errorf("message = %+v", msg)
			}
			acc, err := accumulate(t, c.Messages.NewStreaming(ctx, hello(model)))
			if err != nil || len(acc.Content) != 1 || acc.Content[0].Text != msg.Content[0].Text || acc.Usage.OutputTokens != 4 {
				t.Errorf("streamed = %+v, %v", acc, err)
			}
			tools := hello(model)
			tools.Tools = []anthropic.ToolUnionParam{weatherTool("get_weather")}
			tm, err := c.Messages.New(ctx, tools)
			if err != nil || tm.StopReason != "tool_use" || tm.Content[len(tm.Content)-1].Name != "get_weather" {
				t.Errorf("tools: %+v, %v", tm, err)
			}

			for _, e := range []struct {
				fault  string
				status int
				typ    string
			}{
				{"content_filter=1", 400, "invalid_request_error"},
				{"status=401", 401, "authentication_error"},
				{"retry_after_ms=60000", 429, "rate_limit_error"},
			} {
				var raw *http.Response
				_, err := c.Messages.New(ctx, hello(model), aoption.WithHeader(mock.FaultHeader, e.fault), aoption.WithResponseInto(&raw))
				var apiErr *anthropic.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != e.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+e.typ+`"`) {
					t.Errorf("%s: %v, want %d %s in Anthropic's shape", e.fault, err, e.status, e.typ)
				}
				if e.status == 429 && raw.Header.Get("Retry-After-Ms") != "60000" {
					t.Errorf("retry-after-ms %q not passed on", raw.Header.Get("Retry-After-Ms"))
				}
			}
			cf, err := c.Messages.New(ctx, hello(model), aoption.WithHeader(mock.FaultHeader, "content_filter=output"))
			if err != nil || cf.StopReason != "refusal" {
				t.Errorf("a filtered completion: %+v, %v; want stop_reason refusal", cf, err)
			}
		})
	}
}

// TestAzureEntraTokenFile: with entra_token_file, the token goes out as a
// bearer token, and a renewed token is used as soon as the file changes,
// without a reload.
func TestAzureEntraTokenFile(t *testing.T) {
	m := azureMock(t) // it takes azureKey as a bearer token too: the stand-in for a valid Entra ID token
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("expired-token-0123", t0)
	g := startGateway(t, "upstreams:\n"+azureYAML(m, "deployment", "entra_token_file: "+path)+anthropicKeysYAML, azureEnv())
	c := sdkClient(t, g, anthropicEnv["KEY_PLAIN"])
	_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4o"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("with the expired token: %v, want 401", err)
	}
	write(azureKey, t0.Add(time.Minute)) // renewed
	var raw *http.Response
	if _, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4o"), option.WithResponseInto(&raw)); err != nil {
		t.Fatalf("after the token file changed: %v", err)
	}
	if raw.Header.Get("X-Mock-Has-Authorization") != "true" {
		t.Error("the token did not go out as Authorization")
	}
}

// TestAzureEntraTokenNotTheClients: on an open gateway (no client keys),
// an Azure upstream with an Entra ID token is not keyless: it gets its
// token, never the client's Authorization, nor the billing selectors that
// go only with the client's own credentials.
func TestAzureEntraTokenNotTheClients(t *testing.T) {
	seen := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- r.Header.Clone():
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4.1-mini","choices":[]}`)
	}))
	t.Cleanup(srv.Close)
	yaml := "upstreams:\n  - {name: azure, kind: azure, base_url: \"" + srv.URL + "/openai/v1\", entra_token_env: AZ_TOKEN}\n"
	g := startGateway(t, yaml, map[string]string{"AZ_TOKEN": "entra-token"})
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"Authorization", "Bearer client-own-key", "OpenAI-Organization", "org-client")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	h := <-seen
	if h.Get("Authorization") != "Bearer entra-token" || h.Get("Openai-Organization") != "" {
		t.Errorf("the upstream got Authorization %q, OpenAI-Organization %q; want the token and no organization",
			h.Get("Authorization"), h.Get("Openai-Organization"))
	}
}

// TestAzureModels: GET /v1/models lists the Azure upstream's own list
// (filtered by its models globs) and the deployments map's models.
func TestAzureModels(t *testing.T) {
	for _, style := range azureStyles {
		t.Run(style, func(t *testing.T) {
			m := azureMock(t)
			g := azureGateway(t, m, style)
			a := g.do(t, http.MethodGet, "/v1/models", "", "Authorization", "Bearer "+anthropicEnv["KEY_PLAIN"])
			want := []string{`"gpt-4.1-mini"`, `"text-embedding-3-small"`}
			if style == "deployment" {
				want = append(want, `"gpt-4o"`)
			}
			for _, id := range want {
				if a.status != 200 || !strings.Contains(string(a.body), id) {
					t.Errorf("GET /v1/models lacks %s: %d %s", id, a.status, a.body)
				}
			}
			g.Pool.Warm(t.Context())
			if st := g.stats(t); st.WarmStatus != http.StatusOK {
				t.Errorf("warm-up status %d, want 200 (GET of the kind's models path, with its api-version)", st.WarmStatus)
			}
		})
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// End to end with the official SDK: openai-go talks to the gateway exactly
// as an application would (option.WithBaseURL(gateway/v1)), the gateway to
// the mock over plain HTTP/1.1 or over TLS with HTTP/2.

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/warmgate/warmgate/internal/mock"
)

// upstreamModes are the ways the gateway reaches the mock.
var upstreamModes = []struct {
	name string
	opts mock.Options
	h2   bool
}{
	{name: "h1", opts: mock.Options{}},
	{name: "tls-h2", opts: mock.Options{TLS: true}, h2: true},
}

// sdkClient is an openai-go client for the gateway g, with its own
// transport (closed when the test ends) and no SDK retries, so that what
// the test sees is what the gateway answered.
func sdkClient(t *testing.T, g *gw, key string) openai.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return openai.NewClient(
		option.WithBaseURL(g.URL()+"/"),
		option.WithAPIKey(key),
		option.WithHTTPClient(&http.Client{Transport: tr}),
		option.WithMaxRetries(0),
	)
}

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say something.")},
	}
}

// checkH2 asserts that the gateway reached a TLS mock over HTTP/2.
func checkH2(t *testing.T, g *gw, m *mock.Server, want bool) {
	t.Helper()
	if !want {
		return
	}
	if st := g.stats(t); st.OpenedH2 == 0 {
		t.Errorf("upstream connections opened over h2 = 0 (h1: %d), want HTTP/2 to the TLS mock", st.OpenedH1)
	}
	if ms := m.Stats(); ms.TLSHandshakes == 0 {
		t.Errorf("mock TLS handshakes = 0, want TLS")
	}
}

func TestSDKChatCompletion(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.Tokens = 7
			m := startMock(t, opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			c := sdkClient(t, g, "sk-client")

			// What the mock itself answers, without the gateway.
			direct := mockDirect(t, m, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
			var want openai.ChatCompletion
			if err := want.UnmarshalJSON(direct.body); err != nil || len(want.Choices) == 0 {
				t.Fatalf("mock answer: %v: %s", err, direct.body)
			}

			got, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"))
			if err != nil {
				t.Fatalf("Chat.Completions.New: %v", err)
			}
			if len(got.Choices) != 1 {
				t.Fatalf("choices = %d, want 1", len(got.Choices))
			}
			if g, w := got.Choices[0].Message.Content, want.Choices[0].Message.Content; g != w || g == "" {
				t.Errorf("content = %q, want the mock's %q", g, w)
			}
			if got.Model != "gpt-4.1-mini" || got.Usage.CompletionTokens != 7 {
				t.Errorf("model %q, completion tokens %d; want gpt-4.1-mini, 7", got.Model, got.Usage.CompletionTokens)
			}
			checkH2(t, g, m, mode.h2)
		})
	}
}

func TestSDKChatCompletionStream(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := mode.opts
			opts.Tokens = 6
			m := startMock(t, opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			c := sdkClient(t, g, "sk-client")

			plain, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"))
			if err != nil {
				t.Fatalf("non-streamed: %v", err)
			}
			want := plain.Choices[0].Message.Content

			p := chatParams("gpt-4.1-mini")
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(t.Context(), p)
			defer stream.Close()
			var content strings.Builder
			chunks := 0
			var usage *openai.CompletionUsage
			for stream.Next() {
				ch := stream.Current()
				chunks++
				if len(ch.Choices) > 0 {
					content.WriteString(ch.Choices[0].Delta.Content)
				}
				if ch.JSON.Usage.Valid() && ch.Usage.TotalTokens > 0 {
					u := ch.Usage
					usage = &u
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if chunks < 2 {
				t.Errorf("chunks = %d, want more than one", chunks)
			}
			if content.String() != want {
				t.Errorf("streamed content = %q, want the non-streamed %q", content.String(), want)
			}
			if usage == nil {
				t.Fatal("no usage chunk, though stream_options.include_usage was set")
			}
			if usage.CompletionTokens != 6 || usage.TotalTokens != usage.PromptTokens+6 {
				t.Errorf("usage = %+v, want 6 completion tokens", *usage)
			}
			checkH2(t, g, m, mode.h2)
		})
	}
}

func TestSDKEmbeddings(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			g := startGateway(t, defaultYAML(t, m), nil)
			c := sdkClient(t, g, "sk-client")
			res, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{
				Model: "text-embedding-3-small",
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"one", "two"}},
			})
			if err != nil {
				t.Fatalf("Embeddings.New: %v", err)
			}
			if len(res.Data) != 2 {
				t.Fatalf("embeddings = %d, want 2", len(res.Data))
			}
			for i, d := range res.Data {
				if d.Index != int64(i) || len(d.Embedding) != 8 {
					t.Errorf("embedding %d: index %d, %d floats; want index %d, 8 floats", i, d.Index, len(d.Embedding), i)
				}
			}
			if res.Usage.PromptTokens == 0 {
				t.Error("embedding usage has no prompt tokens")
			}
			checkH2(t, g, m, mode.h2)
		})
	}
}

func TestSDKModelsList(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			// Only gpt-4.1* is routed: the list must be the mock's list
			// filtered by the upstream's globs.
			g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "mock", m, `models: ["gpt-4.1*"]`), nil)
			c := sdkClient(t, g, "sk-client")
			page, err := c.Models.List(t.Context())
			if err != nil {
				t.Fatalf("Models.List: %v", err)
			}
			var ids []string
			for _, md := range page.Data {
				ids = append(ids, md.ID)
				if md.Object != "model" {
					t.Errorf("model %q: object %q, want model", md.ID, md.Object)
				}
			}
			slices.Sort(ids)
			if want := []string{"gpt-4.1", "gpt-4.1-mini"}; !slices.Equal(ids, want) {
				t.Errorf("models = %q, want %q (the mock's models matching gpt-4.1*)", ids, want)
			}
			checkH2(t, g, m, mode.h2)
		})
	}
}

// TestSDKErrors: the SDK surfaces the gateway's own errors as *openai.Error
// with the gateway's status, code and message.
func TestSDKErrors(t *testing.T) {
	for _, mode := range upstreamModes {
		t.Run(mode.name, func(t *testing.T) {
			m := startMock(t, mode.opts)
			env := map[string]string{"CLIENT_KEY": "sk-team-a-0123456789"}
			yaml := defaultYAML(t, m) + "keys:\n  - name: team-a\n    key_env: CLIENT_KEY\n"
			g := startGateway(t, yaml, env)

			t.Run("unknown model", func(t *testing.T) {
				c := sdkClient(t, g, env["CLIENT_KEY"])
				_, err := c.Chat.Completions.New(t.Context(), chatParams("no-such-model"))
				apiErr := sdkError(t, err, http.StatusNotFound)
				if apiErr.Code != "model_not_found" || !strings.Contains(apiErr.Message, "no-such-model") {
					t.Errorf("code %q, message %q; want model_not_found naming no-such-model", apiErr.Code, apiErr.Message)
				}
			})
			t.Run("wrong key", func(t *testing.T) {
				c := sdkClient(t, g, "sk-wrong")
				_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"))
				apiErr := sdkError(t, err, http.StatusUnauthorized)
				if apiErr.Code != "invalid_api_key" || apiErr.Type != "authentication_error" {
					t.Errorf("code %q, type %q; want invalid_api_key, authentication_error", apiErr.Code, apiErr.Type)
				}
			})
			t.Run("right key", func(t *testing.T) {
				c := sdkClient(t, g, env["CLIENT_KEY"])
				if _, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini")); err != nil {
					t.Fatalf("with the configured key: %v", err)
				}
			})
			t.Run("upstream error passes through", func(t *testing.T) {
				c := sdkClient(t, g, env["CLIENT_KEY"])
				_, err := c.Chat.Completions.New(t.Context(), chatParams("gpt-4.1-mini"),
					option.WithHeader(mock.FaultHeader, "status=422"))
				apiErr := sdkError(t, err, http.StatusUnprocessableEntity)
				if !strings.Contains(apiErr.Message, "Mock fault: 422") {
					t.Errorf("message %q, want the mock's", apiErr.Message)
				}
			})
			checkH2(t, g, m, mode.h2)
		})
	}
}

// sdkError asserts that err is an *openai.Error with the given status.
func sdkError(t *testing.T, err error, status int) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *openai.Error", err, err)
	}
	if apiErr.StatusCode != status {
		t.Fatalf("status = %d, want %d (%s)", apiErr.StatusCode, status, apiErr.RawJSON())
	}
	if apiErr.Message == "" {
		t.Errorf("SDK error has no message: %s", apiErr.RawJSON())
	}
	return apiErr
}

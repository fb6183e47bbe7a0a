// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Anthropic's Messages API at the gateway's edge, relayed byte for byte to
// an upstream that speaks it (here an httptest server answering as
// Anthropic's API does), with the official anthropic-sdk-go as the client.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicStream is what the test upstream streams: Anthropic's events
// for a two-delta text answer, with Anthropic's own ping among them, and
// usage in message_start (input, cache read and cache creation) and
// message_delta (output).
var anthropicStream = []string{
	"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-test\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"cache_creation_input_tokens\":3,\"output_tokens\":1}}}\n\n",
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
	"event: ping\ndata: {\"type\": \"ping\"}\n\n",
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n",
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n",
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
}

// anthropicMessage is the test upstream's non-streamed answer.
const anthropicMessage = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-test",` +
	`"content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,` +
	`"usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":5,"output_tokens":7}}`

// anthropicUp is an upstream that answers as Anthropic's API does, and
// records what it received. The model chooses its behaviour:
// "claude-cut" ends its stream cleanly before message_stop,
// "claude-abort" breaks the connection mid-stream, "claude-slow" waits
// before its first event, "claude-529" answers Anthropic's overloaded
// error.
type anthropicUp struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
}

func startAnthropicUp(t *testing.T) *anthropicUp {
	t.Helper()
	u := &anthropicUp{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *anthropicUp) last() ([]byte, http.Header) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		return nil, nil
	}
	return u.bodies[len(u.bodies)-1], u.hdrs[len(u.hdrs)-1]
}

func (u *anthropicUp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.bodies, u.hdrs = append(u.bodies, body), append(u.hdrs, r.Header.Clone())
	u.mu.Unlock()
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	w.Header().Set("Request-Id", "req_upstream_1")
	switch {
	case r.URL.Path == "/v1/messages/count_tokens":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"input_tokens":12}`)
		return
	case r.URL.Path != "/v1/messages":
		http.NotFound(w, r)
		return
	case req.Model == "claude-529":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(529)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_upstream_1"}`)
		return
	case !req.Stream:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, anthropicMessage)
		return
	}
	if req.Model == "claude-slow" {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for i, ev := range anthropicStream {
		if i == 4 && req.Model == "claude-abort" {
			panic(http.ErrAbortHandler)
		}
		if i == len(anthropicStream)-1 && req.Model == "claude-cut" {
			return
		}
		_, _ = io.WriteString(w, ev)
		w.(http.Flusher).Flush()
	}
}

// Keys of the Anthropic tests, by their environment variable.
var anthropicEnv = map[string]string{
	"KEY_PLAIN": "sk-wg-plain-0123456789abcdef",
	"KEY_ONE":   "sk-wg-one-0123456789abcdef",
	"KEY_RPM":   "sk-wg-rpm-0123456789abcdef",
	"ADMIN_KEY": "sk-wg-admin-0123456789abcdef",
	"UP_KEY":    "sk-upstream-secret",
}

const anthropicKeysYAML = `keys:
  - name: plain
    key_env: KEY_PLAIN
  - name: one-model
    key_env: KEY_ONE
    models: ["claude-test"]
  - name: rpm1
    key_env: KEY_RPM
    rpm: 1
admin: {key_env: ADMIN_KEY}
`

// anthropicGateway serves the upstream u's claude-* models, with the
// test keys and extra config lines.
func anthropicGateway(t *testing.T, u *anthropicUp, extra string) *gw {
	t.Helper()
	yaml := "upstreams:\n  - name: anth\n    kind: anthropic\n    base_url: " + u.URL + "/v1\n    api_key_env: UP_KEY\n" +
		"    models: [\"claude-*\"]\n    retry: {attempts: 1}\n    " + noCircuit + "\n" + anthropicKeysYAML + extra
	return startGateway(t, yaml, anthropicEnv)
}

// anthropicSDK is the official anthropic SDK pointed at the gateway with the
// client key of env, without retries of its own.
func anthropicSDK(t *testing.T, g *gw, env string) anthropic.Client {
	for _, v := range []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"} {
		t.Setenv(v, "")
	}
	return anthropic.NewClient(option.WithBaseURL(g.base+"/"), option.WithAPIKey(anthropicEnv[env]),
		option.WithHTTPClient(g.hc), option.WithMaxRetries(0), option.WithRequestTimeout(requestTimeout))
}

func hello(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 100,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
}

// TestAnthropicSDKMessages: the official SDK's plain and streamed
// messages through the gateway, which relays them byte for byte: the
// upstream gets the body the client sent, with anthropic-version and
// anthropic-beta but not the client's key, and the client gets the
// upstream's events unchanged.
func TestAnthropicSDKMessages(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "")
	c := anthropicSDK(t, g, "KEY_PLAIN")
	ctx := t.Context()

	msg, err := c.Messages.New(ctx, hello("claude-test"), option.WithHeader("anthropic-beta", "test-beta-2025"))
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Hello there" || msg.Usage.OutputTokens != 7 {
		t.Errorf("message = %+v", msg)
	}
	_, hdr := u.last()
	if v := hdr.Get("Anthropic-Version"); v == "" {
		t.Error("anthropic-version did not reach the upstream")
	}
	if v := hdr.Get("Anthropic-Beta"); v != "test-beta-2025" {
		t.Errorf("anthropic-beta upstream = %q", v)
	}
	if v := hdr.Get("X-Api-Key"); v != "sk-upstream-secret" {
		t.Errorf("the upstream's own key: x-api-key = %q (the client's key must not reach it)", v)
	}
	if v := hdr.Get("Authorization"); v != "" {
		t.Errorf("an anthropic upstream got Authorization %q", v)
	}

	stream := c.Messages.NewStreaming(ctx, hello("claude-test"))
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	_ = stream.Close()
	if len(acc.Content) != 1 || acc.Content[0].Text != "Hello there" || acc.StopReason != "end_turn" {
		t.Errorf("streamed message = %+v", acc)
	}

	count, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude-test",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
	if err != nil || count.InputTokens != 12 {
		t.Errorf("CountTokens = %+v, %v", count, err)
	}

	t.Run("byte-exact", func(t *testing.T) {
		sent := `{"model":"claude-test","max_tokens":100,"stream":true,` +
			`"messages":[{"role":"user","content":"h\u00e9llo \"quoted\"  spaced"}],"metadata":{"user_id":"u-1"}}`
		resp := g.send(t, ctx, http.MethodPost, "/v1/messages", sent,
			"x-api-key", anthropicEnv["KEY_PLAIN"], "anthropic-version", "2023-06-01")
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		if string(got) != strings.Join(anthropicStream, "") {
			t.Errorf("the client got other bytes than the upstream sent:\n%s", got)
		}
		if body, _ := u.last(); string(body) != sent {
			t.Errorf("the upstream got\n%s\nthe client sent\n%s", body, sent)
		}
		if id := resp.Header.Get("Request-Id"); id == "" || id != resp.Header.Get("X-Request-Id") {
			t.Errorf("request-id %q, X-Request-Id %q: want the gateway's id in both", id, resp.Header.Get("X-Request-Id"))
		}
		if v := resp.Header.Get("X-Upstream-Request-Id"); v != "req_upstream_1" {
			t.Errorf("X-Upstream-Request-Id = %q, want the upstream's request-id", v)
		}
	})
}

// TestAnthropicErrorsInAnthropicShape: the gateway's own errors on the
// Messages routes are Anthropic's: its status, error type and body shape,
// the request id in the body and the request-id header, X-Should-Retry.
func TestAnthropicErrorsInAnthropicShape(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "server: {max_body_bytes: 4096}\n")
	key := func(env string) []string { return []string{"x-api-key", anthropicEnv[env]} }
	body := func(model string) string { return `{"model":"` + model + `","max_tokens":10,"messages":[]}` }
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		typ, retry               string
	}{
		{"no key", "POST", "/v1/messages", body("claude-test"), nil, 401, "authentication_error", "false"},
		{"wrong key", "POST", "/v1/messages", body("claude-test"), []string{"x-api-key", "sk-wrong"}, 401, "authentication_error", "false"},
		{"bearer key", "POST", "/v1/messages/count_tokens", body("claude-test"), []string{"Authorization", "Bearer " + anthropicEnv["KEY_PLAIN"]}, 200, "", ""},
		{"model not allowed", "POST", "/v1/messages", body("claude-other"), key("KEY_ONE"), 403, "permission_error", "false"},
		{"model not served", "POST", "/v1/messages", body("gpt-4.1"), key("KEY_PLAIN"), 404, "not_found_error", "false"},
		{"no model", "POST", "/v1/messages", `{"max_tokens":10}`, key("KEY_PLAIN"), 400, "invalid_request_error", "false"},
		{"not JSON", "POST", "/v1/messages", `{"model":`, key("KEY_PLAIN"), 400, "invalid_request_error", "false"},
		{"too large", "POST", "/v1/messages", body(strings.Repeat("x", 5000)), key("KEY_PLAIN"), 413, "request_too_large", "false"},
		{"wrong method", "GET", "/v1/messages", "", key("KEY_PLAIN"), 405, "invalid_request_error", "false"},
		{"upstream overloaded", "POST", "/v1/messages", body("claude-529"), key("KEY_PLAIN"), 529, "overloaded_error", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := g.do(t, tt.method, tt.path, tt.body, tt.hdr...)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.status == 200 {
				return
			}
			var eb struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(a.body, &eb); err != nil {
				t.Fatalf("not JSON: %v: %s", err, a.body)
			}
			if eb.Type != "error" || eb.Error.Type != tt.typ || eb.Error.Message == "" {
				t.Errorf("body %s: want type error, error.type %s and a message", a.body, tt.typ)
			}
			if tt.status != 529 { // the upstream's own error, relayed as it is
				if eb.RequestID == "" || eb.RequestID != a.header.Get("Request-Id") || eb.RequestID != a.header.Get("X-Request-Id") {
					t.Errorf("request_id %q, request-id header %q, X-Request-Id %q: want one id", eb.RequestID,
						a.header.Get("Request-Id"), a.header.Get("X-Request-Id"))
				}
			}
			if v := a.header.Get("X-Should-Retry"); v != tt.retry {
				t.Errorf("X-Should-Retry = %q, want %q", v, tt.retry)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		g.do(t, "POST", "/v1/messages", body("claude-test"), key("KEY_RPM")...)
		a := g.do(t, "POST", "/v1/messages", body("claude-test"), key("KEY_RPM")...)
		if a.status != 429 || !strings.Contains(string(a.body), `"type":"rate_limit_error"`) {
			t.Fatalf("second request of an rpm 1 key: %d %s", a.status, a.body)
		}
		if a.header.Get("Retry-After") == "" || a.header.Get("X-Should-Retry") != "true" {
			t.Errorf("Retry-After %q, X-Should-Retry %q: want a wait and true", a.header.Get("Retry-After"), a.header.Get("X-Should-Retry"))
		}
	})
}

// TestAnthropicSDKTypedErrors: the SDK raises its API error, with the
// status and Anthropic's error type, from the gateway's errors.
func TestAnthropicSDKTypedErrors(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "")
	tests := []struct {
		name, env, model string
		status           int
		typ              string
	}{
		{"authentication", "", "claude-test", 401, "authentication_error"},
		{"permission", "KEY_ONE", "claude-other", 403, "permission_error"},
		{"not found", "KEY_PLAIN", "gpt-4.1", 404, "not_found_error"},
		{"rate limit", "KEY_RPM", "claude-test", 429, "rate_limit_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := anthropicSDK(t, g, tt.env)
			if tt.env == "" {
				c = anthropic.NewClient(option.WithBaseURL(g.base+"/"), option.WithAPIKey("sk-not-a-key"),
					option.WithHTTPClient(g.hc), option.WithMaxRetries(0))
			}
			if tt.status == 429 {
				if _, err := c.Messages.New(t.Context(), hello(tt.model)); err != nil {
					t.Fatalf("first request of an rpm 1 key: %v", err)
				}
			}
			_, err := c.Messages.New(t.Context(), hello(tt.model))
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *anthropic.Error", err, err)
			}
			if apiErr.StatusCode != tt.status || string(apiErr.Type()) != tt.typ || apiErr.RequestID == "" {
				t.Errorf("status %d, type %q, request id %q; want %d %s and an id", apiErr.StatusCode, apiErr.Type(), apiErr.RequestID, tt.status, tt.typ)
			}
		})
	}
}

// TestAnthropicStreamFailures: a stream that the upstream cuts mid-way,
// or ends without message_stop, gives the SDK an error (the gateway's
// Anthropic error event), never a short success.
func TestAnthropicStreamFailures(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "")
	c := anthropicSDK(t, g, "KEY_PLAIN")
	for _, model := range []string{"claude-cut", "claude-abort"} {
		t.Run(model, func(t *testing.T) {
			stream := c.Messages.NewStreaming(t.Context(), hello(model))
			n := 0
			for stream.Next() {
				n++
			}
			err := stream.Err()
			_ = stream.Close()
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("after %d events: err = %v (%T), want the gateway's error event as *anthropic.Error", n, err, err)
			}
			if apiErr.Type() != "api_error" || !strings.Contains(apiErr.Message, "stream interrupted") {
				t.Errorf("error type %q, message %q", apiErr.Type(), apiErr.Message)
			}
		})
	}
	t.Run("raw", func(t *testing.T) {
		resp := g.send(t, t.Context(), http.MethodPost, "/v1/messages", `{"model":"claude-cut","max_tokens":10,"stream":true}`,
			"x-api-key", anthropicEnv["KEY_PLAIN"])
		b, _ := io.ReadAll(resp.Body) // aborted: keep what came
		resp.Body.Close()
		i := bytes.Index(b, []byte("event: error\ndata: "))
		if i < 0 || bytes.Contains(b, []byte("message_stop")) {
			t.Fatalf("want an error event and no message_stop:\n%s", b)
		}
		data := b[i+len("event: error\ndata: "):]
		data = data[:bytes.IndexByte(data, '\n')]
		var ev struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(data, &ev); err != nil || ev.Type != "error" || ev.Error.Type != "api_error" {
			t.Errorf("error event %s: %v", data, err)
		}
	})
}

// TestAnthropicHeartbeatsArePings: while the upstream is silent, the
// client of a Messages stream gets Anthropic's ping events, which the SDK
// skips; the stream then completes.
func TestAnthropicHeartbeatsArePings(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "server: {heartbeat: 50ms}\n")
	resp := g.send(t, t.Context(), http.MethodPost, "/v1/messages", `{"model":"claude-slow","max_tokens":10,"stream":true}`,
		"x-api-key", anthropicEnv["KEY_PLAIN"])
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ping := "event: ping\ndata: {\"type\": \"ping\"}\n\n"
	if !strings.HasPrefix(string(b), ping) || !strings.HasSuffix(string(b), strings.Join(anthropicStream, "")) {
		t.Errorf("want pings, then the upstream's stream:\n%s", b)
	}
	if strings.Contains(string(b), "keep-alive") {
		t.Errorf("an OpenAI-style comment heartbeat on an Anthropic stream:\n%s", b)
	}

	c := anthropicSDK(t, g, "KEY_PLAIN")
	stream := c.Messages.NewStreaming(t.Context(), hello("claude-slow"))
	var acc anthropic.Message
	for stream.Next() {
		_ = acc.Accumulate(stream.Current())
	}
	if err := stream.Err(); err != nil || len(acc.Content) != 1 || acc.Content[0].Text != "Hello there" {
		t.Errorf("SDK stream under pings: %+v, %v", acc, err)
	}
	_ = stream.Close()
}

// TestAnthropicUsageCounted: the usage of Messages answers, streamed or
// not, is counted as the gateway counts OpenAI's: prompt tokens are
// Anthropic's input tokens plus those read from and written to its cache
// (10 + 5 + 3), completion tokens its output tokens.
func TestAnthropicUsageCounted(t *testing.T) {
	u := startAnthropicUp(t)
	g := anthropicGateway(t, u, "")
	c := anthropicSDK(t, g, "KEY_PLAIN")
	if _, err := c.Messages.New(t.Context(), hello("claude-test")); err != nil {
		t.Fatal(err)
	}
	stream := c.Messages.NewStreaming(t.Context(), hello("claude-test"))
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	value := scrape(t, g, adminHdr()...)
	for kind, want := range map[string]float64{"prompt": 2 * 18, "completion": 2 * 7} {
		if v := value("warmgate_tokens_total", "key", "plain", "model", "claude-test", "kind", kind); v != want {
			t.Errorf("warmgate_tokens_total{kind=%q} = %v, want %v", kind, v, want)
		}
	}
	if !strings.Contains(g.logs.String(), `"prompt_tokens":18,"completion_tokens":7`) {
		t.Errorf("the access log has not the answers' usage:\n%s", g.logs.String())
	}
}

// TestAnthropicClientKeyPassedThrough: on a gateway without client keys,
// to an upstream without a key of its own, the Anthropic client's own key
// goes upstream in the header it came in (x-api-key), as an OpenAI
// client's Authorization does.
func TestAnthropicClientKeyPassedThrough(t *testing.T) {
	u := startAnthropicUp(t)
	g := startGateway(t, "upstreams:\n  - name: anth\n    kind: anthropic\n    base_url: "+u.URL+"/v1\n    models: [\"claude-*\"]\n", nil)
	a := g.do(t, http.MethodPost, "/v1/messages", `{"model":"claude-test","max_tokens":10}`, "x-api-key", "sk-ant-client-own")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if _, hdr := u.last(); hdr.Get("X-Api-Key") != "sk-ant-client-own" || hdr.Get("Authorization") != "" {
		t.Errorf("upstream got x-api-key %q, Authorization %q; want the client's x-api-key only", hdr.Get("X-Api-Key"), hdr.Get("Authorization"))
	}
}

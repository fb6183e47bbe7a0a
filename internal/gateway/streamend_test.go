// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// A stream that ends without its end is an error, not an answer: read by
// the official SDK, a stream the upstream ended cleanly before its
// dialect's end of stream must fail (stream.Err() != nil), and the access
// log, metrics and traces must count it as a failed request.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"go.opentelemetry.io/otel/codes"
)

// Chat Completions chunks as an upstream sends them.
const (
	chunkRole   = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n"
	chunkHello  = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}` + "\n\n"
	chunkFinish = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
	// A chunk whose content merely mentions finish_reason: not a finish.
	chunkMention = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"delta":{"content":"\"finish_reason\": \"stop\""},"finish_reason":null}]}` + "\n\n"
	eventDone    = "data: [DONE]\n\n"

	textHello  = `data: {"id":"t1","object":"text_completion","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"text":"Hello","logprobs":null,"finish_reason":null}]}` + "\n\n"
	textFinish = `data: {"id":"t1","object":"text_completion","created":1,"model":"gpt-4.1-mini","choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"length"}]}` + "\n\n"
)

// Responses API events.
func respEvent(typ, data string) string { return "event: " + typ + "\ndata: " + data + "\n\n" }

var (
	respCreated = respEvent("response.created", `{"type":"response.created","sequence_number":0,"response":{"id":"r1","object":"response","created_at":1,"model":"gpt-4.1-mini","status":"in_progress","output":[],"error":null}}`)
	respDelta   = respEvent("response.output_text.delta", `{"type":"response.output_text.delta","sequence_number":1,"item_id":"m1","output_index":0,"content_index":0,"delta":"Hello"}`)
	respDone    = respEvent("response.completed", `{"type":"response.completed","sequence_number":2,"response":{"id":"r1","object":"response","created_at":1,"model":"gpt-4.1-mini","status":"completed","output":[],"error":null,"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}}`)
	respFailed  = respEvent("response.failed", `{"type":"response.failed","sequence_number":2,"response":{"id":"r1","object":"response","created_at":1,"model":"gpt-4.1-mini","status":"failed","output":[]}}`)
	// The same end without the SSE event field: read by its "type".
	respDoneUnnamed = "data: " + strings.SplitN(respDone, "data: ", 2)[1]
)

// sseUpstream is an upstream that answers every request with the SSE body
// and ends it cleanly: the end of a chunked body or, with closeDelimited,
// an HTTP/1.1 answer without a length whose connection closes after it.
func sseUpstream(t *testing.T, body string, closeDelimited bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if closeDelimited {
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			defer c.Close()
			fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n%s", body)
			_ = rw.Flush()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// upstreamAt is a gateway config with one upstream at url, serving gpt-*.
func upstreamAt(url string, extra ...string) string {
	y := "upstreams:\n  - name: up\n    base_url: " + url + "/v1\n    models: [\"gpt-*\"]\n    " + fastRetry + "\n    " + noCircuit + "\n"
	for _, e := range extra {
		y += "    " + e + "\n"
	}
	return y
}

// TestSDKStreamWithoutItsEnd: the SDK reads a stream the upstream ended
// before its dialect's end as an error; a whole one as a success.
func TestSDKStreamWithoutItsEnd(t *testing.T) {
	tests := []struct {
		name    string
		api     string // chat, completions, responses
		body    string
		closeEn bool // close-delimited body
		wantErr bool
	}{
		{"chat: whole", "chat", chunkRole + chunkHello + chunkFinish + eventDone, false, false},
		{"chat: ends after a token", "chat", chunkRole + chunkHello, false, true},
		{"chat: ends after a token, connection close", "chat", chunkRole + chunkHello, true, true},
		{"chat: finish_reason but no [DONE]", "chat", chunkRole + chunkHello + chunkFinish, false, true},
		{"chat: [DONE] without a finish_reason", "chat", chunkRole + chunkHello + eventDone, false, true},
		{"chat: finish_reason only mentioned in content", "chat", chunkRole + chunkMention + eventDone, false, true},
		{"chat: nothing at all", "chat", "", false, true},
		{"completions: whole", "completions", textHello + textFinish + eventDone, false, false},
		{"completions: ends after a token", "completions", textHello, false, true},
		{"responses: whole", "responses", respCreated + respDelta + respDone, false, false},
		{"responses: whole, unnamed events", "responses", respCreated + respDelta + respDoneUnnamed, false, false},
		{"responses: failed is an end too", "responses", respCreated + respFailed, false, false},
		{"responses: ends after a delta", "responses", respCreated + respDelta, false, true},
		{"responses: ends after a delta, connection close", "responses", respCreated + respDelta, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := sseUpstream(t, tt.body, tt.closeEn)
			g := startGateway(t, upstreamAt(up.URL), nil)
			c := sdkClient(t, g, "k")
			var err error
			var n int
			switch tt.api {
			case "chat":
				s := c.Chat.Completions.NewStreaming(t.Context(), chatParams("gpt-4.1-mini"))
				for s.Next() {
					n++
				}
				err = s.Err()
			case "completions":
				s := c.Completions.NewStreaming(t.Context(), openai.CompletionNewParams{Model: "gpt-4.1-mini",
					Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say something.")}})
				for s.Next() {
					n++
				}
				err = s.Err()
			case "responses":
				s := c.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{Model: "gpt-4.1-mini",
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Say something.")}})
				for s.Next() {
					n++
				}
				err = s.Err()
			}
			t.Logf("%d events, then %v", n, err)
			if tt.wantErr && err == nil {
				t.Fatalf("the SDK took a stream cut short for a whole answer (%d events)", n)
			}
			if !tt.wantErr && err != nil {
				t.Fatalf("a whole stream failed in the SDK: %v", err)
			}
			line := accessLine(t, g)
			if tt.wantErr && (line["status"] != float64(502) || line["aborted"] != true ||
				!strings.Contains(fmt.Sprint(line["error"]), "stream ended before its end event")) {
				t.Errorf("access log %v, want status 502, aborted, the error", line)
			}
			if !tt.wantErr && (line["status"] != float64(200) || line["error"] != nil || line["aborted"] != nil) {
				t.Errorf("access log %v, want a clean 200", line)
			}
		})
	}
}

// accessLine waits for the gateway's one access log line and returns it.
func accessLine(t *testing.T, g *gw) map[string]any {
	t.Helper()
	var line map[string]any
	eventually(t, requestTimeout, "the access log line", func() bool {
		sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
		for sc.Scan() {
			var v map[string]any
			if json.Unmarshal(sc.Bytes(), &v) == nil && v["msg"] == "request" && v["route"] != "/metrics" {
				line = v
				return true
			}
		}
		return false
	})
	return line
}

// TestStreamWithoutItsEndCounted: the client gets the error event (code
// stream_incomplete), and the request is a failed one in the access log
// (a warning, status 502), in warmgate_requests_total, in its trace span
// and in the usage ledger.
func TestStreamWithoutItsEndCounted(t *testing.T) {
	up := sseUpstream(t, chunkRole+chunkHello, false)
	g, exp := startTracedGateway(t, upstreamAt(up.URL), nil)
	resp := g.send(t, t.Context(), http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", true), "X-Request-Id", "cut-short")
	defer resp.Body.Close()
	var events []sseEvent
	rerr := readEvents(resp.Body, func(ev sseEvent) bool { events = append(events, ev); return true })
	if rerr == nil {
		t.Errorf("the response ended cleanly; want it aborted")
	}
	if len(events) != 3 || events[2].name != "error" || !strings.Contains(events[2].data, `"code":"stream_incomplete"`) {
		t.Fatalf("events %+v, want 2 chunks and a stream_incomplete error event", events)
	}
	line := accessLine(t, g)
	if line["level"] != "WARN" || line["status"] != float64(502) || line["aborted"] != true {
		t.Errorf("access log %v, want a warning with status 502, aborted", line)
	}
	val := scrape(t, g)
	if n := val("warmgate_requests_total", "route", "/v1/chat/completions", "code", "502"); n != 1 {
		t.Errorf("warmgate_requests_total{code=502} = %v, want 1", n)
	}
	if n := val("warmgate_requests_total", "route", "/v1/chat/completions", "code", "200"); n != 0 {
		t.Errorf("warmgate_requests_total{code=200} = %v, want 0", n)
	}
	span, _ := requestSpan(t, exp, "cut-short")
	if span.Status.Code != codes.Error || spanAttrs(span)["error.type"].AsString() != "truncated" {
		t.Errorf("request span status %v, error.type %q; want an error of type truncated", span.Status, spanAttrs(span)["error.type"].AsString())
	}
	checkLedgerErrors(t, g, 1, 1)
}

// checkLedgerErrors waits for the usage ledger to hold n requests and
// asserts that errs of them are errors (status 0 or >= 400).
func checkLedgerErrors(t *testing.T, g *gw, n, errs int64) {
	t.Helper()
	var rep struct {
		Rows []struct {
			Requests int64 `json:"requests"`
			Errors   int64 `json:"errors"`
		} `json:"rows"`
	}
	var got, gotErrs int64
	eventually(t, requestTimeout, "the request in /api/usage", func() bool {
		a := g.do(t, http.MethodGet, "/api/usage?by=model&since=1h", "")
		if a.status != http.StatusOK || json.Unmarshal(a.body, &rep) != nil {
			t.Fatalf("/api/usage: %d %s", a.status, a.body)
		}
		got, gotErrs = 0, 0
		for _, r := range rep.Rows {
			got += r.Requests
			gotErrs += r.Errors
		}
		return got >= n
	})
	if got != n || gotErrs != errs {
		t.Errorf("ledger: %d requests, %d errors; want %d, %d", got, gotErrs, n, errs)
	}
}

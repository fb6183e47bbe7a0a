// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Nothing sent means an honest status: a non-streamed answer that fails
// halfway, before anything reached the client, becomes a 502 in OpenAI's
// shape, and the access log, metrics and usage ledger say 502 too. Only
// an answer too large to hold (over 1 MiB) can still break off after its
// status went out.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// cutAnswer is a chat completion of about size bytes whose usage comes
// first, so that the half an upstream sends before failing holds it.
func cutAnswer(size int) []byte {
	head := `{"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12},"id":"c1","object":"chat.completion","model":"gpt-4.1-mini","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"`
	tail := `"}}]}`
	return []byte(head + strings.Repeat("x", max(size-len(head)-len(tail), 0)) + tail)
}

// halfAnswerUpstream sends the headers of body (Content-Length included
// when withLength), the first sent bytes of it, then fails: it closes the
// connection (h1) mid-body.
func halfAnswerUpstream(t *testing.T, body []byte, sent int, withLength bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		_, _ = w.Write(body[:sent])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // net/http closes the connection: the body ends short
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAnswerFailsHalfway: the upstream's answer breaks off after half its
// body. The client gets a 502 in OpenAI's shape (today: a 200 and half a
// body, or no answer at all), X-Should-Retry false; the access log says
// status 502, metrics count a 502, and the ledger records an error
// without the usage the half-body showed.
func TestAnswerFailsHalfway(t *testing.T) {
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length=%v", withLength), func(t *testing.T) {
			body := cutAnswer(440)
			up := halfAnswerUpstream(t, body, len(body)/2, withLength)
			g := startGateway(t, upstreamAt(up.URL), nil)
			a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
			checkError(t, a, http.StatusBadGateway, "upstream_error", `upstream "up"`, "cut off")
			if v := a.header.Get("X-Should-Retry"); v != "false" {
				t.Errorf("X-Should-Retry = %q, want false", v)
			}
			line := accessLine(t, g)
			if line["status"] != float64(502) || line["bytes"] == float64(len(body)/2) || line["prompt_tokens"] != nil {
				t.Errorf("access log %v, want status 502, the error's bytes, no usage", line)
			}
			if n := scrape(t, g)("warmgate_requests_total", "route", "/v1/chat/completions", "code", "502"); n != 1 {
				t.Errorf("warmgate_requests_total{code=502} = %v, want 1", n)
			}
			checkLedgerErrors(t, g, 1, 1)
			if a := g.do(t, http.MethodGet, "/api/usage?by=model&since=1h", ""); bytes.Contains(a.body, []byte(`"completion_tokens":7`)) {
				t.Errorf("the ledger took the half answer's usage: %s", a.body)
			}
		})
	}
}

// TestLargeAnswers: an answer over what the gateway holds (1 MiB) is
// relayed whole when whole; when it breaks off past that, the status is
// out already, so the client gets a broken answer (never a clean, short
// one) and the access log says 502, aborted.
func TestLargeAnswers(t *testing.T) {
	body := cutAnswer(3 << 20)
	t.Run("whole", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		t.Cleanup(up.Close)
		g := startGateway(t, upstreamAt(up.URL), nil)
		a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false))
		if a.status != http.StatusOK || !bytes.Equal(a.body, body) {
			t.Fatalf("status %d, %d bytes; want 200 and the %d bytes unchanged", a.status, len(a.body), len(body))
		}
		if line := accessLine(t, g); line["status"] != float64(200) || line["error"] != nil {
			t.Errorf("access log %v, want a clean 200", line)
		}
	})
	t.Run("breaks off past what is held", func(t *testing.T) {
		up := halfAnswerUpstream(t, body, 2<<20, true)
		g := startGateway(t, upstreamAt(up.URL), nil)
		res := g.exchange(t, false)
		checkOutcome(t, res, brokenOff, false)
		if res.status != 0 && res.status != http.StatusOK {
			t.Errorf("status %d, want 200 (then broken) or none", res.status)
		}
		line := accessLine(t, g)
		if line["status"] != float64(502) || line["aborted"] != true {
			t.Errorf("access log %v, want status 502, aborted", line)
		}
	})
}

// TestAnswerHeldWhole: answers of every size around the pooled buffer
// and the hold limit arrive whole, with and without a Content-Length.
func TestAnswerHeldWhole(t *testing.T) {
	sizes := []int{0, 1, 32<<10 - 1, 32 << 10, 32<<10 + 1, 1<<20 - 1, 1 << 20, 1<<20 + 1}
	var cur []byte
	var length bool
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if length {
			w.Header().Set("Content-Length", strconv.Itoa(len(cur)))
		}
		_, _ = w.Write(cur)
	}))
	t.Cleanup(up.Close)
	g := startGateway(t, upstreamAt(up.URL), nil)
	for _, n := range sizes {
		for _, l := range []bool{true, false} {
			cur, length = bytes.Repeat([]byte{'a' + byte(n%26)}, n), l
			resp := g.send(t, t.Context(), http.MethodGet, "/v1/files/x/content", "")
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(b, cur) {
				t.Errorf("%d bytes, length %v: status %d, got %d bytes, err %v", n, l, resp.StatusCode, len(b), err)
			}
		}
	}
}

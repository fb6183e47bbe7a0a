// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestStreamUsageAskedAndStripped: a client that streams without
// include_usage gets the stream it asked for (no usage chunk, [DONE] at the
// end), while the gateway, which asked the upstream for the usage in its
// place, counts the tokens; a client that asks still gets its usage chunk.
func TestStreamUsageAskedAndStripped(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 7})
	g := startGateway(t, defaultYAML(t, m), nil)
	for _, asks := range []bool{false, true} {
		body := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"stream":true}`
		if asks {
			body = `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
		}
		a := g.do(t, http.MethodPost, "/v1/chat/completions", body)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		var usageChunks, content int
		done := false
		err := readEvents(bufio.NewReader(bytes.NewReader(a.body)), func(ev sseEvent) bool {
			if ev.data == "[DONE]" {
				done = true
				return true
			}
			if strings.Contains(ev.data, `"choices":[]`) && strings.Contains(ev.data, `"usage":{`) {
				usageChunks++
			} else {
				content++
			}
			return true
		})
		if err != nil || !done || content == 0 {
			t.Fatalf("asks=%v: stream incomplete (err %v, done %v, %d content chunks): %s", asks, err, done, content, a.body)
		}
		want := 0
		if asks {
			want = 1
		}
		if usageChunks != want {
			t.Errorf("asks=%v: client got %d usage chunks, want %d:\n%s", asks, usageChunks, want, a.body)
		}
	}
	// Both streams' completion tokens were counted: 7 each.
	value := scrape(t, g)
	if v := value("warmgate_tokens_total", "key", "", "model", "gpt-4.1-mini", "kind", "completion"); v != 14 {
		t.Errorf("completion tokens counted = %v, want 14 (7 per stream, asked for or not)", v)
	}
}

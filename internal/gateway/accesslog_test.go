package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestAccessLogLine: one line per request with the connection facts a
// person needs to see whether keep-alive works.
func TestAccessLogLine(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	for range 2 {
		g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Request-Id", "log-test")
	}
	// A retried request: 503 once, then success.
	g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false),
		"X-Request-Id", "log-retry", mock.FaultHeader, "status=503,times=1")
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" {
			lines = append(lines, v)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access log lines, want 3:\n%s", len(lines), g.logs.String())
	}
	for _, k := range []string{"request_id", "route", "status", "duration", "model", "upstream", "first_byte", "retries", "conn_reused", "proto", "prompt_tokens", "completion_tokens"} {
		if _, ok := lines[1][k]; !ok {
			t.Errorf("access log line has no %q: %v", k, lines[1])
		}
	}
	if lines[1]["conn_reused"] != true || lines[1]["request_id"] != "log-test" {
		t.Errorf("second request: %v; want conn_reused true and the client's request id", lines[1])
	}
	if c, ok := lines[1]["completion_tokens"].(float64); !ok || c <= 0 {
		t.Errorf("completion_tokens = %v, want the answer's usage", lines[1]["completion_tokens"])
	}
	if lines[2]["retries"] != float64(1) {
		t.Errorf("retried request logged retries=%v, want 1", lines[2]["retries"])
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestDashboardPollingLoggedAtDebug: what an open dashboard asks for every
// second (its data, its page) is logged at debug, not as an info line per
// second; API requests stay at info, and a refused poll is not hidden.
func TestDashboardPollingLoggedAtDebug(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	g.do(t, http.MethodGet, "/api/pools", "", "X-Request-Id", "poll")
	g.do(t, http.MethodGet, "/dashboard", "", "X-Request-Id", "page")
	g.do(t, http.MethodGet, "/dashboard/dashboard.js", "", "X-Request-Id", "asset")
	g.do(t, http.MethodPost, "/api/pools", "", "X-Request-Id", "refused") // 405
	g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "X-Request-Id", "api")
	want := map[string]string{"poll": "DEBUG", "page": "DEBUG", "asset": "DEBUG", "refused": "INFO", "api": "INFO"}
	eventually(t, requestTimeout, "five access lines", func() bool { return strings.Count(g.logs.String(), `"msg":"request"`) >= 5 })
	for _, l := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) != nil || v["msg"] != "request" {
			continue
		}
		id, _ := v["request_id"].(string)
		if w, ok := want[id]; ok && v["level"] != w {
			t.Errorf("%s (%v): logged at %v, want %s", id, v["route"], v["level"], w)
		}
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("no access line for %v", want)
	}
}

// TestClientGoneIsNotAnUpstreamFailure: a client that leaves before its
// answer is logged as a 499 at info, without an upstream error: the
// upstream did nothing wrong, and an operator who watches warnings must
// not be sent after it.
func TestClientGoneIsNotAnUpstreamFailure(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m), nil)
	for _, stream := range []bool{false, true} {
		id := fmt.Sprintf("gone-%v", stream)
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4.1-mini", stream)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", id)
		req.Header.Set(mock.FaultHeader, "ttft=10s")
		time.AfterFunc(200*time.Millisecond, cancel)
		if resp, err := g.hc.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("%s: answered %d before the client left", id, resp.StatusCode)
		}
		cancel()
		var line map[string]any
		eventually(t, requestTimeout, "the access line of "+id, func() bool {
			for _, l := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
				var v map[string]any
				if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" && v["request_id"] == id {
					line = v
					return true
				}
			}
			return false
		})
		if line["status"] != float64(499) || line["level"] != "INFO" || line["error"] != nil {
			t.Errorf("%s: logged %v; want status 499 at INFO without an error", id, line)
		}
	}
	// A stream the client leaves after its first event.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions", strings.NewReader(chatBody("gpt-4.1-mini", true)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "gone-midstream")
	req.Header.Set(mock.FaultHeader, "stall=10s")
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	var line map[string]any
	eventually(t, requestTimeout, "the access line of gone-midstream", func() bool {
		for _, l := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
			var v map[string]any
			if json.Unmarshal([]byte(l), &v) == nil && v["msg"] == "request" && v["request_id"] == "gone-midstream" {
				line = v
				return true
			}
		}
		return false
	})
	if line["level"] != "INFO" || line["error"] != nil {
		t.Errorf("gone-midstream: logged %v; want INFO without an error", line)
	}
}

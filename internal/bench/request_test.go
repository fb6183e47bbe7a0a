// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestFirstData(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, tc := range []struct {
		name     string
		in       string
		want     bool
		wantRest string
	}{
		{name: "first line", in: "data: {}\n\ndata: [DONE]\n\n", want: true, wantRest: "\ndata: [DONE]\n\n"},
		{name: "after comment and event", in: ": ping\nevent: message\ndata: {\"a\":1}\n\n", want: true, wantRest: "\n"},
		{name: "CRLF", in: "event: x\r\ndata: 1\r\n\r\n", want: true, wantRest: "\r\n"},
		{name: "no space", in: "data:1\n\n", want: true, wantRest: "\n"},
		{name: "data inside a long line is not a field", in: "event: " + long + "data: no\n\ndata: yes\n", want: true, wantRest: ""},
		{name: "long data line", in: "data: " + long + "\n\n", want: true, wantRest: long[4096-6:] + "\n\n"},
		{name: "none", in: ": keep-alive\n\n", want: false},
		{name: "unterminated last line", in: "data: end", want: true},
		{name: "empty", in: "", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 4096)
			got, err := firstData(br)
			if err != nil || got != tc.want {
				t.Fatalf("firstData = %v, %v; want %v", got, err, tc.want)
			}
			rest, _ := io.ReadAll(br)
			if tc.want && tc.wantRest != "" && string(rest) != tc.wantRest {
				t.Errorf("left %q, want %q", rest, tc.wantRest)
			}
		})
	}
}

func TestIsSSE(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"text/event-stream", true}, {"text/event-stream; charset=utf-8", true}, {"Text/Event-Stream", true},
		{"application/json", false}, {"", false},
	} {
		if got := isSSE(http.Header{"Content-Type": {tc.in}}); got != tc.want {
			t.Errorf("isSSE(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestLatencyRunsFromTheScheduledStart is the open loop's guard against
// coordinated omission: a request sent late is measured from when it
// should have started.
func TestLatencyRunsFromTheScheduledStart(t *testing.T) {
	m := startMock(t, mock.Options{})
	o, err := Options{Target: m.URL() + "/v1"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(o, 1)
	defer c.close()
	s := newSender(o, c)
	const late = 200 * time.Millisecond
	sent := time.Now()
	out := s.send(t.Context(), sent.Add(-late))
	if out.err != nil || out.status != 200 {
		t.Fatalf("send: %v, status %d", out.err, out.status)
	}
	if took := time.Since(sent); out.latency < late+took/2 || out.latency > late+took {
		t.Errorf("latency %v; the request took %v and was due %v earlier", out.latency, took, late)
	}
}

func TestRequestShape(t *testing.T) {
	type seen struct {
		method, path, auth, fault, ctype string
		body                             map[string]any
		raw                              string
	}
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"),
			fault: r.Header.Get("X-Mock-Fault"), ctype: r.Header.Get("Content-Type"), raw: string(b)}
		_ = json.Unmarshal(b, &s.body)
		got <- s
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	defer srv.CloseClientConnections()

	t.Run("default body", func(t *testing.T) {
		r := run(t, Options{Target: srv.URL + "/v1", Path: "/completions", Requests: 1, Model: "m-1", Stream: true,
			APIKey: "sk-secret", Header: http.Header{"X-Mock-Fault": {"none"}}, NoServerStats: true})
		if r.OK != 1 {
			t.Fatalf("ok = %d, errors %v", r.OK, r.ErrorsByClass)
		}
		s := <-got
		if s.method != "POST" || s.path != "/v1/completions" || s.auth != "Bearer sk-secret" || s.fault != "none" || s.ctype != "application/json" {
			t.Errorf("request %+v", s)
		}
		if s.body["model"] != "m-1" || s.body["stream"] != true || s.body["messages"] == nil {
			t.Errorf("body %s", s.raw)
		}
		b, _ := json.Marshal(r)
		var tb strings.Builder
		_ = r.WriteTable(&tb)
		if strings.Contains(string(b)+tb.String(), "sk-secret") {
			t.Error("the key shows in the result")
		}
	})
	t.Run("body verbatim", func(t *testing.T) {
		const body = `{"model":"x", "input":"verbatim"}`
		r := run(t, Options{Target: srv.URL, Path: "/v1/embeddings", Requests: 1, Body: []byte(body), NoServerStats: true})
		s := <-got
		if r.OK != 1 || s.raw != body || s.path != "/v1/embeddings" || s.auth != "" {
			t.Errorf("ok %d, request %+v", r.OK, s)
		}
	})
}

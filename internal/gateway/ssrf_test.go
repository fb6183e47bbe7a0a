// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The client cannot choose where the gateway sends a request: not through
// the path (dot segments, encoded or not; empty segments; backslashes), not
// through an absolute-form request target, not through Host or the headers
// some proxies route by. Requests are sent over raw TCP so that the test
// controls the request line byte for byte (a client library would clean or
// re-encode it), and two recording upstreams show what arrives where: the
// configured one, whose base URL has a path (/base/v1) that nothing may
// escape, and an "evil" one that nothing may reach.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// pathRecorder is an upstream that answers every request with an empty JSON
// object and remembers what it was asked.
type pathRecorder struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []string // "METHOD path", the path as sent
	hosts []string // the Host of each
}

func startPathRecorder(t *testing.T) *pathRecorder {
	t.Helper()
	rec := &pathRecorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.EscapedPath())
		rec.hosts = append(rec.hosts, r.Host)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}\n")
	}))
	t.Cleanup(rec.Close)
	return rec
}

// take returns what the recorder saw since the last call: the requests,
// and the Host of each.
func (rec *pathRecorder) take() (seen, hosts []string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen, hosts = rec.seen, rec.hosts
	rec.seen, rec.hosts = nil, nil
	return seen, hosts
}

// rawExchange writes req on a new connection to addr and reads one
// response. It returns the status (0 when the server closed the
// connection without answering) and the body.
func rawExchange(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, requestTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestClientCannotChooseTheUpstreamURL(t *testing.T) {
	up := startPathRecorder(t)
	evil := startPathRecorder(t)
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	yaml := fmt.Sprintf("upstreams:\n  - name: rec\n    base_url: %s/base/v1\n    retry: {attempts: 1}\n", up.URL)
	g := startGateway(t, yaml, nil)
	body := chatBody("gpt-4.1-mini", false)
	// post and get make a request for target with the Host header host
	// and the extra header lines hdr.
	post := func(target, host string, hdr ...string) string {
		return "POST " + target + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n" +
			strings.Join(hdr, "") + fmt.Sprintf("Content-Length: %d\r\nConnection: close\r\n\r\n", len(body)) + body
	}
	get := func(target, host string, hdr ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(hdr, "") + "Connection: close\r\n\r\n"
	}

	tests := []struct {
		name   string
		req    string
		status int    // what the client gets
		want   string // what the configured upstream must see ("" = nothing)
	}{
		// Control: a clean request arrives under the base path.
		{name: "clean path", req: post("/v1/chat/completions", "localhost"), status: 200, want: "POST /base/v1/chat/completions"},
		{name: "clean pass-through path", req: get("/v1/files/file-1/content", "localhost"), status: 200, want: "GET /base/v1/files/file-1/content"},
		{name: "trailing slash", req: get("/v1/files/", "localhost"), status: 200, want: "GET /base/v1/files/"},
		{name: "dots inside a segment", req: get("/v1/files/file..1/content.json", "localhost"), status: 200, want: "GET /base/v1/files/file..1/content.json"},

		// Paths that would leave the base path once an upstream (or a
		// proxy in front of it) resolves their dot segments.
		{name: "dot-dot", req: get("/v1/../admin", "localhost"), status: 400},
		{name: "dot-dot under the route", req: post("/v1/chat/../../../admin", "localhost"), status: 400},
		{name: "encoded dot-dot", req: get("/v1/%2e%2e/admin", "localhost"), status: 400},
		{name: "upper-case encoded dot-dot", req: get("/v1/%2E%2E/%2E%2E/admin", "localhost"), status: 400},
		{name: "encoded slashes and dots", req: get("/v1/files/..%2f..%2f..%2fadmin", "localhost"), status: 400},
		{name: "dot segment", req: get("/v1/./files", "localhost"), status: 400},
		{name: "backslash dot-dot", req: get("/v1/files/..%5c..%5cadmin", "localhost"), status: 400},
		{name: "raw backslash dot-dot", req: get(`/v1/files/..\..\admin`, "localhost"), status: 400},
		{name: "empty segment", req: get("/v1//evil.example/x", "localhost"), status: 400},
		{name: "network-path reference", req: get("//"+evilHost+"/v1/models/gpt-4.1", "localhost"), status: 400},

		// The absolute form and Host never pick the upstream.
		{name: "absolute-form target", req: get("http://"+evilHost+"/v1/files/x", evilHost),
			status: 200, want: "GET /base/v1/files/x"},
		{name: "absolute-form POST", req: post("http://"+evilHost+"/v1/chat/completions", evilHost),
			status: 200, want: "POST /base/v1/chat/completions"},
		{name: "absolute-form with dot-dot", req: get("http://"+evilHost+"/v1/../admin", evilHost), status: 400},
		{name: "Host header", req: get("/v1/files/x", evilHost),
			status: 200, want: "GET /base/v1/files/x"},
		// Headers some front proxies route by are not forwarded.
		{name: "X-Original-URL", req: get("/v1/files/x", "localhost", "X-Original-URL: /admin\r\n", "X-Rewrite-URL: /admin\r\n",
			"X-Forwarded-Host: "+evilHost+"\r\n", "X-Forwarded-Prefix: /admin\r\n", "Forwarded: host="+evilHost+"\r\n"),
			status: 200, want: "GET /base/v1/files/x"},
		{name: "CONNECT", req: "CONNECT " + evilHost + " HTTP/1.1\r\nHost: " + evilHost + "\r\n\r\n", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := rawExchange(t, g.Addr(), tt.req)
			if status != tt.status {
				t.Errorf("status = %d, want %d; body: %s", status, tt.status, b)
			}
			if status == 400 && !strings.Contains(b, `"invalid_path"`) {
				t.Errorf("400 body = %s, want an OpenAI error with code invalid_path", b)
			}
			seen, hosts := up.take()
			switch {
			case tt.want == "" && len(seen) > 0:
				t.Errorf("the upstream was sent %q, want nothing", seen)
			case tt.want != "" && (len(seen) != 1 || seen[0] != tt.want):
				t.Errorf("the upstream saw %q, want [%s]", seen, tt.want)
			case tt.want != "" && hosts[0] != up.Listener.Addr().String():
				t.Errorf("the upstream was asked for host %q, want its own %s", hosts[0], up.Listener.Addr())
			}
			if got, _ := evil.take(); len(got) > 0 {
				t.Errorf("the other host was sent %q", got)
			}
		})
	}
	t.Run("routing headers are not forwarded", func(t *testing.T) {
		hdrs := make(chan http.Header, 1)
		sniff := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hdrs <- r.Header.Clone()
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{}\n")
		}))
		defer sniff.Close()
		g := startGateway(t, fmt.Sprintf("upstreams:\n  - name: sniff\n    base_url: %s/v1\n", sniff.URL), nil)
		a := g.do(t, http.MethodGet, "/v1/files/x", "", "X-Original-URL", "/admin", "X-Rewrite-URL", "/admin",
			"X-Forwarded-Host", "evil.example", "X-Forwarded-Prefix", "/admin", "Forwarded", "host=evil.example", "X-Custom", "kept")
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		h := <-hdrs
		for _, k := range []string{"X-Original-Url", "X-Rewrite-Url", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded"} {
			if v := h.Values(k); len(v) > 0 {
				t.Errorf("%s: %q was forwarded upstream", k, v)
			}
		}
		if h.Get("X-Custom") != "kept" {
			t.Errorf("X-Custom = %q, want other headers forwarded", h.Get("X-Custom"))
		}
	})
	// Still serving.
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", body); a.status != 200 {
		t.Errorf("after the attempts: status %d: %s", a.status, a.body)
	}
}

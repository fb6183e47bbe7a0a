// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// Request bodies that arrive slowly, or never: a body the gateway does not
// read is dropped within half a second, one it reads must keep up
// server.body_min_rate after server.body_timeout, and neither holds memory
// the client has only announced.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// bodyEnv holds the keys of the gateways below.
var bodyEnv = map[string]string{"KEY": "sk-body-0123456789", "ADMIN": "sk-body-admin-0123456789"}

const bodyKeysYAML = "keys: [{name: k, key_env: KEY}]\nadmin: {key_env: ADMIN}\n"

// framings are the two ways a body's end is announced: a Content-Length
// (of 100 KiB, under the 256 KiB that net/http drains on its own), or
// chunks.
var framings = []struct {
	name   string
	header string                // the framing header
	piece  func(b []byte) []byte // how a piece of the body goes on the wire
}{
	{"Content-Length", "Content-Length: 102400\r\n", func(b []byte) []byte { return b }},
	{"chunked", "Transfer-Encoding: chunked\r\n", func(b []byte) []byte { return fmt.Appendf(nil, "%x\r\n%s\r\n", len(b), b) }},
}

// trickle opens a connection to g, sends head (request line and headers,
// without the blank line) and framing, then a body one byte every 50ms,
// for up to 10s or until the connection fails. It returns the connection
// and a reader of the gateway's answers.
func trickle(t *testing.T, g *gw, head string, fr int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialGateway(t, g)
	if _, err := io.WriteString(c, head+framings[fr].header+"\r\n"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
			if _, err := c.Write(framings[fr].piece([]byte("x"))); err != nil {
				return // closed by the gateway (or by the test)
			}
		}
	})
	t.Cleanup(func() { _ = c.Close(); wg.Wait() })
	return c, bufio.NewReader(c)
}

// answeredAndClosed reads one answer from br and then requires the end of
// the connection, both within 5s; it returns the answer's status and
// error code, and how long the whole took.
func answeredAndClosed(t *testing.T, c net.Conn, br *bufio.Reader) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within 5s while the body trickles: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	code := ""
	if i := strings.Index(string(b), `"code":"`); i >= 0 {
		code, _, _ = strings.Cut(string(b[i+8:]), `"`)
	}
	if _, err := br.ReadByte(); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection stayed open for 5s after the answer (%d %s) while the body trickled", resp.StatusCode, code)
	}
	return resp.StatusCode, code, time.Since(start)
}

// TestUnreadBodyIsDropped: a request the gateway answers without reading
// its body (refused for its key, or a route that takes no body) is
// answered, and its connection closed, within moments while the body
// trickles: net/http would otherwise drain the body first, with no
// deadline, holding the connection for as long as the client likes,
// without a key. A body sent with its headers is drained, and its
// connection kept.
func TestUnreadBodyIsDropped(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+bodyKeysYAML, bodyEnv)
	tests := []struct {
		name, head string
		status     int
		code       string
	}{
		{"no key", "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n", 401, "missing_api_key"},
		{"wrong key", "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-wrong\r\n", 401, "invalid_api_key"},
		{"admin route without the admin key", "POST /admin/reload HTTP/1.1\r\nHost: localhost\r\n", 401, "invalid_admin_key"},
		{"health check", "POST /healthz HTTP/1.1\r\nHost: localhost\r\n", 200, ""},
		{"unknown route", "POST /nope HTTP/1.1\r\nHost: localhost\r\n", 404, "unknown_route"},
	}
	for _, tt := range tests {
		for fr := range framings {
			t.Run(tt.name+"/"+framings[fr].name, func(t *testing.T) {
				t.Parallel()
				c, br := trickle(t, g, tt.head, fr)
				status, code, took := answeredAndClosed(t, c, br)
				t.Logf("answered %d %s and closed after %v", status, code, took.Round(time.Millisecond))
				if status != tt.status || code != tt.code {
					t.Errorf("answer %d %q, want %d %q", status, code, tt.status, tt.code)
				}
			})
		}
	}
	t.Run("body sent at once", func(t *testing.T) {
		c := dialGateway(t, g)
		_ = c.SetDeadline(time.Now().Add(requestTimeout))
		body := chatBody("gpt-4.1-mini", false)
		req := "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-wrong\r\nContent-Length: " +
			fmt.Sprint(len(body)) + "\r\n\r\n" + body
		_, _ = io.WriteString(c, req+strings.Replace(req, "sk-wrong", bodyEnv["KEY"], 1))
		br := bufio.NewReader(c)
		for _, want := range []int{401, 200} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("want %d on the same connection: %v", want, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
		}
	})
	if n := m.Stats().Requests; n != 1 {
		t.Errorf("the mock saw %d requests, want the 1 with a key", n)
	}
	stillServesWithKey(t, g)
}

// TestSlowBodyIsCut: a client with a key whose body trickles, by
// Content-Length or in chunks, over HTTP/1.1 or h2c, is answered 408
// body_timeout once server.body_timeout has passed with too few bytes, and
// nothing is forwarded.
func TestSlowBodyIsCut(t *testing.T) {
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+bodyKeysYAML+"server: {body_timeout: 300ms, body_min_rate: 1024}\n", bodyEnv)
	for fr := range framings {
		t.Run("HTTP/1.1/"+framings[fr].name, func(t *testing.T) {
			t.Parallel()
			c, br := trickle(t, g, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer "+bodyEnv["KEY"]+"\r\n", fr)
			status, code, took := answeredAndClosed(t, c, br)
			t.Logf("answered %d %s and closed after %v", status, code, took.Round(time.Millisecond))
			if status != http.StatusRequestTimeout || code != "body_timeout" {
				t.Errorf("answer %d %q, want 408 body_timeout", status, code)
			}
		})
	}
	t.Run("h2c", func(t *testing.T) {
		t.Parallel()
		var h2c http.Protocols
		h2c.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &h2c}
		defer tr.CloseIdleConnections()
		pr, pw := io.Pipe()
		var wg sync.WaitGroup
		wg.Go(func() {
			for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
				if _, err := pw.Write([]byte("x")); err != nil {
					return
				}
			}
			_ = pw.Close()
		})
		defer wg.Wait()
		defer pr.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/v1/chat/completions", pr)
		req.Header.Set("Authorization", "Bearer "+bodyEnv["KEY"])
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatalf("no answer within 5s while the body trickles: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkError(t, answer{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusRequestTimeout, "body_timeout", "server.body_min_rate")
		if resp.ProtoMajor != 2 {
			t.Errorf("proto %s, want HTTP/2", resp.Proto)
		}
	})
	t.Cleanup(func() {
		if n := m.Stats().Requests; n != 0 {
			t.Errorf("the mock saw %d requests; a body cut short must not be forwarded", n)
		}
	})
}

// TestSlowSteadyBodyPasses: a body that takes longer than
// server.body_timeout but keeps up server.body_min_rate is read whole; a
// stream answer that lasts past the body's deadline is not cut by it; the
// connection then serves the next request.
func TestSlowSteadyBodyPasses(t *testing.T) {
	m := startMock(t, mock.Options{Tokens: 20, TokenInterval: 50 * time.Millisecond}) // a stream of about 1s
	g := startGateway(t, defaultYAML(t, m)+bodyKeysYAML+"server: {body_timeout: 300ms, body_min_rate: 16384}\n", bodyEnv)
	c := dialGateway(t, g)
	_ = c.SetDeadline(time.Now().Add(requestTimeout))
	br := bufio.NewReader(c)
	auth := "Host: localhost\r\nAuthorization: Bearer " + bodyEnv["KEY"] + "\r\n"
	withKey := func(req string) string { // rawChat with the key
		return strings.Replace(req, "HTTP/1.1\r\n", "HTTP/1.1\r\nAuthorization: Bearer "+bodyEnv["KEY"]+"\r\n", 1)
	}

	// 96 KiB (more than the first buffer, which must grow) in 8 KiB pieces
	// every 100ms: 80 KiB/s for 1.2s, four times body_timeout.
	body := `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 96<<10) + `"}]}`
	start := time.Now()
	if _, err := fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n", auth, len(body)); err != nil {
		t.Fatal(err)
	}
	for rest := body; rest != ""; time.Sleep(100 * time.Millisecond) {
		n := min(len(rest), 8<<10)
		if _, err := io.WriteString(c, rest[:n]); err != nil {
			t.Fatalf("the gateway stopped reading a steady body after %v: %v", time.Since(start), err)
		}
		rest = rest[n:]
	}
	t.Logf("body sent in %v", time.Since(start).Round(time.Millisecond))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a steady body: %d %s", resp.StatusCode, b)
	}

	// A small body, and a stream answer of about 1s: its connection's read
	// deadline (300ms after the body) must be gone by then.
	start = time.Now()
	if _, err := io.WriteString(c, withKey(rawChat("gpt-4.1-mini", true))); err != nil {
		t.Fatal(err)
	}
	if resp, err = http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	done := false
	err = readEvents(resp.Body, func(ev sseEvent) bool { done = done || ev.data == "[DONE]"; return true })
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !done || err != nil {
		t.Fatalf("status %d, [DONE] %v, %v after %v; want a whole stream", resp.StatusCode, done, err, time.Since(start))
	}
	t.Logf("stream done after %v", time.Since(start).Round(time.Millisecond))

	if _, err := io.WriteString(c, withKey(rawChat("gpt-4.1-mini", false))); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request on the connection: %v", err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestAnnouncedBodyIsNotAllocated: connections that announce a body of
// server.max_body_bytes and send a few bytes of it cost the gateway
// memory for what arrived, not for what was announced.
func TestAnnouncedBodyIsNotAllocated(t *testing.T) {
	const n, announced = 16, 8 << 20
	m := startMock(t, mock.Options{})
	g := startGateway(t, defaultYAML(t, m)+fmt.Sprintf("server: {max_body_bytes: %d}\n", announced), nil)
	stillServes(t, g)
	before := heapInuse()
	for range n {
		c := dialGateway(t, g)
		_ = c.SetDeadline(time.Now().Add(requestTimeout))
		// Expect: 100-continue: the gateway's first read of the body sends
		// "100 Continue", so the client knows when the handler is reading.
		fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", announced)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(line, "100") {
			t.Fatalf("want 100 Continue: %q, %v", line, err)
		}
		_, _ = io.WriteString(c, `{"model":"gpt-4.1-mini","messages":[`)
	}
	growth := heapInuse() - before
	t.Logf("%d connections announcing %d MiB each: heap grew %.1f MiB", n, announced>>20, float64(growth)/(1<<20))
	if growth > n*announced/8 {
		t.Errorf("the heap grew %d MiB for %d bodies announced at %d MiB and hardly sent: the announced size was allocated", growth>>20, n, announced>>20)
	}
}

// stillServesWithKey is stillServes for a gateway with bodyKeysYAML.
func stillServesWithKey(t *testing.T, g *gw) {
	t.Helper()
	a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false), "Authorization", "Bearer "+bodyEnv["KEY"])
	if a.status != http.StatusOK {
		t.Fatalf("a normal request got %d %s", a.status, a.body)
	}
}

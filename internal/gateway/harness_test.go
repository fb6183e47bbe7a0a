// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

// The harness: a real mock upstream (internal/mock) on a real socket, a
// gateway configured through config.Parse (YAML text, injected getenv) and
// started with NewServer/Listen/Start, and a client with its own transport.
// Every piece is stopped by t.Cleanup, in reverse order of creation: client
// idle connections, then the gateway (Shutdown), then the mock.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/upstream"
)

// requestTimeout bounds every single exchange a test makes, so that a
// missing flush or a lost cancel fails the test instead of hanging it.
const requestTimeout = 10 * time.Second

// startMock starts a mock upstream on a free loopback port; it is closed
// when the test ends.
func startMock(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	m, err := mock.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mock.Start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// upstreamYAML is one entry of the upstreams list for the mock m: its base
// URL, its CA (written to a temp file) when it serves TLS, and extra lines
// such as "models: [...]" or "retry: {...}".
func upstreamYAML(t *testing.T, name string, m *mock.Server, extra ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    base_url: %s/v1\n", name, m.URL())
	if ca := m.CAPEM(); ca != nil {
		path := filepath.Join(t.TempDir(), "mock-ca.pem")
		if err := os.WriteFile(path, ca, 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    tls: {ca_file: %q}\n", path)
	}
	for _, e := range extra {
		b.WriteString("    " + e + "\n")
	}
	return b.String()
}

// testModels are the globs the test upstreams serve: the mock's chat and
// embedding models, so that "no-such-model" is unknown to the gateway.
const testModels = `models: ["gpt-*", "text-embedding-*"]`

// fastRetry keeps retries (3 attempts) but with millisecond backoffs.
const fastRetry = `retry: {attempts: 3, base: 5ms, max: 20ms}`

// noCircuit turns the circuit breaker off: tests that send failure after
// failure to one upstream on purpose would otherwise open it (the breaker
// has its own tests in package upstream and TestCircuitOpens here).
const noCircuit = `circuit: {disable: true}`

// defaultYAML is a gateway config with one upstream, the mock m.
func defaultYAML(t *testing.T, m *mock.Server, extra ...string) string {
	t.Helper()
	return "upstreams:\n" + upstreamYAML(t, "mock", m, append([]string{testModels, fastRetry, noCircuit}, extra...)...)
}

// gw is a running gateway.
type gw struct {
	*gateway.Server
	base string        // "http://127.0.0.1:PORT", no /v1
	logs *lockedBuffer // everything the gateway logged, as JSON lines
	tr   *http.Transport
	hc   *http.Client
}

// startGateway parses yaml with getenv reading env, and serves it on a free
// loopback port. It is shut down gracefully when the test ends.
func startGateway(t *testing.T, yaml string, env map[string]string, opts ...gateway.Option) *gw {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, yaml)
	}
	if cfg.DataDir == config.DefaultDataDir {
		cfg.DataDir = t.TempDir() // the usage ledger: never in the source tree
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := gateway.NewServer(cfg, log, opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		_ = s.Close()
		t.Fatalf("Listen: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		// t.Context() is already canceled here.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("gateway Shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	tr := &http.Transport{
		Proxy:               nil, // the gateway is local; never an environment proxy
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   false,
	}
	t.Cleanup(tr.CloseIdleConnections) // runs before Shutdown
	return &gw{Server: s, base: "http://" + s.Addr(), logs: logs, tr: tr, hc: &http.Client{Transport: tr}}
}

// stats is the gateway's only upstream's pool stats.
func (g *gw) stats(t *testing.T) upstream.Stats {
	t.Helper()
	st := g.Pool.Stats()
	if len(st) != 1 {
		t.Fatalf("pool has %d upstreams, want 1", len(st))
	}
	return st[0]
}

// answer is a complete, non-streamed response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the gateway and reads the whole answer. hdr is a
// list of header name, value pairs; an empty value removes the header.
func (g *gw) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	resp := g.send(t, t.Context(), method, path, body, hdr...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// send sends a request and returns the response with its body unread. The
// request is bounded by requestTimeout unless ctx ends first.
func (g *gw) send(t *testing.T, ctx context.Context, method, path, body string, hdr ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, rd)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i]) // a later "" unsets an earlier value
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := g.hc.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp
}

// cancelBody releases the request's timeout context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// chatBody is a chat completion request for model.
func chatBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}],"stream":%t}`, model, stream)
}

// errorShape is what every error answer must look like.
type errorShape struct {
	Error struct {
		Message *string          `json:"message"`
		Type    *string          `json:"type"`
		Code    *json.RawMessage `json:"code"`
	} `json:"error"`
}

// checkError asserts an OpenAI-shaped JSON error with the given status and
// code (a string, or JSON null when code is ""), whose message contains
// every one of msgParts. It returns the message.
func checkError(t *testing.T, a answer, status int, code string, msgParts ...string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e errorShape
	dec := json.NewDecoder(bytes.NewReader(a.body))
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not JSON: %v; body: %s", err, a.body)
	}
	if e.Error.Message == nil || *e.Error.Message == "" || e.Error.Type == nil || *e.Error.Type == "" || e.Error.Code == nil {
		t.Fatalf(`error body lacks {"error":{"message","type","code"}}: %s`, a.body)
	}
	wantCode := "null"
	if code != "" {
		wantCode = fmt.Sprintf("%q", code)
	}
	if got := string(*e.Error.Code); got != wantCode {
		t.Errorf("error.code = %s, want %s; body: %s", got, wantCode, a.body)
	}
	for _, p := range msgParts {
		if !strings.Contains(*e.Error.Message, p) {
			t.Errorf("error.message %q does not mention %q", *e.Error.Message, p)
		}
	}
	return *e.Error.Message
}

// sseEvent is one event as a client sees it.
type sseEvent struct {
	name string
	data string
}

// readEvents reads SSE events from r until EOF or an error, calling fn for
// each complete one; fn returning false stops reading. It returns nil at a
// clean EOF after a complete event, the read error otherwise. To go on
// reading after fn stopped it, pass a *bufio.Reader: it is used as is, so
// nothing read ahead is lost between calls.
func readEvents(r io.Reader, fn func(sseEvent) bool) error {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	var ev sseEvent
	var data []string
	has := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && !has {
				return nil
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF // ended inside an event
			}
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if !has {
				continue
			}
			ev.data = strings.Join(data, "\n")
			if !fn(ev) {
				return nil
			}
			ev, data, has = sseEvent{}, nil, false
		case strings.HasPrefix(line, ":"):
			// comment
		case strings.HasPrefix(line, "event:"):
			ev.name, has = strings.TrimSpace(strings.TrimPrefix(line, "event:")), true
		case strings.HasPrefix(line, "data:"):
			data, has = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")), true
		}
	}
}

// chunkContent is the delta content of a chat.completion.chunk.
func chunkContent(t *testing.T, data string) string {
	t.Helper()
	var c struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		t.Fatalf("chunk is not JSON: %v: %s", err, data)
	}
	if len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Delta.Content
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// lockedBuffer is a bytes.Buffer safe for the logger's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// mockDirect sends body to the mock itself, bypassing the gateway, and
// returns the answer: what "unchanged" means in pass-through tests.
func mockDirect(t *testing.T, m *mock.Server, method, path, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := m.Client()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("direct %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

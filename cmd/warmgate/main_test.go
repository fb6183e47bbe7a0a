// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// execute runs the CLI with args and returns its output and error, as the
// user would see them (main prints "warmgate: <err>").
func execute(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeRejectsBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want []string // each must appear in the error
	}{
		{"unknown key", []string{"serve", "--config", writeFile(t, "c.yaml", "listen: 127.0.0.1:0\nupstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    timout: {connect: 1s}\n")},
			[]string{"line 5", `unknown key "timout"`, `did you mean "timeouts"`}},
		{"bad duration", []string{"serve", "--config", writeFile(t, "c.yaml", "upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n    timeouts: {connect: 5 sec}\n")},
			[]string{"line 4", "timeouts.connect", `invalid duration "5 sec"`}},
		{"missing file", []string{"serve", "--config", "/nonexistent/warmgate.yaml"},
			[]string{"/nonexistent/warmgate.yaml"}},
		{"address in use", []string{"serve", "--listen", busy.Addr().String()},
			[]string{"already in use", "--listen"}},
		{"open beyond loopback", []string{"serve", "--listen", "0.0.0.0:0"},
			[]string{"refusing to listen", "--allow-open"}},
		{"bad log format", []string{"serve", "--log-format", "xml"},
			[]string{"--log-format", "text or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir()) // the default data_dir is relative
			t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
			_, err := execute(t, t.Context(), tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// --print-config prints the effective settings without the key and exits,
// even where serving would be refused (0.0.0.0 without keys).
func TestServePrintConfig(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("OPENAI_API_KEY", "sk-printconfigsecret")
	out, err := execute(t, t.Context(), "serve", "--print-config", "--listen", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen: 0.0.0.0:0", "$OPENAI_API_KEY: set (redacted)", "first_byte: 2m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "printconfigsecret") {
		t.Errorf("output shows the key:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	out, err := execute(t, t.Context(), "version")
	if err != nil || !strings.HasPrefix(out, "warmgate ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %q, %v", out, err)
	}
}

// TestDemo runs a small demo end to end: the gateway must open fewer new
// connections at the mock than requests, and have a lower p50 than the
// naive client (each new connection costs 30ms at the mock).
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	o := demoOptions{listen: "127.0.0.1:0", requests: 40, concurrency: 4, streamEvery: 4,
		handshakeDelay: 30 * time.Millisecond, latency: 5 * time.Millisecond, ttft: 5 * time.Millisecond,
		tokens: 4, tokenInterval: time.Millisecond, noServe: true}
	rs, err := runDemo(ctx, o, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if len(rs) != 2 {
		t.Fatalf("got %d results, want naive and gateway", len(rs))
	}
	naive, gw := rs[0], rs[1]
	for _, r := range rs {
		if r.errs != 0 || len(r.lat) != o.requests {
			t.Errorf("%s: %d ok, %d errors (first: %v)", r.name, len(r.lat), r.errs, r.firstErr)
		}
	}
	if naive.newConns != int64(o.requests) {
		t.Errorf("naive client: the mock counted %d new connections, want one per request (%d)", naive.newConns, o.requests)
	}
	if gw.newConns > int64(o.concurrency) {
		t.Errorf("gateway: the mock counted %d new connections, want at most the concurrency %d", gw.newConns, o.concurrency)
	}
	if p50n, p50g := percentile(naive.lat, .5), percentile(gw.lat, .5); p50g >= p50n {
		t.Errorf("gateway p50 %v is not below the naive p50 %v", p50g, p50n)
	}
	if !strings.Contains(out.String(), "through warmgate") || !strings.Contains(out.String(), "faster") {
		t.Errorf("the table or summary is missing:\n%s", out.String())
	}
}

// lockedBuffer is a bytes.Buffer for a command that writes while the test
// reads.
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

// TestServeLogsEveryRequest: `serve` writes one access line per request
// (batched off the request path) and none is lost at shutdown.
func TestServeLogsEveryRequest(t *testing.T) {
	t.Chdir(t.TempDir())
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Setenv("OPENAI_BASE_URL", m.URL()+"/v1")
	t.Setenv("OPENAI_API_KEY", "sk-logtest-secret")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, out, done := serveInProcess(t, ctx)
	client := &http.Client{Timeout: 10 * time.Second}
	for range 3 {
		resp, err := client.Post("http://"+addr+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	client.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if n := strings.Count(log, "msg=request "); n != 3 {
		t.Errorf("%d access lines, want 3:\n%s", n, log)
	}
	if strings.Contains(log, "logtest-secret") {
		t.Error("the upstream key is in the log")
	}
}

// serveInProcess runs `warmgate serve --listen 127.0.0.1:0` until ctx ends and
// returns the address it listens on, its output, and its result.
func serveInProcess(t *testing.T, ctx context.Context) (string, *lockedBuffer, <-chan error) {
	t.Helper()
	out := &lockedBuffer{}
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"serve", "--listen", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", out.String())
		}
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	return addr, out, done
}

// TestDemoTooShort: a --duration shorter than the runs is a clear error,
// not a half table of timeouts.
func TestDemoTooShort(t *testing.T) {
	_, err := execute(t, t.Context(), "demo", "--listen", "127.0.0.1:0", "--duration", "300ms", "--requests", "50")
	if err == nil || !strings.Contains(err.Error(), "ended the demo before both runs finished") {
		t.Fatalf("err = %v", err)
	}
}

// TestDemoDurationClosingLine: a demo stopped by --duration says so as its
// last line, instead of ending silently after "Press Ctrl-C to stop."
func TestDemoDurationClosingLine(t *testing.T) {
	out, err := execute(t, t.Context(), "demo", "--listen", "127.0.0.1:0", "--duration", "5s", "--requests", "4",
		"--concurrency", "2", "--handshake-delay", "1ms", "--latency", "1ms", "--ttft", "1ms", "--tokens", "2", "--token-interval", "1ms")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "--duration 5s is up: the demo's gateway has stopped." {
		t.Errorf("last line %q, want the closing line:\n%s", last, out)
	}
}

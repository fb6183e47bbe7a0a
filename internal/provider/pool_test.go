// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package provider_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/warmgate/warmgate/internal/mock"
	"github.com/warmgate/warmgate/internal/provider"
	"github.com/warmgate/warmgate/upstream"
)

const anthropicKey = "sk-ant-pool-secret"

// poolFor builds an upstream.Pool for s through provider, as the gateway
// does: the endpoint's base URL, headers and request hook.
func poolFor(t *testing.T, s provider.Settings, tc *tls.Config) *upstream.Pool {
	t.Helper()
	ep, err := provider.New(s)
	if err != nil {
		t.Fatal(err)
	}
	p, err := upstream.New([]upstream.Config{{Name: "claude", BaseURL: ep.BaseURL, Header: ep.Header, Prepare: ep.Prepare, TLS: tc,
		Retry: upstream.RetryPolicy{Base: 1e6, Max: 2e6}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func messages(t *testing.T, p *upstream.Pool, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestAnthropicPoolAgainstMock: a pool for a kind anthropic upstream, its
// base URL given without /v1, reaches the mock's /v1/messages with the key
// as x-api-key and an anthropic-version (the mock checks both), never an
// Authorization header; a 529 is retried and then succeeds; the key is in
// no log line, error or stats.
func TestAnthropicPoolAgainstMock(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	m, err := mock.Start(mock.Options{TLS: true, APIKey: anthropicKey,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	p := poolFor(t, provider.Settings{Kind: provider.Anthropic, BaseURL: m.URL(), APIKey: anthropicKey}, &tls.Config{RootCAs: m.CertPool()})

	// The warm-up request (GET <base>/models) carries the key and the
	// version too: the mock answers it 200.
	p.Warm(t.Context())
	if st := p.Stats()[0].WarmStatus; st != http.StatusOK {
		t.Errorf("warm-up status %d, want 200", st)
	}

	resp, b, err := messages(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"type":"message"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if resp.Header.Get("X-Mock-Has-Api-Key") != "true" || resp.Header.Get("X-Mock-Has-Authorization") != "false" {
		t.Errorf("x-api-key sent: %s, Authorization sent: %s; want true, false",
			resp.Header.Get("X-Mock-Has-Api-Key"), resp.Header.Get("X-Mock-Has-Authorization"))
	}
	if resp.Header.Get("Anthropic-Ratelimit-Requests-Limit") == "" {
		t.Error("the anthropic-ratelimit-* headers did not come through the pool")
	}

	// Overloaded once: retried on the same upstream, then a success.
	resp, b, err = messages(t, p, mock.FaultHeader, "status=529,times=1")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("after a 529: status %d: %s", resp.StatusCode, b)
	}
	st := p.Stats()[0]
	if st.Retries["status_5xx"] != 1 {
		t.Errorf("status_5xx retries = %d, want 1", st.Retries["status_5xx"])
	}

	// Overloaded on every attempt: the 529 and its Anthropic body reach the caller.
	resp, b, err = messages(t, p, mock.FaultHeader, "status=529")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 529 || !strings.Contains(string(b), `"type":"overloaded_error"`) {
		t.Errorf("status %d: %s; want 529 overloaded_error", resp.StatusCode, b)
	}

	// The key is nowhere to be read.
	stats, _ := json.Marshal(p.Stats())
	mu.Lock()
	logged := logs.String()
	mu.Unlock()
	if strings.Contains(logged, anthropicKey) || strings.Contains(string(stats), anthropicKey) {
		t.Error("the key appears in the mock's debug log or the pool's stats")
	}
	if !strings.Contains(logged, "mock: request") {
		t.Error("the mock logged nothing: the log check checks nothing")
	}

	// A failed attempt's error does not show it either.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	dp := poolFor(t, provider.Settings{Kind: provider.Anthropic, BaseURL: dead, APIKey: anthropicKey}, nil)
	_, _, err = messages(t, dp)
	var ue *upstream.Error
	if !errors.As(err, &ue) || strings.Contains(err.Error(), anthropicKey) {
		t.Errorf("error %v: want an *upstream.Error without the key", err)
	}
}

// TestAnthropicPoolHeaders: what goes out on the wire, seen by a plain
// server: the default anthropic-version when the caller sent none, the
// caller's own otherwise, anthropic-beta as sent, x-api-key and no
// Authorization; the path is the base URL's /v1 plus the request's.
func TestAnthropicPoolHeaders(t *testing.T) {
	type seen struct{ path, key, auth, version, beta string }
	got := make(chan seen, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- seen{r.URL.Path, r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"), r.Header.Get("Anthropic-Version"), r.Header.Get("Anthropic-Beta")}
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	p := poolFor(t, provider.Settings{Kind: provider.Anthropic, BaseURL: srv.URL + "/", APIKey: anthropicKey}, nil)
	for _, tt := range []struct {
		name string
		hdr  []string
		want seen
	}{
		{"defaults", nil, seen{"/v1/messages", anthropicKey, "", provider.DefaultAnthropicVersion, ""}},
		{"the client's version and beta", []string{"Anthropic-Version", "2026-10-21", "Anthropic-Beta", "prompt-caching-2024-07-31"},
			seen{"/v1/messages", anthropicKey, "", "2026-10-21", "prompt-caching-2024-07-31"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := messages(t, p, tt.hdr...); err != nil {
				t.Fatal(err)
			}
			select { // the handler sent before it answered
			case s := <-got:
				if s != tt.want {
					t.Errorf("upstream saw %+v, want %+v", s, tt.want)
				}
			default:
				t.Fatal("the upstream saw nothing")
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

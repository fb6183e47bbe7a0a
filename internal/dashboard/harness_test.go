// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard_test

// A small harness like internal/gateway's: real mock upstreams on real
// sockets, a gateway built by gateway.NewServer from YAML, and a client.
// Everything is stopped by t.Cleanup, in reverse order of creation.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// startMock starts a mock upstream on a free loopback port.
func startMock(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	m, err := mock.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mock.Start: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// upstreamYAML is one upstreams entry for the mock m serving models.
func upstreamYAML(t *testing.T, name string, m *mock.Server, models string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    base_url: %s/v1\n    models: %s\n", name, m.URL(), models)
	if ca := m.CAPEM(); ca != nil {
		path := filepath.Join(t.TempDir(), name+"-ca.pem")
		if err := os.WriteFile(path, ca, 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "    tls: {ca_file: %q}\n", path)
	}
	return b.String()
}

// gw is a running gateway and a client for it.
type gw struct {
	*gateway.Server
	base string // "http://127.0.0.1:PORT"
	hc   *http.Client
}

// startGateway serves the YAML config (env feeds its *_env keys) on a free
// loopback port until the test ends.
func startGateway(t *testing.T, yaml string, env map[string]string) *gw {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, yaml)
	}
	cfg.DataDir = t.TempDir() // the usage ledger: never in the source tree
	s, err := gateway.NewServer(cfg, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		_ = s.Close()
		t.Fatalf("Listen: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("gateway Shutdown: %v", err)
		}
	})
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &gw{Server: s, base: "http://" + s.Addr(), hc: &http.Client{Transport: tr}}
}

// post sends one request through the gateway and fails the test unless it
// is answered 200.
func (g *gw) post(t *testing.T, path, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := g.hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// clientKey is the client key of the gateways that have keys; the open
// gateways ignore it.
const clientKey = "sk-client-dashboard-test"

func (g *gw) chat(t *testing.T, n int) {
	t.Helper()
	for range n {
		g.post(t, "/v1/chat/completions", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"hi"}]}`)
	}
}

func (g *gw) embed(t *testing.T, n int) {
	t.Helper()
	for range n {
		g.post(t, "/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`)
	}
}

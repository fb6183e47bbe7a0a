// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

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

// TestReload: a reload keeps the warm pool of an unchanged upstream (the
// mock's connection count does not rise), adds and removes upstreams, and
// refuses a bad file without dropping service.
func TestReload(t *testing.T) {
	a := startMock(t, mock.Options{})
	b := startMock(t, mock.Options{})
	file := filepath.Join(t.TempDir(), "warmgate.yaml")
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	first := "upstreams:\n" + upstreamYAML(t, "a", a, `models: ["gpt-*"]`)
	write(first)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir()
	s, err := gateway.NewServer(cfg, nil, gateway.WithConfigFile(file))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("http://"+s.Addr()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range 3 {
		if st, body := post("/v1/chat/completions", chatBody("gpt-4.1-mini", false)); st != 200 {
			t.Fatalf("before reload: %d %s", st, body)
		}
	}
	acceptedA := a.Stats().ConnectionsAccepted

	// a unchanged, b added for embeddings; reloaded through the admin endpoint.
	// b prewarms: the keeper of an upstream added by a reload warms it
	// through the pool's observers, as at start.
	write(first + upstreamYAML(t, "b", b, `models: ["text-embedding-*"]`, `pool: {prewarm: 1}`))
	if st, body := post("/admin/reload", ""); st != 200 {
		t.Fatalf("POST /admin/reload: %d %s", st, body)
	}
	// Its warm-up request, not only its connection: the request comes
	// after the connection is accepted, and counting b's requests below
	// must not race with it.
	eventually(t, 10*time.Second, "the added upstream's prewarmed connection and its warm-up request", func() bool {
		st := b.Stats()
		return st.ConnectionsAccepted >= 1 && st.Requests >= 1
	})
	for range 3 {
		if st, body := post("/v1/chat/completions", chatBody("gpt-4.1-mini", false)); st != 200 {
			t.Fatalf("after reload: %d %s", st, body)
		}
	}
	if got := a.Stats().ConnectionsAccepted; got != acceptedA {
		t.Errorf("a accepted %d connections after the reload, had %d: its warm pool was not kept", got, acceptedA)
	}
	warmB := b.Stats().Requests // its warm-up
	if st, body := post("/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`); st != 200 || b.Stats().Requests != warmB+1 {
		t.Errorf("the new upstream b: %d %s (b saw %d requests, %d of them warm-up)", st, body, b.Stats().Requests, warmB)
	}

	// A bad file is refused; service goes on with the running config.
	write(first + "  - name: broken\n    base_url: not a url\n")
	if st, body := post("/admin/reload", ""); st != http.StatusUnprocessableEntity || !strings.Contains(body, "base_url") {
		t.Errorf("bad file: %d %s; want 422 naming base_url", st, body)
	}
	if st, _ := post("/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`); st != 200 {
		t.Errorf("after a refused reload the running config should still serve b: %d", st)
	}

	// b removed: embeddings are no longer routed.
	write(first)
	if err := s.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	if st, _ := post("/v1/embeddings", `{"model":"text-embedding-3-small","input":"hi"}`); st != http.StatusNotFound {
		t.Errorf("after removing b: status %d, want 404", st)
	}
	if got := a.Stats().ConnectionsAccepted; got != acceptedA {
		t.Errorf("a accepted %d connections over two reloads, had %d", got, acceptedA)
	}
}

// TestReloadRereadsCAFile: a reload with the same config but new content
// in an upstream's tls.ca_file (a rotated private CA) rebuilds that
// upstream with the new trust, instead of keeping its warm connections
// under the old one.
func TestReloadRereadsCAFile(t *testing.T) {
	m := startMock(t, mock.Options{TLS: true})
	other := startMock(t, mock.Options{TLS: true}) // its CA did not sign m's certificate
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	file := filepath.Join(dir, "warmgate.yaml")
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf("upstreams:\n  - name: m\n    base_url: %s/v1\n    tls: {ca_file: %q}\n    retry: {attempts: 1}\n    %s\n", m.URL(), ca, noCircuit)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, yaml, nil, gateway.WithConfigFile(file))
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
		t.Fatalf("before: %d %s", a.status, a.body)
	}

	if err := os.WriteFile(ca, other.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	// The new trust applies: m's certificate is no longer trusted.
	checkError(t, g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)), http.StatusBadGateway, "upstream_tls_error")
	if !strings.Contains(g.logs.String(), `"kept_warm":0`) {
		t.Errorf("the reload kept the upstream whose CA file changed:\n%s", g.logs.String())
	}

	// Back to the right CA, and reloaded again: served again.
	if err := os.WriteFile(ca, m.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	if a := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); a.status != http.StatusOK {
		t.Errorf("after the CA was restored: %d %s", a.status, a.body)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

func TestHealthURL(t *testing.T) {
	tests := []struct {
		listen string
		ready  bool
		want   string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:8080", true, "http://127.0.0.1:8080/readyz"},
		{":9000", false, "http://127.0.0.1:9000/healthz"},
		{"[::]:8080", false, "http://127.0.0.1:8080/healthz"},
		{"[::1]:8080", false, "http://[::1]:8080/healthz"},
		{"gw.internal:8080", false, "http://gw.internal:8080/healthz"},
	}
	for _, tt := range tests {
		got, err := healthURL(tt.listen, tt.ready)
		if err != nil || got != tt.want {
			t.Errorf("healthURL(%q, %v) = %q, %v; want %q", tt.listen, tt.ready, got, err, tt.want)
		}
	}
	if _, err := healthURL("8080", false); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("healthURL(8080) error = %v, want one naming host:port", err)
	}
}

// TestHealth runs `warmgate health` against a running `warmgate serve`, as
// a container's HEALTHCHECK does, with the address from WARMGATE_LISTEN;
// then against a port where nothing listens: a non-zero exit that says
// what to check.
func TestHealth(t *testing.T) {
	t.Chdir(t.TempDir())
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Setenv("OPENAI_BASE_URL", m.URL()+"/v1")
	t.Setenv("OPENAI_API_KEY", "sk-healthtest")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, _, done := serveInProcess(t, ctx)
	_, port, _ := net.SplitHostPort(addr)
	t.Setenv("WARMGATE_LISTEN", "0.0.0.0:"+port) // as in the container image
	got, err := execute(t, t.Context(), "health")
	if err != nil || !strings.Contains(got, "/healthz") || !strings.Contains(got, "ok") {
		t.Errorf("health = %q, %v; want the /healthz answer", got, err)
	}
	// Ready once the pool is warm (the mock answers at once).
	var rerr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, rerr = execute(t, t.Context(), "health", "--ready"); rerr == nil {
			break
		}
	}
	if rerr != nil {
		t.Errorf("health --ready: %v", rerr)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Nothing listens there any more.
	_, err = execute(t, t.Context(), "health", "--timeout", "2s")
	if err == nil || !strings.Contains(err.Error(), "is warmgate serve running") {
		t.Errorf("health with no gateway: %v, want an error saying what to check", err)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// openFDs counts this process's open file descriptors (Linux).
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors here: %v", err)
	}
	return len(ents)
}

// TestThousandGatewaysLeakNothing opens, uses and shuts down 1,000
// gateways (each with its warm upstream pool, keeper, metrics and
// dashboard): goroutines and file descriptors return to where they started.
func TestThousandGatewaysLeakNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 gateways; -short skips it")
	}
	m := startMock(t, mock.Options{})
	cfg, err := config.Parse([]byte("upstreams:\n  - name: mock\n    base_url: "+m.URL()+"/v1\n    pool: {prewarm: 1}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = t.TempDir() // each gateway opens (and must close) the usage ledger
	tr := &http.Transport{DisableKeepAlives: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	settle := func() (int, int) {
		tr.CloseIdleConnections()
		time.Sleep(50 * time.Millisecond)
		return runtime.NumGoroutine(), openFDs(t)
	}
	g0, f0 := settle()
	for i := range 1000 {
		s, err := gateway.NewServer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		s.Start()
		resp, err := client.Post("http://"+s.Addr()+"/v1/chat/completions", "application/json", strings.NewReader(chatBody("gpt-4.1-mini", false)))
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("gateway %d: status %d", i, resp.StatusCode)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatalf("gateway %d: shutdown: %v", i, err)
		}
	}
	// Connections the mock has not closed yet take a moment to go.
	var g1, f1 int
	for deadline := time.Now().Add(5 * time.Second); ; {
		g1, f1 = settle()
		if g1 <= g0+5 && f1 <= f0+5 || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("goroutines %d → %d, file descriptors %d → %d after 1,000 gateways", g0, g1, f0, f1)
	if g1 > g0+5 || f1 > f0+5 {
		t.Errorf("after 1,000 gateways: goroutines %d → %d, file descriptors %d → %d", g0, g1, f0, f1)
	}
}

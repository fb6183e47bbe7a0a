// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/mock"
)

// TestUpstreamDiesAndComesBack: two upstreams behind one model share the
// traffic; one is killed mid-run. Non-streamed requests never fail, the
// dead one's circuit opens, and once it is back on its address it is probed
// after the cooldown and takes traffic again.
func TestUpstreamDiesAndComesBack(t *testing.T) {
	a := startMock(t, mock.Options{})
	b := startMock(t, mock.Options{})
	addrA := strings.TrimPrefix(a.URL(), "http://")
	yaml := "upstreams:\n" +
		upstreamYAML(t, "a", a, testModels, fastRetry, "circuit: {failures: 2, cooldown: 300ms}") +
		upstreamYAML(t, "b", b, testModels, fastRetry)
	g := startGateway(t, yaml, nil)
	chat := func(i int) {
		t.Helper()
		if r := g.do(t, http.MethodPost, "/v1/chat/completions", chatBody("gpt-4.1-mini", false)); r.status != 200 {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	for i := range 50 {
		chat(i)
	}
	if a.Stats().Requests == 0 || b.Stats().Requests == 0 {
		t.Fatalf("traffic did not split: a %d, b %d", a.Stats().Requests, b.Stats().Requests)
	}
	_ = a.Close() // a dies
	for i := range 100 {
		chat(50 + i)
	}
	var circuitA string
	for _, s := range g.Pool.Stats() {
		if s.Name == "a" {
			circuitA = s.Circuit.String()
		}
	}
	if circuitA == "closed" {
		t.Errorf("a's circuit is %s after it died, want open or half-open", circuitA)
	}
	back, err := mock.Start(mock.Options{}, addrA) // a comes back on its address
	if err != nil {
		t.Skipf("cannot restart a on %s: %v", addrA, err)
	}
	t.Cleanup(func() { _ = back.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; back.Stats().Requests == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("a was not probed and used again within 5s of coming back")
		}
		chat(150 + i)
		time.Sleep(20 * time.Millisecond)
	}
}

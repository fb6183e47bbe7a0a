// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/upstream"
)

// TestViewCacheIsBounded: the per-model view cache is keyed by a name the
// client chooses. With an upstream that serves every model (no globs),
// made-up names must not grow it without bound.
func TestViewCacheIsBounded(t *testing.T) {
	g := testGateway(t, "upstreams:\n  - name: any\n    base_url: http://127.0.0.1:1/v1\n")
	for i := range 20_000 {
		if g.view(fmt.Sprintf("made-up-model-%d", i)) == nil {
			t.Fatal("an upstream without globs serves every model")
		}
	}
	n := 0
	g.views.Range(func(any, any) bool { n++; return true })
	if n > maxViews {
		t.Errorf("the view cache holds %d entries after 20,000 made-up model names, want at most %d", n, maxViews)
	}
	if g.view("made-up-model-1") == nil || g.view("made-up-model-19999") == nil {
		t.Error("a model not cached must still be routed")
	}
}

// TestTotalTimeoutByModel: a request's deadline is the largest
// timeouts.total among the upstreams serving its models (every upstream
// for a request that names none), the same when the models' views come
// from the cache.
func TestTotalTimeoutByModel(t *testing.T) {
	yaml := "upstreams:\n" +
		"  - {name: a, base_url: http://127.0.0.1:1/v1, models: [\"gpt-*\"], timeouts: {total: 2s}}\n" +
		"  - {name: b, base_url: http://127.0.0.1:1/v1, models: [\"gpt-4*\"], timeouts: {total: 5s}}\n" +
		"  - {name: c, base_url: http://127.0.0.1:1/v1, models: [\"claude-*\"]}\n"
	g := testGateway(t, yaml)
	long := "gpt-" + strings.Repeat("x", 300) // not cached: too long a name
	for _, round := range []string{"first", "cached"} {
		for _, tc := range []struct {
			models []string
			want   time.Duration
		}{
			{[]string{"gpt-4o"}, 5 * time.Second},
			{[]string{"gpt-3.5"}, 2 * time.Second},
			{[]string{"claude-x"}, 0},
			{[]string{"claude-x", "gpt-3.5"}, 2 * time.Second},
			{[]string{"llama"}, 0}, // no upstream serves it
			{[]string{long}, 2 * time.Second},
			{[]string{""}, 5 * time.Second},
		} {
			if got := g.totalTimeout(tc.models); got != tc.want {
				t.Errorf("%s: totalTimeout(%.20q) = %v, want %v", round, tc.models, got, tc.want)
			}
		}
	}
}

// testGateway is a Gateway of the config yaml, its pool closed when the
// test ends; nothing listens.
func testGateway(t *testing.T, yaml string) *Gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ucs, err := UpstreamConfigs(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := upstream.New(ucs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return New(cfg, pool, nil)
}

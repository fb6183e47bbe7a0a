// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"fmt"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/upstream"
)

// TestViewCacheIsBounded: the per-model view cache is keyed by a name the
// client chooses. With an upstream that serves every model (no globs),
// made-up names must not grow it without bound.
func TestViewCacheIsBounded(t *testing.T) {
	cfg, err := config.Parse([]byte("upstreams:\n  - name: any\n    base_url: http://127.0.0.1:1/v1\n"), func(string) string { return "" })
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
	defer pool.Close()
	g := New(cfg, pool, nil)
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

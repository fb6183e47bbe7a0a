// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"io"
	"testing"
)

func TestRebuildKeepsWarmUpstreams(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		a := newServer(t, m, okHandler)
		b := newServer(t, m, okHandler)
		c := newServer(t, m, okHandler)
		p, err := New([]Config{{Name: "a", BaseURL: a.URL, TLS: a.clientTLS()}, {Name: "b", BaseURL: b.URL, TLS: b.clientTLS()}})
		if err != nil {
			t.Fatal(err)
		}
		send := func(p *Pool, name string) {
			t.Helper()
			resp, err := post(t, t.Context(), p.Only(name), "x")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		send(p, "a")
		send(p, "b")
		// Reload: a unchanged, b dropped, c added.
		np, err := p.Rebuild([]Config{{Name: "a", BaseURL: a.URL, TLS: a.clientTLS()}, {Name: "c", BaseURL: c.URL, TLS: c.clientTLS()}}, func(n string) bool { return n == "a" })
		if err != nil {
			t.Fatal(err)
		}
		defer np.Close()
		p.Close() // retired: must not close a, which np carries
		send(np, "a")
		send(np, "c")
		if got := a.accepted.Load(); got != 1 {
			t.Errorf("a accepted %d connections: the reload should keep its warm one", got)
		}
		st := np.Stats()
		if len(st) != 2 || st[0].Name != "a" || st[1].Name != "c" || st[0].Reused != 1 {
			t.Errorf("stats after the reload: %+v", st)
		}
		if _, err := post(t, t.Context(), np.Only("b"), "x"); err == nil {
			t.Error("b is still served after it was removed")
		}
	})
}

// TestRebuildNewUpstreamWarmsThroughTheObserver: an upstream added by a
// reload warms up like one made by New: its warm-up attempt reaches the
// pool's Observer, marked Warm (before, the keeper of an added upstream
// had no Observer to report to).
func TestRebuildNewUpstreamWarmsThroughTheObserver(t *testing.T) {
	runSync(t, func(t *testing.T, m mode) {
		a := newMemServer(t, m, okHandler)
		c := newMemServer(t, m, okHandler)
		ca := Config{Name: "a", BaseURL: a.URL, DialContext: a.dial, TLS: a.clientTLS()}
		obs := &attempts{}
		p, err := New([]Config{ca}, WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		np, err := p.Rebuild([]Config{ca, {Name: "c", BaseURL: c.URL, DialContext: c.dial, TLS: c.clientTLS(), Prewarm: 1}}, func(n string) bool { return n == "a" })
		if err != nil {
			t.Fatal(err)
		}
		defer np.Close()
		p.Close()
		np.Warm(t.Context())
		obs.mu.Lock()
		defer obs.mu.Unlock()
		var warmC bool
		for _, i := range obs.all {
			warmC = warmC || i.Upstream == "c" && i.Warm
		}
		if !warmC {
			t.Errorf("no warm attempt of the added upstream reached the observer: %+v", obs.all)
		}
	})
}

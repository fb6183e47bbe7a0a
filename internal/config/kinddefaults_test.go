// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/provider"
)

// TestKindPoolDefaults: an upstream's pool settings left unset take its
// kind's defaults (provider.DefaultPool); those set are kept.
func TestKindPoolDefaults(t *testing.T) {
	in := `upstreams:
  - {name: o, base_url: "https://api.openai.com/v1"}
  - {name: a, kind: anthropic, base_url: "https://api.anthropic.com"}
  - {name: z, kind: azure, base_url: "https://r.openai.azure.com/openai/v1"}
  - {name: own, kind: anthropic, base_url: "https://api.anthropic.com", pool: {idle_timeout: 20s, max_streams_per_conn: 10, http2: true}}
`
	c, err := Parse([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{
		0, // openai: the upstream package's default
		provider.DefaultPool(provider.Anthropic).IdleTimeout,
		provider.DefaultPool(provider.Azure).IdleTimeout,
		20 * time.Second,
	} {
		if got := c.Upstreams[i].Pool.IdleTimeout; got != want {
			t.Errorf("upstreams[%d] (%s): idle_timeout %v, want %v", i, c.Upstreams[i].Name, got, want)
		}
	}
	if d := provider.DefaultPool(provider.Anthropic).IdleTimeout; d == 0 {
		t.Error("kind anthropic has no idle timeout of its own: the test checks nothing")
	}
	if p := c.Upstreams[3].Pool; p.MaxStreamsPerConn != 10 || p.HTTP2 == nil || !*p.HTTP2 {
		t.Errorf("the upstream's own pool settings were not kept: %+v", p)
	}
}

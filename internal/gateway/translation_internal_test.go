// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"slices"
	"testing"

	"github.com/warmgate/warmgate/internal/provider"
)

// TestAttemptsOrder: a request's groups are its own dialect's upstreams
// first, then those of each other dialect its row has a translation to,
// in the config order of each dialect's first upstream (not the row's
// order of translations); a dialect without a translation is skipped.
func TestAttemptsOrder(t *testing.T) {
	g := testGateway(t, `upstreams:
  - {name: ant, kind: anthropic, base_url: "http://127.0.0.1:1", models: [m, a-only]}
  - {name: gem, kind: gemini, base_url: "http://127.0.0.1:2", models: [m, g-only]}
  - {name: oai, base_url: "http://127.0.0.1:3/v1", models: [m]}
  - {name: gem2, kind: gemini, base_url: "http://127.0.0.1:4", models: [m]}
`)

	toGemini := &translation{to: provider.DialectGemini}
	toAnthropic := &translation{to: provider.DialectAnthropic}
	toOpenAI := &translation{to: provider.DialectOpenAI}
	type group struct {
		to    provider.Dialect // "" for the client's own
		names []string
	}
	for _, tt := range []struct {
		name  string
		ep    *endpoint
		model string
		want  []group
	}{
		{"openai client, every dialect", &endpoint{front: openaiFront, xlate: []*translation{toGemini, toAnthropic}}, "m",
			[]group{{"", []string{"oai"}}, {provider.DialectAnthropic, []string{"ant"}}, {provider.DialectGemini, []string{"gem", "gem2"}}}},
		{"anthropic client, every dialect", &endpoint{front: anthropicFront, xlate: []*translation{toOpenAI, toGemini}}, "m",
			[]group{{"", []string{"ant"}}, {provider.DialectGemini, []string{"gem", "gem2"}}, {provider.DialectOpenAI, []string{"oai"}}}},
		{"no translation to gemini", &endpoint{front: openaiFront, xlate: []*translation{toAnthropic}}, "m",
			[]group{{"", []string{"oai"}}, {provider.DialectAnthropic, []string{"ant"}}}},
		{"served by gemini only", &endpoint{front: openaiFront, xlate: []*translation{toGemini, toAnthropic}}, "g-only",
			[]group{{provider.DialectGemini, []string{"gem"}}}},
		{"served by gemini only, no translation", &endpoint{front: openaiFront}, "g-only", nil},
		{"served by anthropic only, no translation to it", &endpoint{front: openaiFront, xlate: []*translation{toGemini}}, "a-only", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var groups [maxGroups]attempt
			var got []group
			for _, a := range g.attempts(tt.ep, tt.model, &groups) {
				gr := group{}
				if a.xl != nil {
					gr.to = a.xl.to
				}
				for _, u := range a.view.Upstreams() {
					gr.names = append(gr.names, u.Name())
				}
				got = append(got, gr)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b group) bool { return a.to == b.to && slices.Equal(a.names, b.names) }) {
				t.Errorf("groups %v, want %v", got, tt.want)
			}
		})
	}
}

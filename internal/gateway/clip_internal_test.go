// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"gpt-4o", 256, "gpt-4o"},
		{strings.Repeat("a", 256), 256, strings.Repeat("a", 256)},
		{strings.Repeat("a", 300), 32, strings.Repeat("a", 18) + "…(300 bytes)"}, // "…" is 3 bytes
		// Cut before a character, never inside it.
		{"aé" + strings.Repeat("b", 40), 15, "a…(43 bytes)"},
		{"aé" + strings.Repeat("b", 40), 16, "aé…(43 bytes)"},
		{strings.Repeat("a", 300), 4, "…(300 bytes)"}, // n too small for a start: the size alone
	}
	for _, tt := range tests {
		got := clip(tt.s, tt.n)
		if got != tt.want {
			t.Errorf("clip(%.20q… (%d bytes), %d) = %q, want %q", tt.s, len(tt.s), tt.n, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("clip(%.20q, %d) = %q: not valid UTF-8", tt.s, tt.n, got)
		}
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package jsonstring

import (
	"encoding/json"
	"testing"
)

// TestAppend: the hand-made encoding decodes to what
// encoding/json's encoding decodes to, for every kind of character.
func TestAppend(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted" \ back`, "line\nfeed\r\ttab", "\x00\x01\x1f\x7f", "<html> & more",
		"héllo wörld ✓ 😀", "bad \xff utf8 \xc3", "sep\u2028\u2029", "end\\"} {
		got := Append(nil, s)
		if !json.Valid(got) {
			t.Fatalf("%q: not valid JSON: %s", s, got)
		}
		want, _ := json.Marshal(s)
		var a, b string
		_ = json.Unmarshal(got, &a)
		_ = json.Unmarshal(want, &b)
		if a != b {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, a, b)
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("a\"b\\c\n\x00\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		got := Append(nil, s)
		want, _ := json.Marshal(s)
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("%q: %s is not a JSON string: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &b)
		if a != b {
			t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, a, b)
		}
	})
}

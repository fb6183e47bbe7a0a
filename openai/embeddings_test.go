// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package openai

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEmbeddingInput(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     EmbeddingInput
		out      string
	}{
		{"string", `"hi"`, EmbeddingInput{Texts: []string{"hi"}, FromString: true}, `"hi"`},
		{"strings", `["a","b"]`, EmbeddingInput{Texts: []string{"a", "b"}}, `["a","b"]`},
		{"tokens", `[1,2,3]`, EmbeddingInput{Tokens: json.RawMessage(`[1,2,3]`)}, `[1,2,3]`},
		{"token arrays", `[[1],[2]]`, EmbeddingInput{Tokens: json.RawMessage(`[[1],[2]]`)}, `[[1],[2]]`},
		{"empty", `[]`, EmbeddingInput{Texts: []string{}}, `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got EmbeddingInput
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decoded %+v, want %+v", got, tc.want)
			}
			b, err := json.Marshal(got)
			if err != nil || string(b) != tc.out {
				t.Fatalf("encoded %s, %v; want %s", b, err, tc.out)
			}
		})
	}
	for _, bad := range []string{`{}`, `3`, `["a",1]`} {
		var got EmbeddingInput
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded as %+v; want an error", bad, got)
		}
	}
}

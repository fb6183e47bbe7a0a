// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"
	"testing"
)

func TestWithModel(t *testing.T) {
	tests := []struct {
		name, in, model, want string
	}{
		{"simple", `{"model":"fast","messages":[]}`, "gpt-4.1-mini", `{"model":"gpt-4.1-mini","messages":[]}`},
		{"spaces kept", `{ "stream" : true ,  "model" :  "fast" , "x":1}`, "m", `{ "stream" : true ,  "model" :  "m" , "x":1}`},
		{"nested model untouched", `{"meta":{"model":"inner"},"model":"fast"}`, "m", `{"meta":{"model":"inner"},"model":"m"}`},
		{"duplicate key: the last one counts", `{"model":"a","model":"fast"}`, "m", `{"model":"a","model":"m"}`},
		{"escapes in value", `{"model":"fa\"st"}`, "m", `{"model":"m"}`},
		{"unicode kept elsewhere", `{"messages":[{"content":"héllo \u00e9"}],"model":"fast"}`, "m", `{"messages":[{"content":"héllo \u00e9"}],"model":"m"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withModel([]byte(tt.in), tt.model)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("withModel = %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("result is not valid JSON: %s", got)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"x":1}`, `{"model":5}`} {
		if _, err := withModel([]byte(bad), "m"); err == nil {
			t.Errorf("withModel(%s): no error", bad)
		}
	}
}

func TestDuplicateModel(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"model":"a"}`, false},
		{`{"model":"a","messages":[{"model":"b"}]}`, false},
		{`{"model":"a","model":"b"}`, true},
		{`{"model":"a", "x":1, "model" : "b"}`, true},
	}
	for _, tt := range tests {
		if got := duplicateModel([]byte(tt.in)); got != tt.want {
			t.Errorf("duplicateModel(%s) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzWithModel(f *testing.F) {
	f.Add([]byte(`{"model":"a","b":[1,{"model":"c"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := withModel(b, "gpt-x")
		if err != nil {
			return
		}
		var env struct {
			Model string `json:"model"`
		}
		if json.Valid(b) {
			if err := json.Unmarshal(out, &env); err != nil || env.Model != "gpt-x" {
				t.Fatalf("withModel(%q) = %q (%v), model %q", b, out, err, env.Model)
			}
		}
	})
}

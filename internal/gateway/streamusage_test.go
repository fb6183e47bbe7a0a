// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"encoding/json"
	"testing"
)

func TestWithStreamUsage(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"absent", `{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`, true},
		{"absent, spaces kept", "{ \n \"model\": \"m\" }", "{\"stream_options\":{\"include_usage\":true}, \n \"model\": \"m\" }", true},
		{"false", `{"model":"m","stream_options":{"include_usage":false},"stream":true}`, `{"model":"m","stream_options":{"include_usage":true},"stream":true}`, true},
		{"other options kept", `{"model":"m","stream_options":{"x":[1, 2]}}`, `{"model":"m","stream_options":{"include_usage":true,"x":[1,2]}}`, true},
		{"null", `{"model":"m","stream_options":null}`, `{"model":"m","stream_options":{"include_usage":true}}`, true},
		{"duplicates all set", `{"stream_options":{},"model":"m","stream_options":null}`, `{"stream_options":{"include_usage":true},"model":"m","stream_options":{"include_usage":true}}`, true},
		{"not an object", `{"model":"m","stream_options":"yes"}`, `{"model":"m","stream_options":"yes"}`, false},
		{"invalid JSON", `{"model":"m",`, `{"model":"m",`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := withStreamUsage([]byte(tt.in))
			if string(got) != tt.want || ok != tt.ok {
				t.Errorf("withStreamUsage(%s) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && !json.Valid(got) {
				t.Errorf("result is not valid JSON: %s", got)
			}
		})
	}
}

func TestEmptyChoices(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{`{"id":"x","choices":[],"usage":{"total_tokens":3}}`, true},
		{`{"choices" : [ ] ,"usage":{}}`, true},
		{`{"choices":[{"index":0,"delta":{"content":"\"choices\":[]"}}],"usage":null}`, false},
		{`{"choices":[{"index":0}]}`, false},
		{`{"usage":{"total_tokens":3}}`, false},
		{`{"x":"choices","choices":[]}`, true},
	}
	for _, tt := range tests {
		if got := emptyChoices([]byte(tt.data)); got != tt.want {
			t.Errorf("emptyChoices(%s) = %v, want %v", tt.data, got, tt.want)
		}
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"strings"
	"testing"
)

// TestFailed: a run with a success is not a failure; one without names its
// most common failure, an error class or a status with its message.
func TestFailed(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Result
		want []string // in the error; nil: no error
	}{
		{"one success", Result{Requests: 10, OK: 1, Status: map[int]int{200: 1, 401: 9}}, nil},
		{"statuses", Result{Requests: 10, Status: map[int]int{401: 7, 503: 3}, details: map[int]string{401: "invalid API key"}},
			[]string{"7 of 10 answered 401 Unauthorized", `("invalid API key")`, "--key-env"}},
		{"errors beat statuses", Result{Requests: 10, Errors: 6, Status: map[int]int{500: 4},
			ErrorsByClass: map[string]ErrorClass{ClassTimeout: {Count: 6, Example: "context deadline exceeded"}}},
			[]string{"6 of 10 failed with timeout (context deadline exceeded)", "--timeout"}},
		{"a tie goes to the status", Result{Requests: 4, Errors: 2, Status: map[int]int{429: 2},
			ErrorsByClass: map[string]ErrorClass{ClassReset: {Count: 2, Example: "EOF"}}},
			[]string{"2 of 4 answered 429 Too Many Requests", "lower --concurrency"}},
		{"nothing finished", Result{}, []string{"no request finished"}},
		{"interrupted", Result{Interrupted: true}, []string{"interrupted before any request finished"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Failed()
			if tt.want == nil {
				if err != nil {
					t.Errorf("Failed() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Failed() = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Failed() = %q, does not say %q", err, w)
				}
			}
		})
	}
}

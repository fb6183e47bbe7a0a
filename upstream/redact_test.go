// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"strings"
	"testing"
)

// TestStatsHideBaseURLCredentials: Stats (what dashboards show) and New's
// errors never hold a base URL's password, nor a user name given alone.
func TestStatsHideBaseURLCredentials(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"https://user:s3cret-1@api.example.com/v1", "https://user:xxxxx@api.example.com/v1"},
		{"https://sk-s3cret-2@api.example.com/v1", "https://xxxxx@api.example.com/v1"},
		{"https://api.example.com/v1/", "https://api.example.com/v1"},
	} {
		p, err := New([]Config{{Name: "a", BaseURL: tt.base}})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Stats()[0].BaseURL; got != tt.want {
			t.Errorf("Stats().BaseURL of %s = %q, want %q", tt.base, got, tt.want)
		}
		_ = p.Close()
	}
	for _, base := range []string{"ftp://user:s3cret-3@example.com/v1", "https://user:s3cret-4@exa mple.com/v1"} {
		_, err := New([]Config{{Name: "a", BaseURL: base}})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%s) = %v; want an error without the password", base, err)
		}
	}
}

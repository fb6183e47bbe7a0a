// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
)

// TestBaseURLPasswordNotShown: credentials in a base_url (a password, or a
// user name alone, which some APIs take as the key) are refused by the
// config, since the gateway sends no Basic auth, and the refusal shows
// neither. (Stats, what /api/pools shows, redacts them for Go programs
// that give such a URL to the pool itself: see package upstream.)
func TestBaseURLPasswordNotShown(t *testing.T) {
	yaml := "upstreams:\n" +
		"  - name: live\n    base_url: http://user:urlsecret1@127.0.0.1:1/v1\n    models: [\"gpt-*\"]\n" +
		"  - name: dead\n    base_url: http://tok-urlsecret2@127.0.0.1:2/v1\n    models: [\"dead-*\"]\n"
	_, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err == nil {
		t.Fatal("a base_url with credentials was accepted")
	}
	for _, want := range []string{`"http://user:xxxxx@127.0.0.1:1/v1" must not carry a user or password`, `"http://xxxxx@127.0.0.1:2/v1" must not carry`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
	for _, secret := range []string{"urlsecret1", "urlsecret2"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q is shown: %v", secret, err)
		}
	}
}

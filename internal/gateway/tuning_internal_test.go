// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"testing"

	"github.com/warmgate/warmgate/internal/config"
)

// TestRetryAssumeIdempotentReachesThePool: retry.assume_idempotent in the
// config file becomes the upstream's RetryPolicy.AssumeIdempotent.
func TestRetryAssumeIdempotentReachesThePool(t *testing.T) {
	cfg, err := config.Parse([]byte(`upstreams:
  - {name: local, base_url: "http://127.0.0.1:1/v1", retry: {assume_idempotent: true}}
  - {name: remote, base_url: "http://127.0.0.1:2/v1"}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ucs, err := UpstreamConfigs(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ucs[0].Retry.AssumeIdempotent || ucs[1].Retry.AssumeIdempotent {
		t.Errorf("AssumeIdempotent = %v, %v; want true for local only", ucs[0].Retry.AssumeIdempotent, ucs[1].Retry.AssumeIdempotent)
	}
}

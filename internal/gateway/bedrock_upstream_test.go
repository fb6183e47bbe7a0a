// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/gateway"
	"github.com/warmgate/warmgate/internal/mock"
)

// bedrockEnv isolates the AWS SDK's credential chain: these static keys
// (none when "") and nothing else, no network.
func bedrockEnv(t testing.TB, keyID, secret string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
	} {
		t.Setenv(k, v)
	}
}

// TestBedrockUpstreamStart: a kind bedrock upstream starts with the AWS
// chain's credentials, and its warm-up passes the mock's signature check;
// without a credential the start fails saying where to put one; the
// effective config spells out the region's endpoint.
func TestBedrockUpstreamStart(t *testing.T) {
	const keyID, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	bedrockEnv(t, keyID, secret)
	m := startMock(t, mock.Options{AWSAccessKeyID: keyID, AWSSecretAccessKey: secret})
	yaml := fmt.Sprintf("upstreams:\n  - {name: bedrock, kind: bedrock, region: us-east-1, base_url: %q, pool: {prewarm: 1}}\n", m.URL())
	g := startGateway(t, yaml, nil)
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	g.Warm(ctx)
	if st := g.Pool.Stats()[0].WarmStatus; st != http.StatusOK {
		t.Errorf("warm-up status %d, want 200 (ListAsyncInvokes, signed)", st)
	}
	if strings.Contains(g.logs.String(), secret) {
		t.Error("the gateway logged the secret key")
	}

	cfg, err := config.Parse([]byte("upstreams:\n  - {name: bedrock, kind: bedrock, region: eu-west-3}\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := gateway.Effective(cfg).Upstreams[0].BaseURL; got != "https://bedrock-runtime.eu-west-3.amazonaws.com" {
		t.Errorf("effective base_url %q, want the region's endpoint", got)
	}
	bedrockEnv(t, "", "")
	cfg.DataDir = t.TempDir()
	s, err := gateway.NewServer(cfg, nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("a bedrock upstream without AWS credentials started")
	}
	if want := `upstream "bedrock": no AWS credentials for Bedrock in eu-west-3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %v\nwant it to say %q", err, want)
	}
}

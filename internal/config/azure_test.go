// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestAzureKeys: kind azure's keys parse in both URL styles, with a key or
// an Entra ID token (from the environment, or a file checked at load).
func TestAzureKeys(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("eyJ0eXAi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := `upstreams:
  - name: azure
    kind: azure
    base_url: https://res.openai.azure.com
    api_key_env: AZURE_OPENAI_API_KEY
    api_version: "2024-10-21"
    deployments: {"gpt-4o": "my-gpt-4o"}
  - name: azure-v1
    kind: azure
    base_url: https://res.openai.azure.com/openai/v1
    entra_token_env: AZURE_TOKEN
  - name: azure-file
    kind: azure
    base_url: https://res.openai.azure.com
    entra_token_file: ` + tok + "\n"
	c, err := Parse([]byte(in), env(map[string]string{"AZURE_OPENAI_API_KEY": "az-k", "AZURE_TOKEN": "eyJ-env"}))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams
	if u[0].Kind != "azure" || u[0].APIKey != "az-k" || u[0].APIVersion != "2024-10-21" || !reflect.DeepEqual(u[0].Deployments, map[string]string{"gpt-4o": "my-gpt-4o"}) {
		t.Errorf("upstreams[0] = %+v", u[0])
	}
	if u[1].EntraToken != "eyJ-env" || u[1].APIKey != "" {
		t.Errorf("upstreams[1]: token from the environment %q, key %q", u[1].EntraToken, u[1].APIKey)
	}
	if u[2].EntraTokenFile != tok || u[2].EntraToken != "" {
		t.Errorf("upstreams[2]: token file %q, token %q (the file is read by the gateway, not here)", u[2].EntraTokenFile, u[2].EntraToken)
	}
}

// TestAzureKeyErrors: each mistake is named by key and line, with how to
// fix it.
func TestAzureKeyErrors(t *testing.T) {
	const az = "upstreams:\n  - name: a\n    kind: azure\n    base_url: https://r.openai.azure.com\n" // lines 1-4
	const oa = "upstreams:\n  - name: a\n    base_url: http://x\n"                                    // lines 1-3
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		in       string
		env      map[string]string
		wantLine int
		want     string
	}{
		{"api_version on openai", oa + "    api_version: \"2024-10-21\"\n", nil, 4,
			`upstreams[0].api_version: api_version applies to kind: azure only (this upstream is kind openai): set kind: azure, or remove it`},
		{"deployments on anthropic", "upstreams:\n  - name: a\n    kind: anthropic\n    base_url: http://x\n    deployments: {a: b}\n", nil, 5,
			`upstreams[0].deployments: deployments applies to kind: azure only (this upstream is kind anthropic)`},
		{"entra token on openai", oa + "    entra_token_env: T\n", map[string]string{"T": "t"}, 4, `upstreams[0].entra_token_env: entra_token_env applies to kind: azure only`},
		{"bad api_version", az + "    api_version: v1\n", nil, 5, `upstreams[0].api_version: api_version "v1" is not an Azure API version (use a date such as "2024-10-21"`},
		{"deployments with v1", "upstreams:\n  - name: a\n    kind: azure\n    base_url: https://r.openai.azure.com/openai/v1/\n    deployments: {a: b}\n", nil, 5,
			`upstreams[0].deployments: deployments apply to Azure's deployment style; with the v1 API (base_url ending in /openai/v1) the model is the deployment name`},
		{"empty deployment", az + "    deployments:\n      gpt-4o: \"\"\n", nil, 6, `upstreams[0].deployments["gpt-4o"]: model "gpt-4o" maps to an empty deployment name`},
		{"deployment with a slash", az + "    deployments: {gpt-4o: \"a/b\"}\n", nil, 5, `upstreams[0].deployments["gpt-4o"]: "a/b" is not a deployment name`},
		{"key and token", az + "    api_key_env: K\n    entra_token_env: T\n", map[string]string{"K": "k", "T": "t"}, 6,
			`upstreams[0].entra_token_env: an Azure upstream takes an API key (api_key_env, api_key_file) or a Microsoft Entra ID token (entra_token_env, entra_token_file), not both`},
		{"token env and file", az + "    entra_token_env: T\n    entra_token_file: /t\n", map[string]string{"T": "t"}, 6, `upstreams[0].entra_token_file: set entra_token_env or entra_token_file, not both`},
		{"token env unset", az + "    entra_token_env: AZURE_TOKEN\n", nil, 5,
			`upstreams[0].entra_token_env: environment variable AZURE_TOKEN (the Entra ID token of upstream "a") is not set`},
		{"token file missing", az + "    entra_token_file: /nonexistent/warmgate-token\n", nil, 5,
			`upstreams[0].entra_token_file: cannot read the Entra ID token of upstream "a"`},
		{"token file empty", az + "    entra_token_file: " + empty + "\n", nil, 5, `(the Entra ID token of upstream "a") is empty`},
		{"api-key in headers", az + "    headers: {api-key: x}\n", nil, 5, `credentials do not go in headers`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant %q", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line != tt.wantLine {
				t.Errorf("line %d, want %d (error %q)", e.Line, tt.wantLine, err)
			}
			for _, secret := range []string{"\"k\"", "\"t\""} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		})
	}
}

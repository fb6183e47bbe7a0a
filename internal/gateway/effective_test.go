// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package gateway

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warmgate/warmgate/internal/config"
)

func TestPrintConfig(t *testing.T) {
	const file = `
upstreams:
  - name: openai
    base_url: https://api.openai.com/v1
    api_key_env: PC_KEY
    models: ["gpt-*"]
    timeouts: {connect: 3s}
  - name: local
    base_url: http://127.0.0.1:11434/v1
    api_key_file: KEYFILE
    pool: {http2: false, max_conns: 8}
redis:
  url: redis://:redissecret2@127.0.0.1:6390/0
admin:
  key_env: PC_ADMIN
tracing:
  otlp_endpoint: http://u:tracesecret3@127.0.0.1:4318
`
	dir := t.TempDir()
	keyFile := dir + "/key"
	writeFile(t, keyFile, "sk-filesecret4\n")
	env := map[string]string{"PC_KEY": "sk-envsecret5", "PC_ADMIN": "adminsecret6"}
	cfg, err := config.Parse([]byte(strings.Replace(file, "KEYFILE", keyFile, 1)), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := PrintConfig(&out, cfg); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, secret := range []string{"redissecret2", "tracesecret3", "filesecret4", "envsecret5", "adminsecret6"} {
		if strings.Contains(text, secret) {
			t.Errorf("output shows secret %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{
		"# upstream openai: API key from $PC_KEY: set (redacted)",
		"# upstream local: API key from file " + keyFile + ": set (redacted)",
		"# admin key from $PC_ADMIN: set (redacted)",
		"connect: 3s",         // as written
		"first_byte: 2m0s",    // the upstream package's default
		"idle_timeout: 1m30s", // pool default
		"http2: false",
		"max_idle: 8", // follows max_conns
		"url: redis://:xxxxx@127.0.0.1:6390/0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}

	// What it prints is a valid config file that runs the same settings.
	again, err := config.Parse(out.Bytes(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, text)
	}
	got := again.Upstreams[0]
	if got.Timeouts.FirstByte != 2*time.Minute || got.Timeouts.Connect != 3*time.Second || got.Pool.MaxIdle != 256 {
		t.Errorf("reloaded upstream = %+v", got)
	}
	if got.APIKey != "sk-envsecret5" {
		t.Error("the printed config lost the key's source (api_key_env)")
	}
}

// Without a file, OPENAI_API_KEY may be unset (keyless upstreams): the
// header says so.
func TestPrintConfigFromEnvWithoutKey(t *testing.T) {
	cfg, err := config.FromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := PrintConfig(&out, cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "$OPENAI_API_KEY: NOT SET") {
		t.Errorf("an unset key is not flagged:\n%s", out.String())
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

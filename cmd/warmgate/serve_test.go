// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesOpenProfiler: the profiler on a gateway open to the
// network needs an admin key, whether allow_open comes from the file or
// from --allow-open. (Before, serve started; the context's timeout then
// ended it without an error.)
func TestServeRefusesOpenProfiler(t *testing.T) {
	const up = "upstreams: [{name: a, base_url: \"http://127.0.0.1:1/v1\"}]\n"
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"allow_open in the file", []string{"serve", "--listen", "127.0.0.1:0", "--config",
			writeFile(t, "c.yaml", up+"server: {allow_open: true}\nadmin: {pprof: true}\n")}},
		{"--allow-open", []string{"serve", "--listen", "127.0.0.1:0", "--allow-open", "--config",
			writeFile(t, "c.yaml", up+"admin: {pprof: true}\n")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			_, err := execute(t, ctx, tt.args...)
			if err == nil {
				t.Fatal("serve started; want a refusal")
			}
			for _, w := range []string{"admin.pprof", "admin.key_env"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestServeRefusesBaseURLPassword: serve without a config file takes its
// upstream from OPENAI_BASE_URL; one with a user:password is refused (the
// gateway sends no Basic auth), and the refusal does not show the password.
func TestServeRefusesBaseURLPassword(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("OPENAI_BASE_URL", "http://user:urlsecret1@127.0.0.1:1/v1")
	t.Setenv("OPENAI_API_KEY", "")
	out, err := execute(t, t.Context(), "serve", "--listen", "127.0.0.1:0")
	if err == nil {
		t.Fatalf("serve started with a base_url password:\n%s", out)
	}
	msg := err.Error() + out
	if !strings.Contains(msg, "http://user:xxxxx@127.0.0.1:1/v1") || !strings.Contains(msg, "must not carry a user or password") {
		t.Errorf("the refusal does not say what is wrong: %v\n%s", err, out)
	}
	if strings.Contains(msg, "urlsecret1") {
		t.Errorf("the refusal shows the password: %v\n%s", err, out)
	}
}

// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/warmgate/warmgate/internal/config"
)

// runKeys runs the CLI with stdin and returns stdout and stderr apart.
func runKeys(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wantHashOutput is what "keys hash" prints for key.
func wantHashOutput(key string) string {
	h := sha256Hex(key)
	return h + "\nkey_sha256: \"" + h + "\"\n"
}

func TestKeysHash(t *testing.T) {
	const key = "sk-wg-test-0123456789"
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantWarn bool
	}{
		{name: "stdin", stdin: key},
		{name: "stdin with a newline", stdin: key + "\n"},
		{name: "stdin with CRLF and spaces", stdin: "  " + key + " \r\n"},
		{name: "argument", args: []string{key}, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runKeys(t, tt.stdin, append([]string{"keys", "hash"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if want := wantHashOutput(key); out != want {
				t.Errorf("output %q, want %q", out, want)
			}
			if warned := strings.Contains(errOut, "ps"); warned != tt.wantWarn {
				t.Errorf("stderr %q: warning about ps = %v, want %v", errOut, warned, tt.wantWarn)
			}
			if strings.Contains(errOut, key) {
				t.Error("the key is echoed on stderr")
			}
		})
	}
}

func TestKeysHashRejectsBadInput(t *testing.T) {
	const secret = "sk-wg-secret-part"
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{name: "empty stdin", stdin: "", want: "holds no key"},
		{name: "blank stdin", stdin: " \n\n", want: "holds no key"},
		{name: "two lines", stdin: secret + "\n" + secret + "2\n", want: "more than one line"},
		{name: "too large", stdin: strings.Repeat("k", maxKeyInput+1), want: "more than"},
		{name: "empty argument", args: []string{" "}, want: "holds no key"},
		{name: "two arguments", args: []string{"a", "b"}, want: "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runKeys(t, tt.stdin, append([]string{"keys", "hash"}, tt.args...)...)
			if err == nil {
				t.Fatalf("no error; output %q", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the input", err)
			}
		})
	}
}

// TestKeysNew: a new key is sk-wg- and 32 random bytes in base64url, and
// comes with its hash; the hash is what "keys hash" prints for it and what
// the config accepts.
func TestKeysNew(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		out, errOut, err := runKeys(t, "", "keys", "new")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("output has %d lines, want 3 (key, hash, key_sha256 line): %q", len(lines), out)
		}
		key := lines[0]
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(key, "sk-wg-"))
		if !strings.HasPrefix(key, "sk-wg-") || err != nil || len(raw) != 32 {
			t.Fatalf("key %q is not sk-wg- and 32 bytes of base64url (%v, %d bytes)", key, err, len(raw))
		}
		if seen[key] {
			t.Fatalf("key %q made twice", key)
		}
		seen[key] = true
		if rest := strings.Join(lines[1:], "\n") + "\n"; rest != wantHashOutput(key) {
			t.Errorf("hash lines %q, want %q", rest, wantHashOutput(key))
		}
		if strings.Contains(errOut, key) {
			t.Error("the key is repeated on stderr")
		}
		hashed, _, err := runKeys(t, key+"\n", "keys", "hash")
		if err != nil || hashed != wantHashOutput(key) {
			t.Errorf("keys hash of the new key: %q, %v", hashed, err)
		}
		yaml := fmt.Sprintf("upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\nkeys:\n  - name: k\n    %s\n", lines[2])
		cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
		if err != nil {
			t.Fatalf("the key_sha256 line does not parse: %v\n%s", err, yaml)
		}
		if cfg.Keys[0].KeySHA256 != sha256Hex(key) {
			t.Errorf("config key_sha256 = %q, want %q", cfg.Keys[0].KeySHA256, sha256Hex(key))
		}
	}
}

// TestKeysHelp: the help says how to pass the key safely.
func TestKeysHelp(t *testing.T) {
	out, _, err := runKeys(t, "", "keys", "hash", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"standard input", "ps", "shell history", "key_sha256"} {
		if !strings.Contains(out, want) {
			t.Errorf("keys hash --help does not mention %q:\n%s", want, out)
		}
	}
	out, _, err = runKeys(t, "", "keys")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"new", "hash"} {
		if !strings.Contains(out, want) {
			t.Errorf("keys does not list %q:\n%s", want, out)
		}
	}
}

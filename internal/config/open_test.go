// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"strings"
	"testing"
)

// TestOpenGatewaySettings: the keys that harden an open gateway and what
// the gateway sends upstream (allowed_hosts, admin.pprof with allow_open,
// forward_headers, headers), each refused with its key, line and the fix.
func TestOpenGatewaySettings(t *testing.T) {
	const up = "upstreams:\n  - name: a\n    base_url: http://x\n" // lines 1-3
	envs := env(map[string]string{"ADMIN": "adm", "ORG": "org-1"})
	for _, tc := range []struct {
		name     string
		in       string
		wantLine int
		want     string // "" = valid
	}{
		{"pprof open to the network without an admin key", up + "server: {allow_open: true}\nadmin:\n  pprof: true\n", 6,
			`admin.pprof: the profiler on a gateway open to the network (server.allow_open or --allow-open, no keys) needs an admin key: set admin.key_env, or turn admin.pprof off`},
		{"pprof open with an admin key", up + "server: {allow_open: true}\nadmin: {pprof: true, key_env: ADMIN}\n", 0, ""},
		{"pprof on loopback without an admin key", up + "admin: {pprof: true}\n", 0, ""},
		{"pprof with client keys", up + "server: {allow_open: true}\nadmin: {pprof: true}\nkeys: [{name: k, key_sha256: " + teamAHash + "}]\n", 0, ""},

		{"allowed hosts", up + "allowed_hosts: [gateway.internal, 10.0.0.5, \"::1\", \"[fd00::1]\", \"*\"]\n", 0, ""},
		{"allowed host with a scheme", up + "allowed_hosts:\n  - http://gateway.internal\n", 5,
			`allowed_hosts[0]: "http://gateway.internal" is not a host name or IP address (write it without scheme or port`},
		{"allowed host with a port", up + "allowed_hosts: [gateway.internal:8080]\n", 4, `allowed_hosts[0]: "gateway.internal:8080" is not a host name`},
		{"empty allowed host", up + "allowed_hosts: [\"\"]\n", 4, `allowed_hosts[0]: "" is not a host name`},

		{"forward billing headers", up + "    forward_headers: [openai-organization, OpenAI-Project, X-Forwarded-For]\n", 0, ""},
		{"forward a header that is forwarded anyway", up + "    forward_headers: [X-Custom]\n", 4,
			`upstreams[0].forward_headers[0]: "X-Custom" is not one of the client headers the gateway drops (Openai-Organization, Openai-Project`},
		{"forward the client's credentials", up + "    forward_headers: [Authorization]\n", 4, `"Authorization" is not one of the client headers the gateway drops`},

		{"set headers", up + "    headers: {OpenAI-Organization: \"${ORG}\", OpenAI-Project: proj_1}\n", 0, ""},
		{"set a credential", up + "    headers:\n      Authorization: Bearer sk-x\n", 5,
			`upstreams[0].headers["Authorization"]: credentials do not go in headers (--print-config shows them): use api_key_env or api_key_file`},
		{"set x-api-key", up + "    headers: {x-api-key: k}\n", 4, `credentials do not go in headers`},
		{"set Host", up + "    headers: {Host: other}\n", 4, `upstreams[0].headers["Host"]: the gateway sets Host itself`},
		{"set a bad name", up + "    headers: {\"Open AI\": x}\n", 4, `upstreams[0].headers["Open AI"]: "Open AI" is not a valid header name`},
		{"set a value with a line break", up + "    headers: {X-A: \"a\\r\\nX-B: b\"}\n", 4, `upstreams[0].headers["X-A"]: the value has a line break`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in), envs)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %+v, %v; want an *Error containing %q", c, err, tc.want)
			}
			if e.Line != tc.wantLine || !strings.Contains(e.Error(), tc.want) {
				t.Errorf("got %q (line %d), want line %d containing %q", e.Error(), e.Line, tc.wantLine, tc.want)
			}
		})
	}

	// serve's --allow-open sets server.allow_open after the file was read,
	// then validates again: the same refusal.
	c, err := Parse([]byte(up+"admin: {pprof: true}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Server.AllowOpen = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "admin.pprof: the profiler on a gateway open to the network") {
		t.Errorf("Validate() with allow_open, pprof and no admin key = %v", err)
	}
}
